"""The pool of plain psycopg connections behind `Database.unit()`, the lean unit of work of the hot paths.

Connections are checked only after sitting idle, as the ORM's pool does (core.db.session): an idle one may
have outlived a database restart; one used a moment ago has just proved itself.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from core.db import jsonb
from core.dburl import DatabaseUrl

__all__ = ["HotPool"]


class HotPool:
    def __init__(
        self, url: DatabaseUrl, *, name: str, size: int, connect_timeout: float, ping_idle_after: float
    ) -> None:
        self._ping_idle_after = ping_idle_after
        self._idle_since: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            url.libpq,
            min_size=1,
            max_size=size,
            kwargs={
                "connect_timeout": max(1, round(connect_timeout)),
                "application_name": "idkarr",
                "context": jsonb.adapters(),
                # Statements are prepared by core.db.wire under its own names; psycopg preparing its own would
                # make it send DEALLOCATE ALL at each ROLLBACK, dropping those too.
                "prepare_threshold": None,
            },
            check=self._check,
            open=False,
            name=name,
        )
        self._connect_timeout = connect_timeout

    async def open(self) -> None:
        """Open the pool and its first connection, so a database that cannot be reached is reported here."""
        await self._pool.open(wait=True, timeout=self._connect_timeout)

    async def close(self) -> None:
        await self._pool.close()

    async def getconn(self) -> AsyncConnection[Any]:
        return await self._pool.getconn()

    async def putconn(self, connection: AsyncConnection[Any]) -> None:
        # Stamped here rather than in a `reset` callback: with one, the pool hands every returned connection
        # to a worker task before anyone may have it again.
        self._idle_since[connection] = time.monotonic()
        await self._pool.putconn(connection)

    async def _check(self, connection: AsyncConnection[Any]) -> None:
        since = self._idle_since.get(connection)
        if since is not None and time.monotonic() - since >= self._ping_idle_after:
            # Raising makes the pool discard this connection and hand out another.
            await connection.execute("SELECT 1")
            await connection.commit()  # not a rollback: psycopg would forget its prepared statements
