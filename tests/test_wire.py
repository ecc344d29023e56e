"""A lean unit's statements straight through libpq's pipeline (core.db.wire), on real PostgreSQL: the same
values and rows as psycopg's own path, prepared statements that outlive rollbacks, and no connection left
broken by a failure or a cancellation half-way through a batch."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from psycopg import pq
from sqlalchemy import Integer, any_, bindparam, column, func, literal, literal_column, select, table
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from core.db.models import User
from core.db.prepared import Prepared, together
from core.db.session import Database, Unit
from core.enums import UserRole, UserStatus

from .backends import end_backends

_NEW_USER = Prepared(
    insert(User)
    .values(username=bindparam("name"), role=bindparam("new_role"), permissions=bindparam("new_permissions"))
    .returning(User.id, User.status, User.created_at, User.permissions)
)
_NAMED = Prepared(select(User.id, User.username, User.role, User.permissions).where(User.id == bindparam("id")))
_BY_IDS = Prepared(
    select(User.username).where(User.id == any_(bindparam("ids", type_=ARRAY(Integer)))).order_by(User.username)
)
_OURS = Prepared(select(column("name")).select_from(table("pg_prepared_statements")))
_SLEEP = Prepared(select(func.pg_sleep(bindparam("seconds"))))


async def _ours(unit: Unit) -> set[str]:
    """The statements prepared on the unit's connection."""
    return {row.name for row in await _OURS.rows(unit)}


async def _backend(unit: Unit) -> int:
    (row,) = await Prepared(select(func.pg_backend_pid().label("pid"))).rows(unit)
    return int(row.pid)


async def test_values_and_rows_are_what_psycopgs_own_path_gives(db: Database) -> None:
    permissions = {"x": True, "ünï": ["😀", 1.5, None]}
    async with db.unit() as unit:
        (made,) = await _NEW_USER.rows(unit, name="ana", new_role=UserRole.MODERATOR, new_permissions=permissions)
        (bea,) = await _NEW_USER.rows(unit, name="bea", new_role=UserRole.USER, new_permissions={})
        read, listed, nobody = await together(
            unit, (_NAMED, {"id": made.id}), (_BY_IDS, {"ids": [bea.id, made.id]}), (_NAMED, {"id": 99_999})
        )
    async with db.transaction() as session:  # the ORM session's connection: psycopg's cursors
        (through_psycopg,) = await _NAMED.rows(session, id=made.id)
    assert made.status is UserStatus.ACTIVE  # a server default, loaded as its enum
    assert isinstance(made.created_at, datetime)
    assert made.created_at.tzinfo is not None
    assert read == [through_psycopg]
    assert read[0].role is UserRole.MODERATOR
    assert read[0].permissions == permissions
    assert [row.username for row in listed] == ["ana", "bea"]
    assert nobody == []


async def test_a_name_used_twice_is_one_placeholder_and_a_percent_sign_stays_one() -> None:
    twice = Prepared(select((bindparam("n", type_=Integer) + bindparam("n", type_=Integer)).label("sum")))
    assert twice._wire_sql.count(b"$1") == 2
    assert b"$2" not in twice._wire_sql
    percent = Prepared(select(literal_column("'50%'").label("share"), literal("a").label("a")))
    assert b"'50%'" in percent._wire_sql


async def test_literal_percent_signs_and_repeated_values_come_back_as_written(db: Database) -> None:
    statement = Prepared(
        select(
            literal_column("'50%'").label("share"),
            (bindparam("n", type_=Integer) * bindparam("n", type_=Integer)).label("square"),
        )
    )
    async with db.reads() as unit:
        (row,) = await statement.rows(unit, n=12)
    assert (row.share, row.square) == ("50%", 144)


async def test_prepared_statements_outlive_a_rollback_on_their_connection(db: Database) -> None:
    database = Database(url=db.url, pool_size=1)
    try:
        async with database.unit() as unit:
            (made,) = await _NEW_USER.rows(unit, name="cy", new_role=UserRole.USER, new_permissions={})
        seen: dict[str, Any] = {}

        async def rolled_back() -> None:
            async with database.unit() as unit:
                seen["backend"] = await _backend(unit)
                await _NAMED.rows(unit, id=made.id)
                seen["before"] = await _ours(unit)
                await _NEW_USER.rows(unit, name="cy", new_role=UserRole.USER, new_permissions={})

        with pytest.raises(IntegrityError):
            await rolled_back()
        backend, before = seen["backend"], seen["before"]
        for _ in range(20):  # until the pool hands out the connection that rolled back
            async with database.unit() as unit:
                if await _backend(unit) != backend:
                    continue
                (row,) = await _NAMED.rows(unit, id=made.id)
                after = await _ours(unit)
                break
        else:
            pytest.fail("the pool never handed the connection out again")
        assert row.username == "cy"
        assert before <= after  # nothing was deallocated
        assert all(name.startswith("idk_") for name in after)  # psycopg prepared nothing of its own
    finally:
        await database.dispose()


