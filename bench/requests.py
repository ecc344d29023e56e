"""Request core benchmark: 200 people requesting at once while moderators approve, two at a time.

Prints one figure per line as `name: value unit`:
  ops_per_second              creates and approvals completed per second of wall time (target >= 500)
  cpu_per_operation           this process's CPU per operation, dispatcher included, ms (less noisy than
                              ops_per_second on a shared machine: one process can do 1000 / this per second)
  host_cpu_per_operation      the whole machine's CPU per operation, ms: with a local PostgreSQL this adds
                              the database's work (on Linux; 2 cores give at most 2000 / this ops/s)
  create_p50 / create_p99     latency of a create (or join), ms
  approve_p50 / approve_p99   latency of an approve attempt, ms (half of them lose the race by design)
  double_approvals            requests approved more than once (target 0)
  outbox_delivery_lag_p50/p99 commit to delivery through the dispatcher, woken by Redis pub/sub, ms
  orm_statement_cpu           CPU of one small SELECT through the async ORM session, ms (the cost floor
  transaction_cpu             of a use case: about ten statements in one transaction), and the same
  driver_statement_cpu        SELECT straight through psycopg, for comparison
  interpreter_speed           CPU of a fixed piece of Python work, ms: how fast the machine is right now

Every approval is pressed by two moderators at the same moment, the way two people tap one button.
Runs against a real PostgreSQL and Redis (embedded unless IDKARR_BENCH_*_URL name others).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

from sqlalchemy import func, select

from bench.support import bench_runtime, host_cpu_seconds, interpreter_speed, percentile, report
from core import eventloop
from core.db.models import Activity, OutboxMessage, User
from core.enums import ActivityType, ContentType, OutboxStatus, UserRole
from core.errors import AlreadyDecided, DomainError
from core.metadata.types import Title, TitleDetails
from core.runtime import Runtime
from core.services import requests
from core.services.dispatcher import Delivery, Dispatcher, DispatchPolicy
from core.services.users import add_user

USERS = 200
MODERATORS = 8
TITLES = 2_000
REQUESTS_PER_USER = 5


class Counts:
    """A front end that only counts, so the figure is the dispatcher's own lag."""

    name = "console"

    def __init__(self) -> None:
        self.delivered = 0

    async def deliver(self, delivery: Delivery) -> bool:
        self.delivered += 1
        return True


def _titles() -> list[TitleDetails]:
    return [
        TitleDetails(Title(type=ContentType.MOVIE, title=f"Bench Film {n}", year=1990 + n % 30, tmdb_id=900_000 + n))
        for n in range(TITLES)
    ]


