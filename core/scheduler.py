"""Timed work: APScheduler's asyncio scheduler in the running process.

Every job is safe to run in several idkarr processes at once (expiry takes rows with SKIP LOCKED, the token
purge is one DELETE), so no job needs a leader; a job that overruns is not started twice in one process and
missed runs coalesce. Stopping lets a job in flight finish: APScheduler's own shutdown cancels it and does
not wait, which left it unwinding while the database it was using closed (a process that never exited).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from core.config import Settings
from core.db.session import Database
from core.secretbox import SecretBox
from core.services import action_tokens, library_sync, requests, servers

if TYPE_CHECKING:
    from core.services.discovery import DiscoveryService

__all__ = ["Scheduler", "build_scheduler", "expire_requests", "purge_action_tokens"]

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


T = TypeVar("T")


class Scheduler(AsyncIOScheduler):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """APScheduler's asyncio scheduler, whose jobs can be waited for when it stops."""

    def __init__(self) -> None:
        super().__init__(timezone=UTC)
        self._in_flight: set[asyncio.Task[object]] = set()

    def tracked(self, job: Callable[[Database], Awaitable[T]]) -> Callable[[Database], Awaitable[T]]:
        """`job`, noted while it runs, so `stop` can wait for it."""

        @functools.wraps(job)
        async def running(database: Database) -> T:
            task = asyncio.current_task()
            assert task is not None
            self._in_flight.add(task)
            try:
                return await job(database)
            finally:
                self._in_flight.discard(task)

        return running

    async def stop(self) -> None:
        """Start no more runs, let those in flight finish, then shut down."""
        self.pause()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        self.shutdown(wait=False)
        await asyncio.sleep(0)  # the asyncio scheduler shuts down on the loop's next turn (call_soon_threadsafe)


def build_scheduler(
    settings: Settings,
    database: Database,
    *,
    box: SecretBox | None = None,
    discovery: DiscoveryService | None = None,
) -> Scheduler:
    """The scheduler with every job of this process, not yet started (start it inside the event loop)."""
    scheduler = Scheduler()
    if box is not None:
        sealed = box

        async def sync_media_servers(database: Database) -> int:
            work = library_sync.sync_due(database, sealed, discovery=discovery, settings=settings.sync)
            return await _counted("sync_media_servers", work, "media_servers_synced")

        # Each server has its own interval; this only looks for those due. Across processes a server's sync
        # runs once: an advisory lock, and a second look at whether it is still due once the lock is held.
        async def refresh_backends(database: Database) -> int:
            return await _counted("refresh_backends", servers.refresh_backends(database, sealed), "backends_refreshed")

        # Profiles and folders change rarely in Sonarr and Radarr; approval offers what was read last.
        scheduler.add_job(
            scheduler.tracked(refresh_backends),
            IntervalTrigger(hours=6, timezone=UTC),
            args=[database],
            id="refresh_backends",
            name="read Sonarr's and Radarr's quality profiles and root folders again",
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_job(
            scheduler.tracked(sync_media_servers),
            IntervalTrigger(seconds=60, timezone=UTC),
            args=[database],
            id="sync_media_servers",
            name="sync each media server whose interval has passed",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
    scheduler.add_job(
        scheduler.tracked(expire_requests),
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
        scheduler.tracked(purge_action_tokens),
        IntervalTrigger(hours=1, timezone=UTC),
        args=[database],
        id="purge_action_tokens",
        name="delete action tokens a week past their expiry",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
