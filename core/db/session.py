"""The engine and units of work: one AsyncSession per use case, committed or rolled back as a whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from core.dburl import DatabaseUrl

__all__ = ["Database"]


class Database:
    def __init__(self, *, url: DatabaseUrl, pool_size: int = 10, connect_timeout: float = 5.0, echo: bool = False):
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url.sqlalchemy,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            echo=echo,
            connect_args={"connect_timeout": max(1, round(connect_timeout)), "application_name": "idkarr"},
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends normally, rolls back on any exception."""
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read-only session (nothing is committed)."""
        async with self._sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