async def _load(runtime: Runtime) -> None:
    database = runtime.database
    users = [(await add_user(database, f"viewer{n}", UserRole.USER)).id for n in range(USERS)]
    moderators = [(await add_user(database, f"mod{n}", UserRole.MODERATOR)).id for n in range(MODERATORS)]
    titles = _titles()
    rng = random.Random(7)
    approvals: asyncio.Queue[int | None] = asyncio.Queue()
    create_ms: list[float] = []
    approve_ms: list[float] = []
    wins: Counter[int] = Counter()

    async def person(user_id: int) -> None:
        for _ in range(REQUESTS_PER_USER):
            details = titles[min(TITLES - 1, int(rng.paretovariate(1.0)) - 1 + rng.randrange(TITLES // 2))]
            started = time.perf_counter()
            try:
                result = await requests.create(database, details, actor_id=user_id)
            except DomainError:
                result = None  # already following it: a refusal is an answer too
            create_ms.append((time.perf_counter() - started) * 1000)
            if result is not None and result.outcome == "created":
                await approvals.put(result.request.id)

    async def press(request_id: int, moderator: int) -> None:
        started = time.perf_counter()
        try:
            await requests.approve(database, request_id, actor_id=moderator)
            wins[request_id] += 1
        except AlreadyDecided:
            pass
        approve_ms.append((time.perf_counter() - started) * 1000)

    async def moderator_pair(index: int) -> None:
        while (request_id := await approvals.get()) is not None:
            first, second = moderators[index], moderators[(index + 1) % MODERATORS]
            await asyncio.gather(press(request_id, first), press(request_id, second))

    front_end = Counts()
    stop = asyncio.Event()
    dispatcher = Dispatcher(database, [front_end], DispatchPolicy(batch=200, concurrency=32))
    dispatching = asyncio.create_task(
        dispatcher.run(stop, redis=runtime.redis, prefix=runtime.settings.redis.key_prefix)
    )

    started, cpu_started, host_started = time.perf_counter(), time.process_time(), host_cpu_seconds()
    deciders = [asyncio.create_task(moderator_pair(index)) for index in range(MODERATORS)]
    await asyncio.gather(*(person(user_id) for user_id in users))
    for _ in deciders:
        await approvals.put(None)
    await asyncio.gather(*deciders)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    host_ended = host_cpu_seconds()

    await _until_delivered(runtime)
    stop.set()
    await dispatching

    async with database.session() as session:
        approved_twice = (
            await session.execute(
                select(func.count()).select_from(
                    select(Activity.request_id)
                    .where(Activity.type == ActivityType.REQUEST_APPROVED)
                    .group_by(Activity.request_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
        ).scalar_one()
        lags = (
            (
                await session.execute(
                    select(func.extract("epoch", OutboxMessage.delivered_at - OutboxMessage.created_at) * 1000)
                )
            )
            .scalars()
            .all()
        )

    report("users", USERS, "people")
    operations = len(create_ms) + len(approve_ms)
    report("operations", operations, "ops")
    report("ops_per_second", operations / elapsed, "ops/s")
    report("cpu_per_operation", 1000 * cpu / operations, "ms")
    if host_started is not None and host_ended is not None:
        report("host_cpu_per_operation", 1000 * (host_ended - host_started) / operations, "ms")
    report("create_p50", percentile(create_ms, 0.50), "ms")
    report("create_p99", percentile(create_ms, 0.99), "ms")
    report("approve_p50", percentile(approve_ms, 0.50), "ms")
    report("approve_p99", percentile(approve_ms, 0.99), "ms")
    report("double_approvals", max(approved_twice, sum(1 for count in wins.values() if count > 1)), "requests")
    report("notifications_delivered", front_end.delivered, "messages")
    report("outbox_delivery_lag_p50", percentile([float(lag) for lag in lags], 0.50), "ms")
    report("outbox_delivery_lag_p99", percentile([float(lag) for lag in lags], 0.99), "ms")


async def _until_delivered(runtime: Runtime) -> None:
    waiting = select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING)
    for _ in range(6000):
        async with runtime.database.session() as session:
            if not (await session.execute(waiting)).scalar_one():
                return
        await asyncio.sleep(0.05)
    raise RuntimeError("the outbox was not delivered within five minutes")


async def _floor(runtime: Runtime) -> None:
    """What one statement costs this process, whatever the use case: explains the ops_per_second figure."""
    database = runtime.database
    one = select(User.id).where(User.id == 1)
    async with database.session() as session:
        for _ in range(100):
            await session.execute(one)
        started = time.process_time()
        for _ in range(2000):
            await session.execute(one)
        report("orm_statement_cpu", (time.process_time() - started) / 2, "ms")
    started = time.process_time()
    for _ in range(500):
        async with database.transaction() as session:
            await session.execute(one)
    report("transaction_cpu", (time.process_time() - started) * 2, "ms")
    async with database.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        started = time.process_time()
        for _ in range(2000):
            await (await driver.execute('SELECT id FROM "user" WHERE id = %s', (1,))).fetchall()
        report("driver_statement_cpu", (time.process_time() - started) / 2, "ms")


async def main() -> None:
    async with bench_runtime() as runtime:
        report("interpreter_speed", interpreter_speed(), "ms")
        await _load(runtime)
        await _floor(runtime)
        report("interpreter_speed", interpreter_speed(), "ms")


if __name__ == "__main__":
    eventloop.run(main())
