"""The races a community makes in earnest, each run for real on PostgreSQL: two decisions on one request,
a decision against the requester cancelling, the expiry job against a moderator, and two people's first
requests for one title (including the interleaving the unique index settles, which the create path retries).
Each round checks one outcome, a clear answer to the loser, and exactly one record of what happened."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text

from core.config import RequestSettings
from core.db.models import Activity, OutboxMessage, Request
from core.db.session import Database
from core.enums import ActivityType, ContentType, RequestStatus, UserRole
from core.errors import AlreadyDecided, NotAllowed
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.metadata.types import TitleDetails
from core.services import requests
from core.services.users import add_user

CATALOG = OfflineCatalog()
ROUNDS = 8


async def _films(count: int) -> list[TitleDetails]:
    films = [t for t in CATALOG.titles() if t.type == ContentType.MOVIE][:count]
    return [await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=t.tmdb_id)) for t in films]


async def _activity(db: Database, request_id: int) -> Counter[ActivityType]:
    async with db.session() as session:
        kinds = (await session.execute(select(Activity.type).where(Activity.request_id == request_id))).scalars()
        return Counter(kinds)


async def _together(*work: object) -> list[object]:
    """Start every coroutine at the same moment, each on its own pooled connection."""
    barrier = asyncio.Barrier(len(work))

    async def released(step: object) -> object:
        await barrier.wait()
        return await step  # type: ignore[misc]

    return await asyncio.gather(*(released(step) for step in work), return_exceptions=True)


async def test_approve_against_deny_gives_one_decision(db: Database) -> None:
    alice = (await add_user(db, "alice", UserRole.USER)).id
    mods = [(await add_user(db, f"mod{n}", UserRole.MODERATOR)).id for n in range(2)]
    winners: Counter[str] = Counter()
    for details in await _films(ROUNDS):
        made = await requests.create(db, details, actor_id=alice)
        rid = made.request.id
        approved, denied = await _together(
            requests.approve(db, rid, actor_id=mods[0]), requests.deny(db, rid, actor_id=mods[1], reason="No")
        )
        decided = [r for r in (approved, denied) if isinstance(r, requests.RequestView)]
        refused = [r for r in (approved, denied) if isinstance(r, AlreadyDecided)]
        assert (len(decided), len(refused)) == (1, 1), (approved, denied)
        final = (await requests.get(db, rid)).status
        assert final == decided[0].status
        assert f"already {final.value}" in str(refused[0])
        recorded = await _activity(db, rid)
        assert recorded[ActivityType.REQUEST_APPROVED] + recorded[ActivityType.REQUEST_DENIED] == 1
        winners[final.value] += 1
    assert sum(winners.values()) == ROUNDS


async def test_approve_against_cancel_gives_one_outcome(db: Database) -> None:
    alice = (await add_user(db, "alice", UserRole.USER)).id
    mod = (await add_user(db, "mod", UserRole.MODERATOR)).id
    for details in await _films(ROUNDS):
        made = await requests.create(db, details, actor_id=alice)
        rid = made.request.id
        approved, cancelled = await _together(
            requests.approve(db, rid, actor_id=mod), requests.cancel(db, rid, actor_id=alice)
        )
        won = [r for r in (approved, cancelled) if isinstance(r, requests.RequestView)]
        lost = [r for r in (approved, cancelled) if isinstance(r, AlreadyDecided | NotAllowed)]
        assert (len(won), len(lost)) == (1, 1), (approved, cancelled)
        final = (await requests.get(db, rid)).status
        assert final in (RequestStatus.APPROVED, RequestStatus.CANCELLED)
        assert final == won[0].status
        recorded = await _activity(db, rid)
        assert recorded[ActivityType.REQUEST_APPROVED] + recorded[ActivityType.REQUEST_CANCELLED] == 1


async def test_the_expiry_job_against_a_moderator_approving(db: Database) -> None:
    alice = (await add_user(db, "alice", UserRole.USER)).id
    mod = (await add_user(db, "mod", UserRole.MODERATOR)).id
    later = datetime.now(UTC) + timedelta(days=3)
    for details in await _films(ROUNDS):
        made = await requests.create(db, details, actor_id=alice, settings=RequestSettings(expiry_days=1))
        rid = made.request.id
        expired, approved = await _together(requests.expire_due(db, now=later), requests.approve(db, rid, actor_id=mod))
        final = (await requests.get(db, rid)).status
        recorded = await _activity(db, rid)
        if final == RequestStatus.APPROVED:
            # The moderator got there first (or the job skipped the row they held): nothing expired.
            assert isinstance(approved, requests.RequestView)
            assert expired == 0
            assert recorded[ActivityType.REQUEST_EXPIRED] == 0
        else:
            assert final == RequestStatus.EXPIRED
            assert expired == 1
            assert isinstance(approved, AlreadyDecided)
            assert "already expired" in str(approved)
            assert recorded[ActivityType.REQUEST_APPROVED] == 0
        async with db.session() as session:
            told = await session.execute(
                select(OutboxMessage.event).where(OutboxMessage.payload["request_id"].as_integer() == rid)
            )
            events = Counter(told.scalars())
        assert (events["request_approved"] > 0) != (events["request_expired"] > 0), events


async def _waiting_on_request_table(db: Database) -> bool:
    async with db.engine.connect() as connection:
        waiting = await connection.execute(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " WHERE c.relname = 'request' AND NOT l.granted"
            )
        )
        return bool(waiting.scalar())


async def test_a_first_request_committed_between_the_look_and_the_insert_is_joined(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """The unique index on pending requests settles what the title lock cannot see: a row committed by a
    writer that takes no title lock, after create looked and before it inserted. Create's insert fails on the
    index and create tries again, and joins that request."""
    caplog.set_level(logging.INFO, logger="core.services.requests.create")
    bob = (await add_user(db, "bob", UserRole.USER)).id
    alice = (await add_user(db, "alice", UserRole.USER)).id
    details = (await _films(1))[0]
    async with db.engine.connect() as other:
        # Another writer holds the table against inserts (reads and row locks still pass).
        await other.execute(text("LOCK TABLE request IN SHARE ROW EXCLUSIVE MODE"))
        creating = asyncio.create_task(requests.create(db, details, actor_id=alice))
        async with asyncio.timeout(10):
            while not await _waiting_on_request_table(db):  # noqa: ASYNC110  (PostgreSQL has no event for it)
                await asyncio.sleep(0.02)
        # Create has looked (no open request) and waits to insert; Bob's request for the title lands first.
        await other.execute(
            insert(Request).values(
                requested_by_id=bob,
                content_type=ContentType.MOVIE,
                tmdb_id=details.title.tmdb_id,
                title=details.title.title,
                status=RequestStatus.PENDING,
                seasons=[],
            )
        )
        await other.commit()
        result = await creating
    assert "event=request_create_retried" in caplog.text, "the insert lost to the unique index and was retried"
    assert result.outcome == "joined"
    assert result.request.requested_by == "bob"
    assert result.request.watchers == ["alice"]
    async with db.session() as session:
        same_title = Request.tmdb_id == details.title.tmdb_id
        pending = await session.execute(select(func.count()).where(Request.status == RequestStatus.PENDING, same_title))
        assert pending.scalar() == 1
