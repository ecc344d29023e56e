"""The scheduler runs request expiry on its interval, in the process's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import update

from core.config import Settings
from core.db.models import Request
from core.db.session import Database
from core.enums import ContentType, RequestStatus, UserRole
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.scheduler import build_scheduler
from core.services import requests
from core.services.users import add_user


async def test_the_scheduler_expires_overdue_requests_on_its_interval(db: Database) -> None:
    alice = await add_user(db, "alice", UserRole.USER)
    catalog = OfflineCatalog()
    made = [
        await requests.create(
            db, await catalog.details(ContentType.MOVIE, ExternalIds(tmdb_id=tmdb_id)), actor_id=alice.id
        )
        for tmdb_id in (603, 550)
    ]
    scheduler = build_scheduler(Settings(scheduler={"expiry_check_seconds": 0.2}), db)
    scheduler.start()
    try:
        await asyncio.sleep(0.3)
        assert (await requests.get(db, made[0].request.id)).status == RequestStatus.PENDING
        async with db.transaction() as session:  # a week goes by for the first one
            await session.execute(
                update(Request).where(Request.id == made[0].request.id).values(expires_at=Request.created_at)
            )
        for _ in range(100):
            if (await requests.get(db, made[0].request.id)).status == RequestStatus.EXPIRED:
                break
            await asyncio.sleep(0.05)
        assert [job.id for job in scheduler.get_jobs()] == ["expire_requests", "purge_action_tokens"]
    finally:
        scheduler.shutdown(wait=False)
    assert (await requests.get(db, made[0].request.id)).status == RequestStatus.EXPIRED
    assert (await requests.get(db, made[1].request.id)).status == RequestStatus.PENDING


async def test_stopping_lets_a_job_in_flight_finish(db: Database) -> None:
    """APScheduler's own shutdown cancels a running job and does not wait: idkarr's stop waits for it, so
    the job never unwinds while the database it is using closes."""
    from datetime import UTC, datetime

    from core.scheduler import Scheduler

    began, finished = asyncio.Event(), []

    async def slow(database: Database) -> int:
        began.set()
        await asyncio.sleep(0.3)
        finished.append(await requests.expire_due(database))
        return 0

    scheduler = Scheduler(db)
    scheduler.add_job(scheduler.tracked(slow), next_run_time=datetime.now(UTC), args=[db])
    scheduler.start()
    async with asyncio.timeout(5):
        await began.wait()
    await scheduler.stop()
    assert finished == [0], "the job ran to its end before stop returned"
    assert not scheduler.running


async def test_each_job_runs_once_per_interval_across_processes(db: Database) -> None:
    """Two schedulers on one database (two idkarr processes): each interval's run happens in one of them."""
    from core.scheduler import Scheduler, claim_run

    assert await claim_run(db, "job", 60)
    assert not await claim_run(db, "job", 60)  # the other process, in the same interval
    runs: list[str] = []

    def counting(name: str) -> Callable[[Database], Awaitable[int]]:
        async def job(database: Database) -> int:
            runs.append(name)
            return 1

        return job

    first, second = Scheduler(db), Scheduler(db)
    first.every(counting("first"), 0.3, "shared", "a job both processes have", at_start=True)
    second.every(counting("second"), 0.3, "shared", "a job both processes have", at_start=True)
    first.start()
    second.start()
    await asyncio.sleep(1.05)  # starts at 0, then about 0.3, 0.6 and 0.9
    await first.stop()
    await second.stop()
    assert 3 <= len(runs) <= 4, runs
