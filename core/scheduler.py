"""Timed work: APScheduler's asyncio scheduler in the running process.

With several idkarr processes on one database, each job runs once per interval across all of them: the first
to claim the interval's run in `scheduled_run` does it (a conditional upsert), the others skip it; the jobs
are safe even if two ran (expiry takes rows with SKIP LOCKED, a server's sync holds an advisory lock). A job
that overruns is not started twice in one process and missed runs coalesce. Stopping lets a job in flight
finish: APScheduler's own shutdown cancels it and does not wait, which left it unwinding while the database
it was using closed (a process that never exited).
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
from sqlalchemy import text

from core.config import Settings
from core.db.session import Database
from core.secretbox import SecretBox
from core.services import action_tokens, library_sync, requests, servers

if TYPE_CHECKING:
    from core.services.discovery import DiscoveryService

__all__ = ["Scheduler", "build_scheduler", "claim_run", "expire_requests", "purge_action_tokens"]

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

    def __init__(self, database: Database) -> None:
        super().__init__(timezone=UTC)
        self._database = database
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

    def every(
        self,
        job: Callable[[Database], Awaitable[int]],
        seconds: float,
        job_id: str,
        name: str,
        *,
        at_start: bool = False,
    ) -> None:
        """Run `job` every `seconds`, once across processes, never overlapping itself; missed runs coalesce."""
        database_job = self.tracked(job)

        async def once(database: Database) -> int:
            try:
                if not await claim_run(database, job_id, seconds):
                    return 0
            except Exception:
                log.exception("event=job_claim_failed job=%s", job_id)
                return 0
            return await database_job(database)

        self.add_job(
            once,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            args=[self._database],
            id=job_id,
            name=name,
            max_instances=1,
            coalesce=True,
            **({"next_run_time": datetime.now(UTC)} if at_start else {}),
        )

    async def stop(self) -> None:
        """Start no more runs, let those in flight finish, then shut down."""
        self.pause()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        self.shutdown(wait=False)
        await asyncio.sleep(0)  # the asyncio scheduler shuts down on the loop's next turn (call_soon_threadsafe)


# Claims this interval's run of a job for this process; another process that finds it claimed skips it. A
# tenth of the interval is forgiven, since schedulers started apart drift a little.
_CLAIM_RUN = text("""
    INSERT INTO scheduled_run AS s (job, last_started) VALUES (:job, now())
    ON CONFLICT (job) DO UPDATE SET last_started = now()
        WHERE s.last_started <= now() - make_interval(secs => :every)
    RETURNING s.job
""")


async def claim_run(database: Database, job: str, seconds: float) -> bool:
    """Whether this process runs `job` now: the first to ask in each interval does."""
    async with database.transaction() as session:
        claimed = (await session.execute(_CLAIM_RUN, {"job": job, "every": seconds * 0.9})).first()
    return claimed is not None


def build_scheduler(
    settings: Settings,
    database: Database,
    *,
    box: SecretBox | None = None,
    discovery: DiscoveryService | None = None,
) -> Scheduler:
    """The scheduler with every job of this process, not yet started (start it inside the event loop).

    Each job runs once per interval across every idkarr process on the database (`claim_run`)."""
    scheduler = Scheduler(database)
    scheduler.every(
        expire_requests,
        settings.scheduler.expiry_check_seconds,
        "expire_requests",
        "expire pending requests past their date",
        at_start=True,
    )
    # Every button ever drawn leaves a row; old ones go.
    scheduler.every(purge_action_tokens, 3600, "purge_action_tokens", "delete action tokens a week past expiry")
    if discovery is not None:
        service = discovery

        async def purge_discovery_cache(database: Database) -> int:
            return await _counted("purge_discovery_cache", service.purge_cache(), "discovery_cache_purged")

        # Redis expires its own copies; the table keeps pages until their stale window has passed.
        scheduler.every(purge_discovery_cache, 3600, "purge_discovery_cache", "drop cached pages too old to serve")
    if box is not None:
        sealed = box

        async def sync_media_servers(database: Database) -> int:
            work = library_sync.sync_due(database, sealed, discovery=discovery, settings=settings.sync)
            return await _counted("sync_media_servers", work, "media_servers_synced")

        async def refresh_backends(database: Database) -> int:
            return await _counted("refresh_backends", servers.refresh_backends(database, sealed), "backends_refreshed")

        # Each server has its own interval; this only looks for those due, and a server's sync holds an
        # advisory lock, so one slow server never has two syncs at once.
        scheduler.every(sync_media_servers, 60, "sync_media_servers", "sync each media server due", at_start=True)
        # Profiles and folders change rarely in Sonarr and Radarr; approval offers what was read last.
        scheduler.every(refresh_backends, 6 * 3600, "refresh_backends", "read Sonarr and Radarr profiles again")
    return scheduler
