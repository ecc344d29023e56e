"""The pool of plain psycopg connections behind `Database.unit()` and `Database.reads()`, the hot paths.

idkarr's own rather than psycopg_pool's. In a burst every returned connection has a unit of work waiting for
it, and psycopg_pool hands it over through a Condition whose lock the waiter holds until a task of
`asyncio.wait_for`'s has run: each hand-off cost a turn of the loop under the pool's lock, and the returns
behind it queued (5 ms a return at the median, 10 ms in the slowest 1 %, 20 clients creating requests). Here a
returned connection is put straight into the future of the unit that has waited longest, and returning
awaits nothing.

Connections are checked only after sitting idle, as the ORM's pool does (core.db.session): an idle one may
have outlived a database restart; one used a moment ago has just proved itself. One that comes back broken,
or in the middle of something (a unit cancelled while it ended its transaction), is closed, not lent again;
one coming back broken makes every other connection open at that moment suspect too (a restart ends them
all), and each is checked before it is lent again, so a restart under load fails one unit, not one a
connection.
The most recently returned connection is lent first, so the ones a quiet hour does not need grow idle and
are closed; each is also closed after about an hour of service, so no server process grows without end.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from typing import Any

import psycopg
from psycopg import AsyncConnection, pq

from core.db import jsonb
from core.dburl import DatabaseUrl

__all__ = ["HotPool", "NoConnection"]

log = logging.getLogger(__name__)

_Connection = AsyncConnection[Any]


class NoConnection(psycopg.OperationalError):
    """No connection came free in time, or the pool was closed."""


class HotPool:
    def __init__(
        self,
        url: DatabaseUrl,
        *,
        name: str,
        size: int,
        connect_timeout: float,
        ping_idle_after: float,
        wait_timeout: float = 30.0,
        max_idle: float = 600.0,
        max_lifetime: float = 3600.0,
    ) -> None:
        self.name = name
        self._conninfo = url.libpq
        self._size = size
        self._connect_timeout = connect_timeout
        self._ping_idle_after = ping_idle_after
        self._wait_timeout = wait_timeout
        self._max_idle = max_idle
        self._max_lifetime = max_lifetime
        self._idle: deque[tuple[_Connection, float]] = deque()  # (connection, returned at), latest last
        self._waiters: deque[asyncio.Future[_Connection]] = deque()  # longest waiting first
        self._retire_at: dict[_Connection, float] = {}  # every open connection, lent or idle
        self._suspect: set[_Connection] = set()  # open when another came back broken: checked before lending
        self._opening = 0  # connections being opened, counted against the size with those open
        self._replacing: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def size(self) -> int:
        """Connections open or being opened."""
        return len(self._retire_at) + self._opening

    async def open(self) -> None:
        """Open the first connection, so a database that cannot be reached is reported here."""
        self._idle.append((await self._connect(), time.monotonic()))

    async def close(self) -> None:
        """Close the idle connections now and the lent ones as they come back; waiting units are failed."""
        self._closed = True
        while self._idle:
            self._drop(self._idle.pop()[0])
        for task in self._replacing:
            task.cancel()
        self._fail_waiters(NoConnection(f"the connection pool {self.name} is closed"))

    async def getconn(self) -> _Connection:
        while True:
            if self._closed:
                raise NoConnection(f"the connection pool {self.name} is closed")
            if self._idle:
                connection, since = self._idle.pop()
                used_lately = time.monotonic() - since < self._ping_idle_after
            elif self.size < self._size:
                return await self._connect()
            else:
                connection, used_lately = await self._wait(), True
            if (used_lately and connection not in self._suspect) or await self._answers(connection):
                return connection

    def putconn(self, connection: _Connection) -> None:
        """Take a connection back: to the unit that has waited longest, else to the idle ones."""
        if self._closed or not self._reusable(connection):
            if connection.pgconn.status != pq.ConnStatus.OK:
                self._suspect = set(self._retire_at)  # the database may have restarted: see the docstring
            self._drop(connection)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # not timed out, not cancelled
                waiter.set_result(connection)
                return
        now = time.monotonic()
        self._idle.append((connection, now))
        if len(self._idle) > 1 and now - self._idle[0][1] >= self._max_idle:
            self._drop(self._idle.popleft()[0])  # unneeded since the last burst: one a call keeps pace

    async def _wait(self) -> _Connection:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_Connection] = loop.create_future()
        self._waiters.append(waiter)
        # A timer rather than asyncio.wait_for: that costs a task for every wait, on Python 3.11.
        timer = loop.call_later(self._wait_timeout, self._expire, waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.putconn(waiter.result())  # handed one as it was cancelled: the next unit has it
            raise
        finally:
            timer.cancel()

    def _expire(self, waiter: asyncio.Future[_Connection]) -> None:
        if not waiter.done():
            waiter.set_exception(
                NoConnection(f"no connection of {self.name} came free within {self._wait_timeout:g} s")
            )

    def _reusable(self, connection: _Connection) -> bool:
        pgconn = connection.pgconn
        return (
            pgconn.status == pq.ConnStatus.OK
            and pgconn.transaction_status == pq.TransactionStatus.IDLE
            and time.monotonic() < self._retire_at.get(connection, 0.0)
        )

    async def _answers(self, connection: _Connection) -> bool:
        """Whether an idle connection still answers; one that does not is closed."""
        try:
            await connection.execute("SELECT 1")
            await connection.commit()  # not a rollback: psycopg would forget its prepared statements
            self._suspect.discard(connection)
        except BaseException as error:
            self._drop(connection)
            if isinstance(error, Exception):
                log.info("event=idle_connection_lost pool=%s", self.name)
                return False
            raise
        return True

    async def _connect(self) -> _Connection:
        self._opening += 1
        try:
            connection = await AsyncConnection.connect(
                self._conninfo,
                connect_timeout=max(1, round(self._connect_timeout)),
                application_name="idkarr",
                context=jsonb.adapters(),
                # Statements are prepared by core.db.wire under its own names; psycopg preparing its own would
                # make it send DEALLOCATE ALL at each ROLLBACK, dropping those too.
                prepare_threshold=None,
            )
        finally:
            self._opening -= 1
        # Spread over the last tenth of the lifetime: the connections a burst opened are not all closed at once.
        self._retire_at[connection] = time.monotonic() + self._max_lifetime * random.uniform(0.9, 1.0)
        return connection

    def _drop(self, connection: _Connection) -> None:
        """Close a connection (without waiting: libpq says goodbye and closes the socket) and, if units are
        waiting, open another in its place."""
        self._retire_at.pop(connection, None)
        self._suspect.discard(connection)
        connection.pgconn.finish()
        if self._waiters and not self._closed and self.size < self._size:
            task = asyncio.get_running_loop().create_task(self._replace())
            self._replacing.add(task)
            task.add_done_callback(self._replacing.discard)

    async def _replace(self) -> None:
        try:
            connection = await self._connect()
        except Exception as error:
            self._fail_waiters(error, first_only=True)  # the database is unreachable: say so, don't hang
            return
        self.putconn(connection)

    def _fail_waiters(self, error: Exception, *, first_only: bool = False) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(error)
                if first_only:
                    return
