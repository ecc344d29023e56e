"""Timed work: APScheduler's asyncio scheduler in the running process.

Every job is safe to run in several idkarr processes at once (expiry takes rows with SKIP LOCKED, the token
purge is one DELETE), so no job needs a leader; a job that overruns is not started twice in one process and
missed runs coalesce.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from core.config import Settings
from core.db.session import Database
from core.services import action_tokens, requests

__all__ = ["build_scheduler", "expire_requests", "purge_action_tokens"]

log = logging.getLogger(__name__)


async def expire_requests(database: Database) -> int:
    try:
        expired = await requests.expire_due(database)
    except Exception:
        # The next run tries again; a scheduler job must never take the process down.
        log.exception("event=job_failed job=expire_requests")
        return 0
    if expired:
        log.info("event=requests_expired count=%d", expired)
    return expired


async def purge_action_tokens(database: Database) -> int:
    try:
        purged = await action_tokens.purge_expired(database)
    except Exception:
        log.exception("event=job_failed job=purge_action_tokens")
        return 0
    if purged:
        log.info("event=action_tokens_purged count=%d", purged)
    return purged


def build_scheduler(settings: Settings, database: Database) -> AsyncIOScheduler:
    """The scheduler with every job of this process, not yet started (start it inside the event loop)."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        expire_requests,
        IntervalTrigger(seconds=settings.scheduler.expiry_check_seconds, timezone=UTC),
        args=[database],
        id="expire_requests",
        name="expire pending requests past their date",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),  # once at start, then on the interval
    )
    # Every button ever drawn leaves a row; a plain DELETE of old ones is safe in any number of processes.
    scheduler.add_job(
        purge_action_tokens,
        IntervalTrigger(hours=1, timezone=UTC),
        args=[database],
        id="purge_action_tokens",
        name="delete action tokens a week past their expiry",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
