"""core.metadata.cache on real PostgreSQL and Redis: pages written behind, and the table asked only when Redis
may lack what it has (Redis restarted, or a write to it failed)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis
from sqlalchemy import insert, text

from core.db.models import DiscoveryCacheEntry
from core.db.session import Database
from core.metadata.cache import CachedValue, PageCache
from core.runtime import redis_client as make_redis_client

PREFIX = "idkarr-test:"
WHOLE = f"{PREFIX}page:@whole"


def new_cache(db: Database, redis: aioredis.Redis, *, redis_pause: float = 15.0) -> PageCache:
    """A PageCache as one idkarr process has it."""
    return PageCache(redis=redis, database=db, prefix=PREFIX, redis_pause=redis_pause)


async def only_in_the_table(db: Database, key: str, data: object, expires_in: timedelta = timedelta(days=1)) -> None:
    """A page the table has and Redis does not (as after a Redis restart, or an eviction)."""
    now = datetime.now(UTC)
    async with db.transaction() as session:
        await session.execute(
            insert(DiscoveryCacheEntry).values(
                cache_key=key, kind="details", items=data, fetched_at=now, expires_at=now + expires_in
            )
        )


class RedisLine:
    """A TCP line on 127.0.0.1 to the real Redis that can be cut and mended: Redis going away and coming back
    for one process, without touching the Redis every test shares."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.up = True
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._open |= {writer, upstream_writer}
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    def cut(self) -> None:
        self.up = False
        for writer in self._open:
            writer.close()
        self._open.clear()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[RedisLine]:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            self.cut()
            self._server.close()


async def test_a_page_is_the_callers_at_once_and_in_redis_and_the_table_once_settled(
    db: Database, redis_client: aioredis.Redis
) -> None:
    cache = new_cache(db, redis_client)
    await cache.put("tmdb:details:movie:1", "details", {"title": "One"}, ttl=3600)
    assert await cache.get("tmdb:details:movie:1") == CachedValue({"title": "One"}, fresh=True)
    await cache.settled()
    assert await redis_client.exists(f"{PREFIX}page:tmdb:details:movie:1") == 1
    restarted = new_cache(db, redis_client)  # another process, Redis lost: the table has the page
    await redis_client.flushdb()
    assert await restarted.get("tmdb:details:movie:1") == CachedValue({"title": "One"}, fresh=True)


async def test_once_redis_holds_what_the_table_does_a_page_it_lacks_is_not_looked_for_in_the_table(
    db: Database, redis_client: aioredis.Redis
) -> None:
    cache = new_cache(db, redis_client)
    await cache.put("kept", "details", {"n": 1}, ttl=3600)
    await cache.settled()
    assert await cache.made_whole()
    assert await redis_client.get(WHOLE) is not None
    # A row Redis does not have while marked whole can only be one it evicted: not read, fetched again.
    await only_in_the_table(db, "evicted", {"n": 2})
    assert await cache.get("evicted") is None
    await redis_client.delete(WHOLE)  # no longer whole (a restart would drop it with everything else)
    assert await cache.get("evicted") == CachedValue({"n": 2}, fresh=True)


async def test_after_a_restart_redis_is_filled_from_the_table_with_the_live_pages_only(
    db: Database, redis_client: aioredis.Redis
) -> None:
    for n in range(3):
        await only_in_the_table(db, f"page:{n}", {"n": n})
    await only_in_the_table(db, "long-gone", {"n": 9}, expires_in=-timedelta(days=30))  # past its stale window
    cache = new_cache(db, redis_client)
    # Read from the table: Redis is not marked whole.
    assert await cache.get("page:0") == CachedValue({"n": 0}, fresh=True)
    assert await cache.made_whole()
    assert await redis_client.exists(*(f"{PREFIX}page:page:{n}" for n in range(3))) == 3
    assert await redis_client.exists(f"{PREFIX}page:long-gone") == 0
    assert await redis_client.get(WHOLE) is not None


async def test_one_process_copies_the_table_while_others_wait_for_it(
    db: Database, redis_client: aioredis.Redis
) -> None:
    for n in range(1200):  # more than one step of the copy
        await only_in_the_table(db, f"page:{n:04}", {"n": n})
    caches = [new_cache(db, redis_client) for _ in range(3)]
    copied = await asyncio.gather(*(cache.made_whole() for cache in caches))
    assert sorted(copied) == [False, False, True]
    assert len([key async for key in redis_client.scan_iter(match=f"{PREFIX}page:page:*")]) == 1200
    assert await redis_client.exists(f"{PREFIX}page:@copying") == 0


