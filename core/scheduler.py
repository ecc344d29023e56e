"""Timed work: APScheduler's asyncio scheduler in the running process.

Every job is safe to run in several idkarr processes at once (expiry takes rows with SKIP LOCKED, the token
purge is one DELETE), so no job needs a leader; a job that overruns is not started twice in one process and
missed runs coalesce.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from core.config import Settings
from core.db.session import Database
from core.services import action_tokens, requests

__all__ = ["build_scheduler", "expire_requests", "purge_action_tokens"]

log = logging.getLogger(__name__)


async def _counted(job: str, work: Awaitable[int], done: str) -> int:
    """Run one job's work; a failure is logged and the next run tries again (a job never takes the process
    down); a count of what it did is logged when there was any."""
    try:
        count = await work
    except Exception:
        log.exception("event=job_failed job=%s", job)
        return 0
    if count:
        log.info("event=%s count=%d", done, count)
    return count


async def expire_requests(database: Database) -> int:
    return await _counted("expire_requests", requests.expire_due(database), "requests_expired")


async def purge_action_tokens(database: Database) -> int:
    return await _counted("purge_action_tokens", action_tokens.purge_expired(database), "action_tokens_purged")


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
