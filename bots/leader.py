"""One receiver per bot across every idkarr process, by a PostgreSQL advisory lock.

Telegram allows a single getUpdates caller per token (a second gets 409 Conflict); Discord would hand every
gateway connection of a bot the same events, so two processes connected would each answer them. The
processes sharing a database therefore take turns, one lock per platform.

The lock is held on a connection of its own for as long as the process polls; if the process dies its
connection closes, the lock goes with it, and a standby process takes over within `retry_seconds`. Every
process still sends (notifications through the outbox): only receiving updates is one process's job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

import psycopg

from core.dburl import DatabaseUrl

__all__ = ["DISCORD_GATEWAY", "TELEGRAM_POLLER", "LeaderLock"]

log = logging.getLogger(__name__)

# Constants rather than hashtext(...) keep the locks readable in pg_locks.
TELEGRAM_POLLER = 0x1D4A_7E1E
DISCORD_GATEWAY = 0x1D4A_D15C


class LeaderLock:
    def __init__(self, url: DatabaseUrl, key: int, *, name: str, retry_seconds: float = 5.0) -> None:
        self._url = url
        self._key = key
        self._name = name
        self._retry = retry_seconds
        self._connection: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def run(self, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]) -> None:
        """Take the lock when it is free, then `start` receiving; if the lock's connection is lost, `stop` and
        contend again. Runs until cancelled."""
        try:
            while True:
                if not await self._acquire():
                    await asyncio.sleep(self._retry)
                    continue
                log.info("event=leader_here role=%s", self._name)
                await start()
                try:
                    await self._hold()
                finally:
                    await stop()
                    await self._release()
        finally:
            await self._release()

    async def _acquire(self) -> bool:
        try:
            self._connection = await psycopg.AsyncConnection.connect(self._url.libpq, autocommit=True)
            cursor = await self._connection.execute("SELECT pg_try_advisory_lock(%s)", (self._key,))
            row = await cursor.fetchone()
        except psycopg.Error as error:
            log.warning("event=leader_lock_failed role=%s error=%s", self._name, type(error).__name__)
            await self._release()
            return False
        if not (row and row[0]):
            await self._release()
            return False
        return True

    async def _hold(self) -> None:
        """Until the lock's connection fails (the database restarted, the network went away)."""
        assert self._connection is not None
        while True:
            await asyncio.sleep(self._retry)
            try:
                await self._connection.execute("SELECT 1")
            except psycopg.Error:
                log.warning("event=leader_lock_lost role=%s", self._name)
                return

    async def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(psycopg.Error):
                await connection.close()
