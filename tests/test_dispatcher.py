"""The outbox dispatcher on real PostgreSQL and Redis: exactly once per recipient, retries, failures,
crashes, concurrent dispatchers, and the pub/sub wake-up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import select, text, update

from core.db.models import OutboxMessage
from core.db.session import Database
from core.dburl import DatabaseUrl
from core.enums import ContentType, OutboxStatus, UserRole
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.pubsub import RedisSignals, subscribe
from core.services import dispatcher as dispatcher_module
from core.services import outbox, requests
from core.services.dispatcher import Delivery, Dispatcher, DispatchPolicy, backoff
from core.services.users import add_user

from .conftest import clean_environment

FAST = DispatchPolicy(backoff_base=0.05, backoff_cap=0.2, lease_seconds=30, poll_seconds=0.2)


class Recorder:
    """A front end as the dispatcher sees one: it can fail, be unreachable, or take its time."""

    def __init__(self, name: str = "console", *, failures: int = 0, reaches: bool = True) -> None:
        self.name = name
        self.failures = failures
        self.reaches = reaches
        self.received: list[Delivery] = []
        self.arrived = asyncio.Event()

    async def deliver(self, delivery: Delivery) -> bool:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the platform answered 502")
        if not self.reaches:
            return False
        self.received.append(delivery)
        self.arrived.set()
        return True


async def queue(db: Database, count: int, *, recipients: list[int] | None = None) -> list[int]:
    """`count` notifications to each recipient, written the way services write them."""
    if recipients is None:
        recipients = [(await add_user(db, "alice", UserRole.USER)).id]
    for number in range(count):
        async with db.transaction() as session:
            await outbox.enqueue(
                session,
                event="request_approved",
                dedup_base=f"test:{number}",
                recipients=recipients,
                payload={"title": f"Title {number}"},
            )
    return recipients


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all())


async def test_a_request_story_reaches_each_person_once(db: Database) -> None:
    ids = {
        name: (await add_user(db, name, role)).id
        for name, role in [("mod", UserRole.MODERATOR), ("alice", UserRole.USER), ("bob", UserRole.USER)]
    }
    matrix = await OfflineCatalog().details(ContentType.MOVIE, ExternalIds(tmdb_id=603))
    created = await requests.create(db, matrix, actor_id=ids["alice"])
    await requests.create(db, matrix, actor_id=ids["bob"])
    await requests.approve(db, created.request.id, actor_id=ids["mod"])
    front_end = Recorder()
    dispatcher = Dispatcher(db, [front_end], FAST)

    assert await dispatcher.drain() == 5
    assert await dispatcher.drain() == 0

    heard = sorted((d.event, d.recipient or "everyone") for d in front_end.received)
    assert heard == [
        ("request_approved", "alice"),
        ("request_approved", "bob"),
        ("request_approved", "everyone"),
        ("request_created", "everyone"),
        ("request_pending", "mod"),
    ]
    approved = next(d for d in front_end.received if d.recipient == "alice")
    assert approved.payload["title"] == "The Matrix"
    assert approved.payload["approved_by"] == "mod"
    assert {row.status for row in await rows(db)} == {OutboxStatus.DELIVERED}
    assert all(row.delivered_via == ["console"] and row.delivered_at for row in await rows(db))


async def test_a_failing_front_end_is_retried_with_backoff_and_the_error_kept(db: Database) -> None:
    await queue(db, 1)
    front_end = Recorder(failures=2)
    dispatcher = Dispatcher(db, [front_end], FAST)

    await dispatcher.run_once()
    [row] = await rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert row.last_error == "console: ConnectionError: the platform answered 502"
    assert await dispatcher.run_once() == 0, "a retry waits for its backoff"

    deadline = time.monotonic() + 5
    while not front_end.received and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        await dispatcher.run_once()
    [row] = await rows(db)
    assert (row.status, row.attempts, len(front_end.received)) == (OutboxStatus.DELIVERED, 3, 1)


async def test_after_the_last_attempt_the_message_is_failed_and_kept(db: Database) -> None:
    await queue(db, 1)
    policy = DispatchPolicy(backoff_base=0.0, backoff_cap=0.0, max_attempts=3)
    dispatcher = Dispatcher(db, [Recorder(failures=10)], policy)
    for _ in range(5):
        await dispatcher.run_once()
    [row] = await rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 3)
    assert "502" in (row.last_error or "")


async def test_a_retry_after_a_partial_failure_skips_front_ends_that_delivered(db: Database) -> None:
    await queue(db, 1)
    console, discord = Recorder("console"), Recorder("discord", failures=1)
    dispatcher = Dispatcher(db, [console, discord], DispatchPolicy(backoff_base=0.0, backoff_cap=0.0))
    await dispatcher.run_once()
    await dispatcher.run_once()
    [row] = await rows(db)
    assert (len(console.received), len(discord.received)) == (1, 1)
    assert (row.status, sorted(row.delivered_via)) == (OutboxStatus.DELIVERED, ["console", "discord"])


async def test_nobody_reachable_is_recorded_not_retried_forever(db: Database) -> None:
    await queue(db, 1)
    await Dispatcher(db, [Recorder("telegram", reaches=False)], FAST).drain()
    [row] = await rows(db)
    assert row.status == OutboxStatus.FAILED
    assert row.last_error == "no front end reaches alice (front ends: telegram)"


async def test_a_dispatcher_killed_mid_delivery_is_finished_by_the_next_exactly_once(db: Database) -> None:
    ids = [(await add_user(db, name, UserRole.USER)).id for name in ("alice", "bob", "carol")]
    await queue(db, 4, recipients=ids)
    victim = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "tests.dispatch_victim", db.url.libpq, "1.5"],
        stdout=asyncio.subprocess.PIPE,
        env=clean_environment({}),
    )
    try:
        assert victim.stdout is not None
        line = await asyncio.wait_for(victim.stdout.readline(), timeout=30)
        assert line.startswith(b"claimed"), line
    finally:
        victim.kill()  # SIGKILL: no cleanup, no goodbye
        await victim.wait()
    assert {(row.status, row.attempts) for row in await rows(db)} == {(OutboxStatus.PENDING, 1)}

    front_end = Recorder()
    dispatcher = Dispatcher(db, [front_end], FAST)
    assert await dispatcher.drain() == 0, "the dead dispatcher's lease still holds the rows"
    await asyncio.sleep(1.6)
    assert await dispatcher.drain() == 12
    assert Counter(d.dedup_key for d in front_end.received).most_common(1)[0][1] == 1
    assert Counter(d.recipient for d in front_end.received) == {"alice": 4, "bob": 4, "carol": 4}
    assert {row.status for row in await rows(db)} == {OutboxStatus.DELIVERED}


async def test_a_dispatcher_killed_after_some_deliveries_repeats_none_of_them(db: Database) -> None:
    ids = [(await add_user(db, f"user{n}", UserRole.USER)).id for n in range(10)]
    await queue(db, 6, recipients=ids)  # 60 messages, one batch
    victim = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "tests.dispatch_victim", db.url.libpq, "1.5", "20"],
        stdout=asyncio.subprocess.PIPE,
        env=clean_environment({}),
    )
    try:
        assert victim.stdout is not None
        assert (await asyncio.wait_for(victim.stdout.readline(), timeout=30)).startswith(b"claimed")
        assert (await asyncio.wait_for(victim.stdout.readline(), timeout=30)) == b"delivered 20\n"
        for _ in range(100):  # the record follows the deliveries by one round trip
            if sum(row.status == OutboxStatus.DELIVERED for row in await rows(db)) == 20:
                break
            await asyncio.sleep(0.05)
    finally:
        victim.kill()  # SIGKILL between delivering the rest and recording them
        await victim.wait()
    assert sum(row.status == OutboxStatus.DELIVERED for row in await rows(db)) == 20
    await asyncio.sleep(1.6)  # the dead dispatcher's lease runs out
    front_end = Recorder()
    assert await Dispatcher(db, [front_end], FAST).drain() == 40
    assert len(front_end.received) == 40, "what the victim delivered is not sent again"


async def test_concurrent_dispatchers_never_deliver_a_message_twice(db: Database) -> None:
    ids = [(await add_user(db, f"user{n}", UserRole.USER)).id for n in range(10)]
    await queue(db, 30, recipients=ids)
    front_ends = [Recorder() for _ in range(4)]
    dispatchers = [Dispatcher(db, [front_end], DispatchPolicy(batch=7)) for front_end in front_ends]
    await asyncio.gather(*(dispatcher.drain() for dispatcher in dispatchers))
    keys = Counter(d.dedup_key for front_end in front_ends for d in front_end.received)
    assert len(keys) == 300
    assert set(keys.values()) == {1}
    assert sum(1 for front_end in front_ends if front_end.received) > 1, "the work was shared"


async def test_a_commit_wakes_a_sleeping_dispatcher_through_redis(db: Database, redis_client: aioredis.Redis) -> None:
    db.after_commit = RedisSignals(redis_client, "wake-test:")
    user = await add_user(db, "alice", UserRole.USER)
    front_end = Recorder()
    dispatcher = Dispatcher(db, [front_end], DispatchPolicy(poll_seconds=60))
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop, redis=redis_client, prefix="wake-test:"))
    try:
        await asyncio.sleep(0.3)  # asleep now, for up to a minute
        await queue(db, 1, recipients=[user.id])
        await asyncio.wait_for(front_end.arrived.wait(), timeout=5)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=5)
    assert [d.payload["title"] for d in front_end.received] == ["Title 0"]


class CountingClaims(Dispatcher):
    """The real dispatcher, counting the claims that found something (one transaction each)."""

    claims = 0

    async def _claim(self) -> list[Any]:
        claimed = await super()._claim()
        self.claims += bool(claimed)
        return claimed


async def test_a_burst_of_commits_is_delivered_in_few_claims(db: Database, redis_client: aioredis.Redis) -> None:
    db.after_commit = RedisSignals(redis_client, "burst-test:")
    user = await add_user(db, "alice", UserRole.USER)
    front_end = Recorder()
    dispatcher = CountingClaims(db, [front_end], DispatchPolicy(poll_seconds=60, gather_seconds=1.0))
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop, redis=redis_client, prefix="burst-test:"))
    try:
        await asyncio.sleep(0.3)
        await queue(db, 20, recipients=[user.id])  # twenty commits, each waking the dispatcher
        for _ in range(100):
            if len(front_end.received) == 20:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=5)
    assert len(front_end.received) == 20
    assert dispatcher.claims <= 2, dispatcher.claims


@contextlib.asynccontextmanager
async def hearing(redis: aioredis.Redis, prefix: str, channels: list[str]) -> AsyncIterator[list[tuple[str, str]]]:
    """What is published on `channels` under `prefix` while the block runs, (channel, message) as heard;
    subscribed before the block starts."""
    ready = asyncio.Event()
    heard: list[tuple[str, str]] = []

    async def listen() -> None:
        async for channel, message in subscribe(redis, prefix, channels, ready):
            heard.append((channel, message))

    listener = asyncio.create_task(listen())
    try:
        await asyncio.wait_for(ready.wait(), timeout=5)
        yield heard
    finally:
        listener.cancel()


async def heard_at_least(heard: list[tuple[str, str]], count: int) -> None:
    """Wait (five seconds at most) until `count` messages were heard."""
    for _ in range(250):
        if len(heard) >= count:
            return
        await asyncio.sleep(0.02)


async def test_signals_published_together_reach_listeners_one_by_one_in_order(redis_client: aioredis.Redis) -> None:
    signals = RedisSignals(redis_client, "batch-test:")
    async with hearing(redis_client, "batch-test:", ["activity", "outbox"]) as heard:
        # Three commits' signals in one batch; a message of many characters, quotes and Lua's own syntax
        # included, arrives as it was sent.
        odd = 'end "x" \\ ]] ' + "é" * 2000
        await signals([("activity", "one"), ("outbox", "wake"), ("activity", odd)])
        await signals([("outbox", "wake again"), ("activity", "three")])
        await signals.flush()
        await heard_at_least(heard, 4)
    # One outbox wake-up per batch is enough; every activity message is heard, once, in order.
    assert heard == [("activity", "one"), ("outbox", "wake"), ("activity", odd), ("activity", "three")]


async def test_signals_are_still_published_after_redis_forgot_the_script(redis_client: aioredis.Redis) -> None:
    # A Redis that restarted has no scripts: the first batch after it loads the script again, and is heard.
    signals = RedisSignals(redis_client, "forgot-test:", linger=0)
    async with hearing(redis_client, "forgot-test:", ["activity"]) as heard:
        await signals([("activity", "before")])
        await signals.flush()
        await redis_client.script_flush()
        await signals([("activity", "after")])
        await signals.flush()
        await heard_at_least(heard, 2)
    assert [message for _channel, message in heard] == ["before", "after"]


async def test_activity_is_published_the_moment_it_commits(db: Database, redis_client: aioredis.Redis) -> None:
    signals = RedisSignals(redis_client, "feed-test:")
    db.after_commit = signals
    alice = await add_user(db, "alice", UserRole.USER)
    await signals.flush()  # alice's own arrival is published before anyone listens
    async with hearing(redis_client, "feed-test:", ["activity"]) as messages:
        matrix = await OfflineCatalog().details(ContentType.MOVIE, ExternalIds(tmdb_id=603))
        created = await requests.create(db, matrix, actor_id=alice.id)
        with_rollback = db.transaction()
        try:
            async with with_rollback as session:
                await outbox.enqueue(session, event="x", dedup_base="never", recipients=[alice.id], payload={})
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        await heard_at_least(messages, 1)
        await asyncio.sleep(0.2)
    heard = [json.loads(message) for _channel, message in messages]
    assert [(m["type"], m["title"], m["request_id"], m["user_id"]) for m in heard] == [
        ("request_created", "The Matrix", created.request.id, alice.id)
    ]


async def test_deliveries_do_not_queue_behind_a_burst_that_holds_every_connection(
    db: Database, migrated_url: DatabaseUrl
) -> None:
    await queue(db, 3)
    small = Database(url=migrated_url, pool_size=1)  # two pooled connections for units of work
    held = asyncio.Event()
    release = asyncio.Event()

    async def busy() -> None:
        async with small.unit():
            held.set()
            await release.wait()

    burst = [asyncio.create_task(busy()) for _ in range(2)]
    try:
        await held.wait()
        queued_unit = asyncio.create_task(_one_unit(small))
        await asyncio.sleep(0.1)
        assert not queued_unit.done()  # every pooled connection is taken: a unit of work waits
        front_end = Recorder()
        assert await asyncio.wait_for(Dispatcher(small, [front_end], FAST).run_once(), timeout=5) == 3
        assert len(front_end.received) == 3
        assert {row.status for row in await rows(db)} == {OutboxStatus.DELIVERED}
    finally:
        release.set()
        await asyncio.gather(*burst)
        await queued_unit
        await small.dispose()


async def _one_unit(database: Database) -> None:
    async with database.unit():
        pass


async def test_stale_record_from_a_dispatcher_that_lost_its_lease_is_dropped(db: Database) -> None:
    await queue(db, 1)
    slow, fast = Recorder(), Recorder()
    first = Dispatcher(db, [slow], FAST)
    claimed = await first._claim()
    async with db.transaction() as session:  # the lease runs out
        await session.execute(update(OutboxMessage).values(leased_until=OutboxMessage.created_at))
    await Dispatcher(db, [fast], FAST).drain()
    addressed = first._address(claimed)
    await first._record([await first._handle(delivery, row) for delivery, row in addressed])
    [row] = await rows(db)
    assert (row.status, row.attempts, row.delivered_via) == (OutboxStatus.DELIVERED, 2, ["console"])


async def test_a_claim_rewrites_each_row_in_place_without_touching_an_index(db: Database) -> None:
    # Many pages' worth of notifications the size services write: a claim of full pages could not stay HOT.
    ids = [(await add_user(db, f"user{n}", UserRole.USER)).id for n in range(20)]
    async with db.transaction() as session:
        for number in range(30):
            await outbox.enqueue(
                session,
                event="request_approved",
                dedup_base=f"hot:{number}",
                recipients=ids,
                payload={"title": f"Title {number}", "overview": "x" * 300, "seasons": list(range(10))},
            )
    counts = text("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relid = 'outbox'::regclass")
    async with db.transaction() as session:
        # The view also holds what this connection did before and has not reported yet: count the difference.
        updated_before, hot_before = (await session.execute(counts)).one()
        claimed = await dispatcher_module._CLAIM.rows(session, batch=1000, lease=timedelta(seconds=60))
        updated, hot = (await session.execute(counts)).one()
        updated, hot = updated - updated_before, hot - hot_before
        pages = (await session.execute(text("SELECT count(DISTINCT (ctid::text::point)[0]) FROM outbox"))).scalar_one()
    assert len(claimed) == updated == 600
    assert pages > 10
    assert hot == updated, f"{updated - hot} of {updated} claimed rows needed new index entries"


def test_backoff_doubles_within_its_cap_with_jitter() -> None:
    delays = [backoff(attempt, 5.0, 60.0) for attempt in range(1, 8)]
    assert 2.5 <= delays[0] <= 5.0
    assert 5.0 <= delays[1] <= 10.0
    assert all(30.0 <= delay <= 60.0 for delay in delays[4:])
