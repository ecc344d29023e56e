"""The engine and units of work: one per use case, committed or rolled back as a whole.

Most use cases work in an AsyncSession (`Database.transaction()`). The ones a community runs in bursts
(creating, joining, approving, denying requests) work in a `Unit` (`Database.unit()`): a transaction on a
plain pooled psycopg connection, run only through core.db.prepared. The session's own machinery (its
greenlets, its pool, its transaction bookkeeping) cost about half a millisecond of CPU a unit of work,
more than the statements of a decision; a Unit costs what libpq does (core.db.wire). Helpers that serve
both take a `Work`; a function that needs the ORM takes an AsyncSession, so mypy keeps it out of a Unit.

A unit of work can leave signals ("something is waiting in the outbox", "this happened") that are sent
only once its transaction has committed, so no listener ever hears of a change that was rolled back.

A transaction that wrote nothing (a read, or a use case refused before it changed anything) ends with
COMMIT, not ROLLBACK: for such a transaction the two are the same to PostgreSQL, but psycopg forgets every
statement it has prepared on a connection at each ROLLBACK (it cannot know what a rolled-back transaction
changed), and with a moderator's lost race or a page of requests rolling back many times a second, the hot
statements would be parsed and planned anew nearly every time. Writes are noted as they are sent: by the
engine for everything SQLAlchemy runs, by core.db.prepared for its own statements.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from core.db import jsonb, wire
from core.db.pool import HotPool
from core.dburl import DatabaseUrl
from core.errors import DomainError

__all__ = [
    "ACTIVITY",
    "OUTBOX",
    "AfterCommit",
    "Database",
    "Signal",
    "Unit",
    "Work",
    "driver_connection",
    "note_write",
    "reads_only",
    "signal",
]

log = logging.getLogger(__name__)

Signal = tuple[str, str]  # (channel name, message)
AfterCommit = Callable[[list[Signal]], Awaitable[None]]

_SIGNALS = "idkarr.signals"
_DRIVER = "idkarr.driver_connection"
_CONNECTION_INFO = "idkarr.connection_info"  # the pooled connection's info, where its writes are noted
_WROTE = "idkarr.wrote"

# The channels signals are sent on.
OUTBOX = "outbox"  # rows are waiting in the outbox: wake the dispatcher
ACTIVITY = "activity"  # an activity entry was written: real-time feeds


class Unit:
    """A unit of work on a plain psycopg connection, inside its transaction (see the module's docstring)."""

    def __init__(self, connection: AsyncConnection[Any], *, read_only: bool = False) -> None:
        self.connection = connection
        self.read_only = read_only  # `Database.reads`: no transaction, so nothing may be written
        self.info: dict[str, Any] = {}


Work = AsyncSession | Unit


def signal(work: Work, channel: str, message: str) -> None:
    """Send `message` on `channel` once this unit of work's transaction has committed."""
    work.info.setdefault(_SIGNALS, []).append((channel, message))


class _UnitOfWork(Session):
    pass


@event.listens_for(_UnitOfWork, "after_transaction_end")
def _forget_driver_connection(session: Session, _transaction: Any) -> None:
    # The session's next transaction may be given another pooled connection.
    session.info.pop(_DRIVER, None)
    session.info.pop(_CONNECTION_INFO, None)


async def driver_connection(session: Work) -> AsyncConnection[Any]:
    """The psycopg connection under the unit of work's transaction, for statements run without the ORM
    (core.db.prepared). A session's pending ORM changes are flushed first, so those statements see them."""
    if isinstance(session, Unit):
        return session.connection
    if session.new or session.dirty or session.deleted:
        await session.flush()
    connection: AsyncConnection[Any] | None = session.info.get(_DRIVER)
    if connection is None:
        pooled = await session.connection()
        raw = await pooled.get_raw_connection()
        connection = session.info[_DRIVER] = raw.driver_connection
        session.info[_CONNECTION_INFO] = pooled.info
        assert connection is not None  # a pooled connection always has its driver connection
    return connection


def reads_only(sql: str) -> bool:
    """Whether a statement cannot change anything. Anything but a plain SELECT counts as a write, a
    `WITH` included (its parts may insert), so a mistake here costs a ROLLBACK, never a lost change."""
    return sql.lstrip()[:6].upper() == "SELECT"


def note_write(work: Work) -> None:
    """Record that the transaction has sent a write (for statements the engine does not see)."""
    if isinstance(work, Unit) and work.read_only:
        # Outside a transaction the write would be kept at once, whatever happened after it.
        raise RuntimeError("a write in a unit of reads (Database.reads); use Database.unit")
    (work.info if isinstance(work, Unit) else work.info[_CONNECTION_INFO])[_WROTE] = True


async def _wrote(session: AsyncSession) -> bool:
    if session.new or session.dirty or session.deleted:
        return True  # changes not yet flushed: a COMMIT would send them
    info = session.info.get(_CONNECTION_INFO)
    if info is None:
        info = (await session.connection()).info
    return bool(info.get(_WROTE))


def _note_writes(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "begin")
    def _begun(connection: Any) -> None:
        connection.info.pop(_WROTE, None)

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _sent(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not reads_only(statement):
            connection.info[_WROTE] = True


_IDLE_SINCE = "idkarr.idle_since"


def _ping_when_idle(engine: AsyncEngine, after: float) -> None:
    """Check a pooled connection before use only once it has sat idle for `after` seconds.

    An idle connection may have outlived a database restart; one used a moment ago has just proved itself.
    Under load this saves a round trip on every unit of work, which pinging each checkout would cost.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out another (or opens a new one).
            raise DisconnectionError("a pooled connection did not answer after sitting idle") from error


async def _end_unkept(session: AsyncSession, error: BaseException | None) -> None:
    """End a transaction whose writes are not to be kept: with COMMIT when it wrote nothing and nothing went
    wrong but a refusal (`error` None: a read-only session ending), else with ROLLBACK."""
    session.info.pop(_SIGNALS, None)
    if not session.in_transaction():
        return
    try:
        clean = _clean(error) and not await _wrote(session)
    except Exception:
        clean = False  # the transaction is already failed: only a rollback ends it
    if clean:
        await session.commit()
    else:
        await session.rollback()


def _clean(error: BaseException | None) -> bool:
    """Whether a transaction that wrote nothing may end with COMMIT after `error` (None: nothing wrong)."""
    return error is None or isinstance(error, DomainError)


async def _end_unit(unit: Unit, error: BaseException) -> None:
    """`_end_unkept` for a Unit. A connection that failed is ended as well as it can be; the pool discards
    one it finds broken."""
    unit.info.pop(_SIGNALS, None)
    if _clean(error) and not unit.info.get(_WROTE):
        await wire.commit(unit.connection)
        return
    try:
        await unit.connection.rollback()
    except Exception:
        log.debug("event=rollback_failed", exc_info=True)


class Database:
    def __init__(
        self,
        *,
        url: DatabaseUrl,
        pool_size: int = 10,
        connect_timeout: float = 5.0,
        echo: bool = False,
        ping_idle_after: float = 5.0,
    ):
        self.url = url
        self._pool_size, self._connect_timeout, self._ping_idle_after = pool_size, connect_timeout, ping_idle_after
        self._pool: HotPool | None = None
        self._reserved: HotPool | None = None
        self._opening = asyncio.Lock()
        self.engine: AsyncEngine = create_async_engine(
            url.sqlalchemy,
            pool_size=pool_size,
            max_overflow=pool_size,
            echo=echo,
            json_serializer=jsonb.dumps_text,
            json_deserializer=jsonb.loads,
            connect_args={"connect_timeout": max(1, round(connect_timeout)), "application_name": "idkarr"},
        )
        _ping_when_idle(self.engine, ping_idle_after)
        _note_writes(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False, sync_session_class=_UnitOfWork)
        # Set by the runtime (Redis pub/sub); without it signals are dropped and listeners fall back to polling.
        self.after_commit: AfterCommit | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends normally, rolls back on any exception (a refusal
        before anything was written ends with COMMIT instead: see the module's docstring)."""
        async with self._sessions() as session:
            await session.begin()
            try:
                yield session
            except BaseException as error:
                await _end_unkept(session, error)
                raise
            await session.commit()
            signals: list[Signal] = session.info.pop(_SIGNALS, [])
        await self._send(signals)

    @asynccontextmanager
    async def unit(self, *, reserved: bool = False) -> AsyncIterator[Unit]:
        """A lean unit of work (see the module's docstring), ended as `transaction` ends its session.

        `reserved` runs it on the one connection kept for the outbox dispatcher: in a burst of requests
        every pooled connection has a queue of units waiting for it, and a delivery that queued behind
        them reached people seconds after the change it reports.
        """
        pool = (self._reserved or await self._open_reserved()) if reserved else (self._pool or await self._open_pool())
        connection = await pool.getconn()
        try:
            unit = Unit(connection)
            try:
                yield unit
            except BaseException as error:
                await _end_unit(unit, error)
                raise
            await wire.commit(connection)
        finally:
            pool.putconn(connection)
        await self._send(unit.info.pop(_SIGNALS, []))

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[Unit]:
        """Reads that need no transaction around them, on the lean unit's pool: under READ COMMITTED each
        statement takes its own snapshot anyway, so running each on its own (autocommit) changes nothing
        they see and spares the BEGIN and COMMIT. Prepared statements that write are refused."""
        pool = self._pool or await self._open_pool()
        connection = await pool.getconn()
        try:
            # core.db.wire opens no transaction for a unit of reads: each statement commits on its own.
            yield Unit(connection, read_only=True)
        finally:
            pool.putconn(connection)

    async def _open_pool(self) -> HotPool:
        async with self._opening:  # the first units of work arrive together: one pool for all of them
            if self._pool is None:
                # As the ORM pool: pool_size, and as many again under load.
                self._pool = await self._new_pool("idkarr-units", 2 * self._pool_size)
            return self._pool

    async def _open_reserved(self) -> HotPool:
        async with self._opening:
            if self._reserved is None:
                self._reserved = await self._new_pool("idkarr-outbox", 1)
            return self._reserved

    async def _new_pool(self, name: str, size: int) -> HotPool:
        pool = HotPool(
            self.url,
            name=name,
            size=size,
            connect_timeout=self._connect_timeout,
            ping_idle_after=self._ping_idle_after,
        )
        await pool.open()
        return pool

    async def _send(self, signals: list[Signal]) -> None:
        if signals and self.after_commit is not None:
            try:
                await self.after_commit(signals)
            except Exception:
                # The change is committed; a lost wake-up only delays delivery until the next poll.
                log.warning("event=signal_failed count=%d", len(signals), exc_info=True)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read-only session: whatever it writes is rolled back."""
        async with self._sessions() as session:
            try:
                yield session
            except BaseException as error:
                await _end_unkept(session, error)
                raise
            await _end_unkept(session, None)

    async def dispose(self) -> None:
        for pool in (self._pool, self._reserved):
            if pool is not None:
                await pool.close()
        self._pool = self._reserved = None
        await self.engine.dispose()
