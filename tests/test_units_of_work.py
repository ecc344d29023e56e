"""How a unit of work ends (core.db.session), on real PostgreSQL: kept when it succeeds, undone when it fails,
and ended with COMMIT when it wrote nothing, so the connection keeps the statements it has prepared."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import bindparam, column, func, select, table, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import User
from core.db.prepared import Prepared
from core.db.session import Database, signal
from core.errors import NotAllowed

from .backends import end_backends
from .factories import make_user

_NAME = Prepared(select(User.username).where(User.id == bindparam("id")))
_RENAME = Prepared(update(User).where(User.id == bindparam("id")).values(username=bindparam("name")))


@pytest.fixture
async def one_connection(db: Database) -> AsyncIterator[Database]:
    """A database of one pooled connection, so every unit of work meets the statements the last prepared."""
    database = Database(url=db.url, pool_size=1)
    try:
        yield database
    finally:
        await database.dispose()


async def _prepared_here(database: Database) -> list[str]:
    async with database.session() as session:
        found = await session.execute(text("SELECT statement FROM pg_prepared_statements"))
        return list(found.scalars())


async def _user(database: Database, name: str) -> int:
    async with database.transaction() as session:
        return (await make_user(session, name)).id


async def _name(database: Database, user_id: int) -> str:
    async with database.session() as session:
        (row,) = await _NAME.rows(session, id=user_id)
        return str(row.username)


def _listening(database: Database) -> list[tuple[str, str]]:
    """The signals `database` sends once its units of work commit, as they are sent."""
    heard: list[tuple[str, str]] = []

    async def listen(signals: list[tuple[str, str]]) -> None:
        heard.extend(signals)

    database.after_commit = listen
    return heard


async def _fail_after(
    unit: AbstractAsyncContextManager[Any], work: Callable[[Any], Awaitable[object]], error: Exception
) -> None:
    async with unit as session:
        await work(session)
        raise error


async def test_a_refusal_before_any_write_keeps_the_prepared_statements(one_connection: Database) -> None:
    ana = await _user(one_connection, "ana")
    with pytest.raises(NotAllowed):
        await _fail_after(one_connection.transaction(), lambda session: _NAME.rows(session, id=ana), NotAllowed("no"))
    with pytest.raises(NotAllowed):
        await _fail_after(one_connection.session(), lambda session: _NAME.rows(session, id=ana), NotAllowed("no"))
    assert any('FROM "user"' in statement for statement in await _prepared_here(one_connection))


async def test_a_read_only_session_keeps_the_prepared_statements(one_connection: Database) -> None:
    bea = await _user(one_connection, "bea")
    for _ in range(3):
        assert await _name(one_connection, bea) == "bea"
    assert any('FROM "user"' in statement for statement in await _prepared_here(one_connection))


async def test_any_other_failure_rolls_back(one_connection: Database) -> None:
    cleo = await _user(one_connection, "cleo")
    rename = _RENAME.rows
    with pytest.raises(RuntimeError):
        await _fail_after(
            one_connection.transaction(), lambda session: rename(session, id=cleo, name="x"), RuntimeError("broken")
        )
    assert await _name(one_connection, cleo) == "cleo"


Write = Callable[[AsyncSession, int], Awaitable[None]]


async def _prepared_write(session: AsyncSession, user_id: int) -> None:
    await _RENAME.rows(session, id=user_id, name="changed")


async def _orm_flushed(session: AsyncSession, user_id: int) -> None:
    user = await session.get(User, user_id)
    assert user is not None
    user.username = "changed"
    await session.flush()


async def _orm_pending(session: AsyncSession, user_id: int) -> None:
    user = await session.get(User, user_id)
    assert user is not None
    user.username = "changed"


async def _core_statement(session: AsyncSession, user_id: int) -> None:
    await session.execute(update(User).where(User.id == user_id).values(username="changed"))


async def _on_the_connection(session: AsyncSession, user_id: int) -> None:
    connection = await session.connection()
    await connection.execute(text("UPDATE \"user\" SET username = 'changed' WHERE id = :id"), {"id": user_id})


async def _written_in_a_select(session: AsyncSession, user_id: int) -> None:
    # A CTE that writes reads like a SELECT to a careless eye: it must count as a write.
    await session.execute(
        text("WITH changed AS (UPDATE \"user\" SET username = 'changed' WHERE id = :id RETURNING id) SELECT 1"),
        {"id": user_id},
    )


@pytest.mark.parametrize(
    "write",
    [_prepared_write, _orm_flushed, _orm_pending, _core_statement, _on_the_connection, _written_in_a_select],
)
async def test_a_refusal_after_a_write_undoes_it(one_connection: Database, write: Write) -> None:
    dora = await _user(one_connection, "dora")
    with pytest.raises(NotAllowed):
        await _fail_after(one_connection.transaction(), lambda session: write(session, dora), NotAllowed("after"))
    assert await _name(one_connection, dora) == "dora"


@pytest.mark.parametrize("write", [_prepared_write, _orm_flushed, _orm_pending, _core_statement, _on_the_connection])
async def test_a_read_only_session_keeps_nothing_it_writes(one_connection: Database, write: Write) -> None:
    eve = await _user(one_connection, "eve")
    async with one_connection.session() as session:
        await write(session, eve)
    assert await _name(one_connection, eve) == "eve"


async def test_a_refusal_sends_no_signal(one_connection: Database) -> None:
    heard = _listening(one_connection)

    async def signalled(session: AsyncSession) -> None:
        signal(session, "outbox", "1")

    with pytest.raises(NotAllowed):
        await _fail_after(one_connection.transaction(), signalled, NotAllowed("no"))
    async with one_connection.transaction() as session:
        signal(session, "outbox", "2")
    assert heard == [("outbox", "2")]


# The lean unit of work (`Database.unit()`), on its own pool of plain psycopg connections.

_PREPARED_HERE = Prepared(select(column("statement")).select_from(table("pg_prepared_statements")))
_BACKEND = Prepared(select(func.pg_backend_pid().label("pid")))


async def _in_unit(database: Database, statement: Prepared[Any], **values: object) -> list[Any]:
    async with database.unit() as unit:
        return await statement.rows(unit, **values)


async def test_a_lean_unit_commits_what_it_wrote_and_then_signals(one_connection: Database) -> None:
    heard = _listening(one_connection)
    fay = await _user(one_connection, "fay")
    async with one_connection.unit() as unit:
        await _RENAME.rows(unit, id=fay, name="faye")
        signal(unit, "outbox", "renamed")
        assert heard == []
    assert heard == [("outbox", "renamed")]
    assert await _name(one_connection, fay) == "faye"


async def test_a_lean_unit_undoes_its_writes_on_a_refusal_or_a_failure(one_connection: Database) -> None:
    gil = await _user(one_connection, "gil")
    for error in (NotAllowed("refused after writing"), RuntimeError("broken")):
        with pytest.raises(type(error)):
            await _fail_after(one_connection.unit(), lambda unit: _RENAME.rows(unit, id=gil, name="never"), error)
    assert await _name(one_connection, gil) == "gil"


async def test_a_lean_unit_refused_before_writing_keeps_the_prepared_statements(one_connection: Database) -> None:
    hal = await _user(one_connection, "hal")
    with pytest.raises(NotAllowed):
        await _fail_after(one_connection.unit(), lambda unit: _NAME.rows(unit, id=hal), NotAllowed("no"))
    statements = [row.statement for row in await _in_unit(one_connection, _PREPARED_HERE)]
    assert any('FROM "user"' in statement for statement in statements)


async def test_a_lean_units_connection_that_died_while_idle_is_replaced_unnoticed(db: Database) -> None:
    database = Database(url=db.url, pool_size=1, ping_idle_after=0.0)
    try:
        (first,) = await _in_unit(database, _BACKEND)
        await end_backends(db, [first.pid])
        (second,) = await _in_unit(database, _BACKEND)
        assert second.pid != first.pid
    finally:
        await database.dispose()


async def test_reads_run_outside_a_transaction_refuse_writes_and_hand_back_a_transactional_connection(
    one_connection: Database,
) -> None:
    ivy = await _user(one_connection, "ivy")
    async with one_connection.reads() as reads:
        (row,) = await _NAME.rows(reads, id=ivy)
        (backend,) = await _BACKEND.rows(reads)
        assert (row.username, reads.connection.info.transaction_status) == ("ivy", TransactionStatus.IDLE)
        with pytest.raises(RuntimeError, match="a write in a unit of reads"):
            await _RENAME.rows(reads, id=ivy, name="never")
    assert await _name(one_connection, ivy) == "ivy"
    async with one_connection.unit() as unit:
        (same,) = await _BACKEND.rows(unit)
        assert same.pid == backend.pid, "the pool's one connection"
        assert unit.connection.info.transaction_status == TransactionStatus.INTRANS
