"""A lean unit of work's statements, sent straight through libpq's pipeline (see core.db.prepared).

psycopg's cursors and its pipeline object cost about 30 µs of CPU a statement and as much again a round
trip (its per-statement bookkeeping, a wait on the socket for each statement queued); a request's creation
sent sixteen statements in four round trips, and that was most of its CPU (now thirteen in two). Here a
batch is queued, synced and read back in one pass, with psycopg's own C adapters converting values both
ways, so what is sent and read is exactly what psycopg would send and read.

Statements are prepared on the server under names of idkarr's own, remembered per connection. psycopg
forgets every statement it prepared at a ROLLBACK and sends DEALLOCATE ALL, which would drop these too, so
the lean pool's connections never let psycopg prepare anything (core.db.pool: `prepare_threshold=None`):
with nothing of its own prepared, psycopg sends no DEALLOCATE. A name is remembered only once the server
has answered its Parse: a Parse skipped because an earlier statement of the batch failed is sent again.

A batch interrupted half-way (cancelled, or the connection lost) leaves the connection in a state nothing
can continue from: it is closed, and the pool replaces it.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

import psycopg
import psycopg.errors as pg_errors
from psycopg import AsyncConnection, pq
from psycopg.adapt import PyFormat, Transformer

__all__ = ["COMMIT", "commit", "exchange", "rows_of"]

_BEGIN = b"BEGIN"
COMMIT = b"COMMIT"
_AUTO: dict[int, list[PyFormat]] = {}  # how many values -> psycopg's "choose the format" for each


class _Link:
    """What idkarr keeps about one connection: its prepared statements and its adapters."""

    def __init__(self, connection: AsyncConnection[Any]) -> None:
        self.prepared: dict[_Key, bytes] = {}
        self.dumper = Transformer(connection)
        self.loader = Transformer(connection)
        self.encoding = connection.info.encoding
        self._names = (f"idk_{n}".encode() for n in itertools.count(1))

    def new_name(self) -> bytes:
        return next(self._names)


_LINKS: weakref.WeakKeyDictionary[AsyncConnection[Any], _Link] = weakref.WeakKeyDictionary()


def _link(connection: AsyncConnection[Any]) -> _Link:
    link = _LINKS.get(connection)
    if link is None:
        link = _LINKS[connection] = _Link(connection)
    return link


async def commit(connection: AsyncConnection[Any]) -> None:
    """COMMIT the connection's transaction, if one is open (what psycopg's `commit()` does, for less)."""
    if connection.pgconn.transaction_status != pq.TransactionStatus.IDLE:
        await exchange(connection, [], begin=False, end=COMMIT)


async def exchange(
    connection: AsyncConnection[Any],
    statements: Sequence[tuple[bytes, Sequence[Any]]],
    *,
    begin: bool,
    end: bytes | None = None,
) -> list[pq.abc.PGresult]:
    """Run `statements` (SQL with $n placeholders, and their values) in one round trip, in order, each
    with its result; `begin` opens a transaction first if none is open, `end` is a command sent after
    them (COMMIT). Raises the first statement's error as psycopg raises it (the rest of the batch is then
    not run)."""
    link = _link(connection)
    pgconn = connection.pgconn
    # Values are converted before anything is sent: one psycopg cannot adapt fails the call, not the connection.
    converted = [_converted(link, sql, values) for sql, values in statements]
    async with connection.lock:
        finished = False
        pgconn.enter_pipeline_mode()
        try:
            commands: list[_Command] = []
            if begin and pgconn.transaction_status == pq.TransactionStatus.IDLE:
                pgconn.send_query_params(_BEGIN, None)
                commands.append(_Command())
            for position, (key, params, formats) in enumerate(converted):
                name = link.prepared.get(key)
                if name is None:
                    name = link.new_name()
                    pgconn.send_prepare(name, key[0], param_types=key[1])
                    commands.append(_Command(parse=(key, name)))
                pgconn.send_query_prepared(name, params, param_formats=formats)
                commands.append(_Command(answers=position))
            if end is not None:
                pgconn.send_query_params(end, None)
                commands.append(_Command())
            pgconn.pipeline_sync()
            results, error = await _answers(pgconn, link, commands, len(statements))
            finished = True  # read up to the sync: whatever the server said, the connection can go on
        finally:
            if finished:
                pgconn.exit_pipeline_mode()
            else:
                pgconn.finish()  # cancelled or broken mid-batch: see the module's docstring
    if error is not None:
        raise error
    return results


_Key = tuple[bytes, tuple[int, ...]]  # a statement as prepared: its SQL and its values' types


def _converted(link: _Link, sql: bytes, values: Sequence[Any]) -> tuple[_Key, Sequence[Any], list[Any]]:
    """A statement's values as sent (psycopg's adapters choose each one's type and format), and its key."""
    formats = _AUTO.get(len(values)) or _AUTO.setdefault(len(values), [PyFormat.AUTO] * len(values))
    params = link.dumper.dump_sequence(values, formats)
    return (sql, tuple(link.dumper.types or ())), params, list(link.dumper.formats or ())