async def test_a_page_redis_missed_while_away_is_read_from_the_table_once_it_is_back(
    db: Database, redis_client: aioredis.Redis
) -> None:
    host = redis_client.connection_pool.connection_kwargs.get("host", "127.0.0.1")
    port = redis_client.connection_pool.connection_kwargs.get("port", 6379)
    async with RedisLine((host, port)).serving() as line:
        through_line = make_redis_client(f"redis://127.0.0.1:{line.port}/{_db_number(redis_client)}")
        cache = new_cache(db, through_line, redis_pause=0.2)
        assert await cache.made_whole()
        line.cut()
        await cache.put("written-while-away", "details", {"n": 7}, ttl=3600)
        await cache.settled()  # the table has it; Redis could not be told
        line.up = True
        await asyncio.sleep(0.3)  # the cache leaves Redis alone this long after a failure
        assert await cache.get("anything") is None  # its first call with Redis back drops @whole
        assert await redis_client.get(WHOLE) is None
        other = new_cache(db, redis_client)  # another process, which never had the page
        assert await other.get("written-while-away") == CachedValue({"n": 7}, fresh=True)
        await through_line.aclose()


async def test_a_page_past_its_freshness_is_served_stale_by_its_process_while_its_writes_wait(
    db: Database, redis_client: aioredis.Redis
) -> None:
    # The upstream failing just after a page was fetched: this process still has the page, though neither
    # Redis (away) nor the table (its write waits behind a lock) has it yet.
    host = redis_client.connection_pool.connection_kwargs.get("host", "127.0.0.1")
    port = redis_client.connection_pool.connection_kwargs.get("port", 6379)
    now = [time.time()]
    async with RedisLine((host, port)).serving() as line:
        through_line = make_redis_client(f"redis://127.0.0.1:{line.port}/{_db_number(redis_client)}")
        cache = PageCache(redis=through_line, database=db, prefix=PREFIX, clock=lambda: now[0])
        line.cut()
        async with db.transaction() as session:
            await session.execute(text("LOCK TABLE discovery_cache IN EXCLUSIVE MODE"))  # reads still pass
            await cache.put("slow-to-write", "details", {"n": 1}, ttl=60)
            now[0] += 120
            for _ in range(2):  # as long as it stays within its stale window
                assert await cache.get("slow-to-write") == CachedValue({"n": 1}, fresh=False)
            now[0] += 8 * 86400  # past the stale window as well: gone
            assert await cache.get("slow-to-write") is None
        await cache.settled()
        await through_line.aclose()


def _db_number(client: aioredis.Redis) -> int:
    return int(client.connection_pool.connection_kwargs.get("db", 0))


async def test_lookups_of_one_moment_share_one_redis_read_each_with_its_own_answer(
    db: Database, redis_client: aioredis.Redis
) -> None:
    writer = new_cache(db, redis_client)
    for n in range(5):
        await writer.put(f"shared:{n}", "details", {"n": n}, ttl=3600)
    await writer.settled()
    assert await writer.made_whole()
    reader = new_cache(db, redis_client)  # another process: nothing of its own yet
    before = await _mget_calls(redis_client)
    keys = [f"shared:{n}" for n in range(5)] + ["shared:1", "never-cached"]
    found = await asyncio.gather(*(reader.get(key) for key in keys))
    assert found == [CachedValue({"n": n}, fresh=True) for n in (0, 1, 2, 3, 4, 1)] + [None]
    # Made before any was sent, they go together: one MGET, a key asked twice asked once.
    assert await _mget_calls(redis_client) - before == 1


async def test_a_redis_read_that_fails_fails_every_lookup_of_its_moment_to_the_table(
    db: Database, redis_client: aioredis.Redis
) -> None:
    for n in range(3):
        await only_in_the_table(db, f"kept:{n}", {"n": n})
    host = redis_client.connection_pool.connection_kwargs.get("host", "127.0.0.1")
    port = redis_client.connection_pool.connection_kwargs.get("port", 6379)
    async with RedisLine((host, port)).serving() as line:
        through_line = make_redis_client(f"redis://127.0.0.1:{line.port}/{_db_number(redis_client)}")
        cache = new_cache(db, through_line)
        line.cut()
        found = await asyncio.gather(*(cache.get(f"kept:{n}") for n in range(3)))
        assert found == [CachedValue({"n": n}, fresh=True) for n in range(3)]
        await through_line.aclose()


async def _mget_calls(client: aioredis.Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_mget", {}).get("calls", 0))
