"""The scheduler runs request expiry on its interval, in the process's event loop."""

from __future__ import annotations

import asyncio

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

    scheduler = Scheduler()
    scheduler.add_job(scheduler.tracked(slow), next_run_time=datetime.now(UTC), args=[db])
    scheduler.start()
    async with asyncio.timeout(5):
        await began.wait()
    await scheduler.stop()
    assert finished == [0], "the job ran to its end before stop returned"
    assert not scheduler.running