class _Command(NamedTuple):
    """One command of a batch: a statement's Parse (what to remember once it is answered), a statement's
    execution (`answers`: which statement), or neither (BEGIN)."""

    parse: tuple[_Key, bytes] | None = None
    answers: int | None = None


async def _answers(
    pgconn: pq.abc.PGconn, link: _Link, commands: list[_Command], count: int
) -> tuple[list[pq.abc.PGresult], psycopg.Error | None]:
    """Each statement's result, read up to the sync, or the first statement's error; the Parses the server
    answered are remembered."""
    loop = asyncio.get_running_loop()
    await _flush(pgconn, loop)
    answers: list[pq.abc.PGresult | None] = [None] * count
    error: psycopg.Error | None = None
    index = 0
    while True:
        result = await _result(pgconn, loop)
        if result is None:
            index += 1  # each command's results end with a NULL
            continue
        status = result.status
        if status == pq.ExecStatus.PIPELINE_SYNC:
            break
        command = commands[index]
        if status == pq.ExecStatus.FATAL_ERROR:
            error = error or pg_errors.error_from_result(result, encoding=link.encoding)
        elif command.parse is not None and status == pq.ExecStatus.COMMAND_OK:
            link.prepared[command.parse[0]] = command.parse[1]
        elif command.answers is not None:
            answers[command.answers] = result
    if error is None and any(answer is None for answer in answers):
        error = psycopg.InternalError("the server answered fewer statements than were sent")
    return cast(list[pq.abc.PGresult], answers), error


async def _flush(pgconn: pq.abc.PGconn, loop: asyncio.AbstractEventLoop) -> None:
    while pgconn.flush() == 1:
        # Read while waiting to write: a server whose own send buffer is full would otherwise wait for us.
        if await _ready(pgconn.socket, loop, write=True):
            pgconn.consume_input()


async def _result(pgconn: pq.abc.PGconn, loop: asyncio.AbstractEventLoop) -> pq.abc.PGresult | None:
    while pgconn.is_busy():
        await _ready(pgconn.socket, loop, write=False)
        pgconn.consume_input()
    return pgconn.get_result()


async def _ready(fd: int, loop: asyncio.AbstractEventLoop, *, write: bool) -> bool:
    """Wait until the socket can be read (True) or, with `write`, written."""
    done: asyncio.Future[bool] = loop.create_future()

    def ready(readable: bool) -> None:
        if not done.done():
            done.set_result(readable)

    loop.add_reader(fd, ready, True)
    if write:
        loop.add_writer(fd, ready, False)
    try:
        return await done
    finally:
        loop.remove_reader(fd)
        if write:
            loop.remove_writer(fd)


def rows_of(connection: AsyncConnection[Any], result: pq.abc.PGresult) -> list[tuple[Any, ...]]:
    """A result's rows as tuples of Python values, loaded as psycopg loads them."""
    loader = _link(connection).loader
    loader.set_pgresult(result)
    return loader.load_rows(0, result.ntuples, tuple)