async def test_a_statement_whose_parse_a_failure_skipped_is_prepared_when_next_sent(db: Database) -> None:
    fresh = Prepared(select(User.username.label("who")).where(User.id == bindparam("id")).limit(1))
    database = Database(url=db.url, pool_size=1)
    try:
        async with database.unit() as unit:
            (made,) = await _NEW_USER.rows(unit, name="dee", new_role=UserRole.USER, new_permissions={})
        duplicate = {"name": "dee", "new_role": UserRole.USER, "new_permissions": {}}
        with pytest.raises(IntegrityError):
            async with database.unit() as unit:
                # The server skips everything after the failing insert, `fresh`'s Parse included.
                await together(unit, (_NEW_USER, duplicate), (fresh, {"id": made.id}))
        async with database.unit() as unit:
            assert [row.who for row in await fresh.rows(unit, id=made.id)] == ["dee"]
    finally:
        await database.dispose()


async def test_statements_after_a_failure_in_the_same_batch_change_nothing(db: Database) -> None:
    async with db.unit() as unit:
        await _NEW_USER.rows(unit, name="eve", new_role=UserRole.USER, new_permissions={})
    with pytest.raises(IntegrityError):
        async with db.unit() as unit:
            await together(
                unit,
                (_NEW_USER, {"name": "eve", "new_role": UserRole.USER, "new_permissions": {}}),
                (_NEW_USER, {"name": "fay", "new_role": UserRole.USER, "new_permissions": {}}),
            )
    async with db.reads() as unit:
        assert [row.username for row in await _BY_IDS.rows(unit, ids=list(range(1, 100)))] == ["eve"]


async def test_a_batch_cancelled_half_way_leaves_no_broken_connection_in_the_pool(db: Database) -> None:
    database = Database(url=db.url, pool_size=1)
    interrupted: list[int] = []
    try:

        async def slow() -> Any:
            async with database.unit() as unit:
                interrupted.append(await _backend(unit))
                return await _SLEEP.rows(unit, seconds=5)

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(5):
            async with database.unit() as unit:
                # The interrupted connection was closed and left the pool; every unit after it works.
                assert await _backend(unit) not in interrupted
                assert await _NAMED.rows(unit, id=1) == []
    finally:
        await database.dispose()


async def test_a_value_psycopg_cannot_send_fails_its_call_and_not_the_connection(db: Database) -> None:
    database = Database(url=db.url, pool_size=1)
    try:
        async with database.unit() as unit:
            backend = await _backend(unit)
            with pytest.raises(ProgrammingError, match="cannot adapt"):
                await _NAMED.rows(unit, id=object())
            assert await _backend(unit) == backend
            assert await _NAMED.rows(unit, id=1) == []
    finally:
        await database.dispose()


async def test_a_last_round_trip_carries_the_commit_and_nothing_may_follow_it(db: Database) -> None:
    gil = {"name": "gil", "new_role": UserRole.USER, "new_permissions": {}}
    async with db.unit() as unit:
        ((made,),) = await together(unit, (_NEW_USER, gil), last=True)
        assert unit.connection.info.transaction_status == pq.TransactionStatus.IDLE  # already committed
        with pytest.raises(RuntimeError, match="last round trip"):
            await _NAMED.rows(unit, id=made.id)
    async with db.reads() as unit:
        assert [row.username for row in await _NAMED.rows(unit, id=made.id)] == ["gil"]

    async def fails_last() -> None:
        async with db.unit() as unit:
            fresh = {"name": "hal", "new_role": UserRole.USER, "new_permissions": {}}
            await together(unit, (_NEW_USER, fresh), (_NEW_USER, gil), last=True)

    # A failure in the last round trip: its COMMIT is never run, and the unit rolls back as any other.
    with pytest.raises(IntegrityError):
        await fails_last()
    async with db.reads() as unit:
        assert [row.username for row in await _BY_IDS.rows(unit, ids=list(range(1, 100)))] == ["gil"]


async def test_a_unit_of_reads_opens_no_transaction_and_refuses_a_write(db: Database) -> None:
    async with db.reads() as unit:
        assert await _NAMED.rows(unit, id=1) == []
        assert unit.connection.info.transaction_status == pq.TransactionStatus.IDLE  # each statement on its own
        with pytest.raises(RuntimeError, match="use Database\\.unit"):
            await _NEW_USER.rows(unit, name="ida", new_role=UserRole.USER, new_permissions={})
    async with db.reads() as unit:
        assert await _BY_IDS.rows(unit, ids=list(range(1, 100))) == []


async def test_a_connection_killed_under_a_unit_fails_that_unit_once_and_the_next_gets_a_new_one(db: Database) -> None:
    database = Database(url=db.url, pool_size=1, ping_idle_after=60.0)  # used a moment ago: not pinged
    try:
        async with database.unit() as unit:
            killed = await _backend(unit)
        await end_backends(db, [killed])
        for _ in range(2):  # the pool may hand out its other connection first
            try:
                async with database.unit() as unit:
                    if await _backend(unit) != killed:
                        continue
            except OperationalError:
                break  # the dead connection, said once
        async with database.unit() as unit:
            assert await _backend(unit) != killed
            assert await _NAMED.rows(unit, id=1) == []
    finally:
        await database.dispose()
