"""The lean units' connection pool (core.db.pool) on real PostgreSQL: returned connections go to the unit
that waited longest, none is lost to a cancellation or lent again broken, waits end, and a database that
stops accepting connections is reported to the units waiting rather than leaving them hanging."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection

from core.db.pool import HotPool, NoConnection
from core.db.session import Database
from core.dburl import DatabaseUrl

from .backends import backends, end_backends, run_sql


@asynccontextmanager
async def _pool(url: DatabaseUrl, size: int, **options: Any) -> AsyncIterator[HotPool]:
    options.setdefault("ping_idle_after", 60.0)
    pool = HotPool(url, name="test-pool", size=size, connect_timeout=5.0, **options)
    await pool.open()
    try:
        yield pool
    finally:
        await pool.close()


async def _pid(connection: AsyncConnection[Any]) -> int:
    cursor = await connection.execute("SELECT pg_backend_pid()")
    row = await cursor.fetchone()
    await connection.commit()
    assert row is not None
    return int(row[0])


async def test_returned_connections_go_to_the_units_waiting_in_the_order_they_came(db: Database) -> None:
    async with _pool(db.url, 2) as pool:
        held = [await pool.getconn(), await pool.getconn()]
        served: list[int] = []

        async def unit(number: int) -> None:
            connection = await pool.getconn()
            served.append(number)
            await asyncio.sleep(0)
            pool.putconn(connection)

        waiting = [asyncio.create_task(unit(number)) for number in range(6)]
        await asyncio.sleep(0.05)
        assert served == []
        assert pool.size == 2, "no third connection while two are lent"
        for connection in held:
            pool.putconn(connection)
        await asyncio.gather(*waiting)
        assert served == [0, 1, 2, 3, 4, 5]
        assert pool.size == 2


async def test_a_unit_cancelled_as_it_was_handed_a_connection_passes_it_on(db: Database) -> None:
    async with _pool(db.url, 1, wait_timeout=2.0) as pool:
        first = await pool.getconn()
        waiter = asyncio.create_task(pool.getconn())
        await asyncio.sleep(0.01)
        pool.putconn(first)  # handed to the waiting unit's future...
        waiter.cancel()  # ...which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await waiter
        again = await asyncio.wait_for(pool.getconn(), 1.0)
        assert again is first
        assert pool.size == 1
        pool.putconn(again)


async def test_a_wait_ends_after_its_timeout_with_an_error_naming_the_pool(db: Database) -> None:
    async with _pool(db.url, 1, wait_timeout=0.1) as pool:
        held = await pool.getconn()
        with pytest.raises(NoConnection, match=r"no connection of test-pool came free within 0\.1 s"):
            await pool.getconn()
        pool.putconn(held)
        pool.putconn(await pool.getconn())  # the timed-out wait took nothing with it


async def test_a_connection_returned_broken_is_closed_and_a_waiting_unit_gets_a_new_one(db: Database) -> None:
    async with _pool(db.url, 1) as pool:
        doomed = await pool.getconn()
        pid = await _pid(doomed)
        waiter = asyncio.create_task(pool.getconn())
        await asyncio.sleep(0.01)
        await end_backends(db, [pid])
        with pytest.raises(psycopg.OperationalError):
            await _pid(doomed)
        pool.putconn(doomed)
        fresh = await asyncio.wait_for(waiter, 5.0)
        assert fresh is not doomed
        assert doomed.closed
        assert await _pid(fresh) != pid
        pool.putconn(fresh)
        assert pool.size == 1


async def test_after_one_connection_came_back_broken_every_other_is_checked_before_it_is_lent(db: Database) -> None:
    # As after a database restart under load: every connection is dead, each used a moment ago.
    async with _pool(db.url, 3) as pool:
        first, second, third = [await pool.getconn() for _ in range(3)]
        pids = {await _pid(connection) for connection in (first, second, third)}
        pool.putconn(second)  # idle, used a moment ago
        await end_backends(db, pids)
        with pytest.raises(psycopg.OperationalError):
            await _pid(first)  # the one unit that meets the restart
        pool.putconn(first)
        lent = await pool.getconn()  # not `second`, though it was used a moment ago: checked, found dead
        extra = await pool.getconn()
        waiting = asyncio.create_task(pool.getconn())
        await asyncio.sleep(0.01)  # the pool is full: it waits
        pool.putconn(third)  # lent at the restart: handed to the waiting unit, checked there first
        handed = await asyncio.wait_for(waiting, 5.0)
        for connection in (lent, extra, handed):
            assert await _pid(connection) not in pids
            pool.putconn(connection)
        assert second.closed
        assert third.closed


async def test_a_connection_returned_inside_a_transaction_is_closed_not_lent_again(db: Database) -> None:
    async with _pool(db.url, 1) as pool:
        connection = await pool.getconn()
        pid = await _pid(connection)
        await connection.execute("SELECT 1")  # psycopg opens a transaction; nobody ends it
        pool.putconn(connection)
        assert connection.closed
        other = await pool.getconn()
        assert await _pid(other) != pid
        pool.putconn(other)
        await asyncio.sleep(0.1)  # the server notices the goodbye
        assert pid not in await backends(db)


async def test_a_database_refusing_new_connections_fails_the_waiting_unit_instead_of_hanging(db: Database) -> None:
    role = f"idkarr_pool_test_{os.getpid()}"
    await run_sql(db, f"CREATE ROLE {role} LOGIN SUPERUSER")
    try:
        async with _pool(DatabaseUrl(db.url.url.set(username=role)), 1, wait_timeout=10.0) as pool:
            lent = await pool.getconn()
            waiter = asyncio.create_task(pool.getconn())
            await asyncio.sleep(0.01)
            await run_sql(db, f"ALTER ROLE {role} NOLOGIN")
            lent.pgconn.finish()  # lost: the pool must open another for the waiting unit
            pool.putconn(lent)
            with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
                await asyncio.wait_for(waiter, 5.0)
            assert pool.size == 0
            await run_sql(db, f"ALTER ROLE {role} LOGIN")
            pool.putconn(await pool.getconn())  # the database is back: so is the pool
    finally:
        await run_sql(db, f"DROP ROLE {role}")


async def test_connections_a_burst_opened_are_closed_once_idle_and_after_their_lifetime(db: Database) -> None:
    async with _pool(db.url, 3, max_idle=0.0) as pool:
        burst = [await pool.getconn() for _ in range(3)]
        assert pool.size == 3
        for connection in burst:
            pool.putconn(connection)
        assert pool.size == 1, "each return closes one idle since the burst; the last is kept"
        assert [connection.closed for connection in burst] == [True, True, False]
    async with _pool(db.url, 1, max_lifetime=0.0) as pool:
        old = await pool.getconn()
        pool.putconn(old)
        assert old.closed
        assert pool.size == 0
        new = await pool.getconn()
        assert new is not old
        assert not new.closed
        pool.putconn(new)


async def test_closing_fails_the_waiting_units_and_closes_lent_connections_as_they_return(db: Database) -> None:
    pool = HotPool(db.url, name="closing", size=1, connect_timeout=5.0, ping_idle_after=60.0)
    await pool.open()
    lent = await pool.getconn()
    waiter = asyncio.create_task(pool.getconn())
    await asyncio.sleep(0.01)
    await pool.close()
    with pytest.raises(NoConnection, match="the connection pool closing is closed"):
        await waiter
    with pytest.raises(NoConnection):
        await pool.getconn()
    pool.putconn(lent)
    assert lent.closed
    assert pool.size == 0
