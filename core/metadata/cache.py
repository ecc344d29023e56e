"""Shared page cache: Redis is the hot copy, the discovery_cache table keeps pages across restarts.

Whole pages are cached under one key each (never one key per item). An entry stays readable past its
expiry, for `keep_stale` more, so a page can be served marked stale while its upstream is down. Redis
failing is never fatal: the table alone still answers.

A new page is written behind: the caller has it at once (this process keeps it), and it goes to Redis and
then to the table with the others of the moment. Under load the two writes were two thirds of a title
lookup's wait, for copies nobody was waiting to read. Until they land, this process's own copy is the only
one: past its freshness it is still served stale when Redis and the table have nothing (an upstream
failing just after the page was fetched).

Redis holding a page the table has is the rule, not a promise: Redis may have restarted empty. A key in
Redis (`@whole`) says it holds every page the table still keeps; while it is there, a page Redis lacks is
new to idkarr and the table is not asked. It is set by whichever process first finds it missing, once that
process has copied the table's live pages into Redis, and dropped by a process whose writes to Redis failed
(the table got pages Redis did not). A page Redis evicted under a memory limit costs one fetch again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import redis.asyncio as aioredis
from sqlalchemy import String, any_, bindparam, delete, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from core.batches import Batches
from core.db import jsonb
from core.db.models import DiscoveryCacheEntry
from core.db.prepared import Prepared, together
from core.db.session import Database

__all__ = ["CachedValue", "PageCache"]

log = logging.getLogger(__name__)

_LOCAL_PAGES = 256
# After Redis fails, it is left alone this long: the table answers meanwhile, without each call first
# waiting for Redis to refuse it.
_REDIS_PAUSE = 15.0
# Pages waiting to be written past which a new page waits for its write: a table that cannot keep up slows
# lookups down rather than filling the memory.
_BACKLOG = 1000
_COPY_ROWS = 500  # table rows copied into Redis per round trip when it is made whole again
_COPY_LEASE = 60  # seconds a process copying the table keeps others from doing the same; renewed per step
_COPY_AGAIN = 30.0  # seconds before a process tries again to copy, once it tried (or another process was)
# Sets @whole only if the copying process still holds its lease: a Redis that restarted mid-copy has
# neither, and stays marked not whole.
_CLAIM_WHOLE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('set', KEYS[2], '1')
  redis.call('del', KEYS[1])
  return 1
end
return 0
"""

# Cache misses and new pages of one moment each go to the table as one statement (see core.batches).
_READ = Prepared(
    select(DiscoveryCacheEntry.cache_key, DiscoveryCacheEntry.items, DiscoveryCacheEntry.expires_at).where(
        DiscoveryCacheEntry.cache_key == any_(bindparam("keys", type_=ARRAY(String)))
    )
)
_LIVE = Prepared(
    select(DiscoveryCacheEntry.cache_key, DiscoveryCacheEntry.items, DiscoveryCacheEntry.expires_at)
    .where(DiscoveryCacheEntry.cache_key > bindparam("after"), DiscoveryCacheEntry.expires_at > bindparam("cutoff"))
    .order_by(DiscoveryCacheEntry.cache_key)
    .limit(_COPY_ROWS)
)
_STORE = Prepared(
    text(
        "INSERT INTO discovery_cache (cache_key, kind, items, fetched_at, expires_at)"
        " SELECT cache_key, kind, items, fetched_at, expires_at FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
        " AS r(cache_key varchar, kind varchar, items jsonb, fetched_at timestamptz, expires_at timestamptz)"
        " ON CONFLICT (cache_key) DO UPDATE SET items = excluded.items, fetched_at = excluded.fetched_at,"
        " expires_at = excluded.expires_at, kind = excluded.kind"
    )
)


class _Stored(NamedTuple):
    items: Any
    expires_at: datetime


_InRedis = tuple[bytes | str | None, bytes | str | None]  # a page as Redis has it (or None), and @whole


class _NewPage(NamedTuple):
    row: dict[str, Any]  # as the table takes it
    data: Any
    expires_at: float


@dataclass(frozen=True, slots=True)
class CachedValue:
    data: Any
    fresh: bool


class PageCache:
    def __init__(
        self,
        *,
        redis: aioredis.Redis,
        database: Database,
        prefix: str = "idkarr:",
        keep_stale: float = 7 * 86400,
        clock: Callable[[], float] = time.time,
        redis_pause: float = _REDIS_PAUSE,
    ) -> None:
        self._redis = redis
        self._redis_pause = redis_pause
        self._database = database
        self._prefix = f"{prefix}page:"
        self._whole_key = f"{prefix}page:@whole"
        self._copying_key = f"{prefix}page:@copying"
        self._keep_stale = keep_stale
        self._clock = clock
        # Fresh pages this process read lately, parsed: a popular page is read by every caller, and a Redis
        # round trip and a parse each time were most of an API call's cost. Each leaves at its expiry, as
        # it would from Redis.
        self._local: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._redis_back_at = 0.0  # time.monotonic() when Redis is tried again
        self._redis_missed = False  # a write to Redis failed: @whole may no longer be true
        self._copy: asyncio.Task[bool] | None = None
        self._copy_tried_at = -_COPY_AGAIN
        # The table is asked for the misses of one moment together, and given its new pages together (see
        # core.batches); new pages go to Redis together too, and the lookups of one moment ask Redis together.
        self._reads: Batches[str, None, _Stored] = Batches(self._read_rows)
        self._from_redis: Batches[str, None, _InRedis] = Batches(self._redis_pages)
        self._writes: Batches[str, _NewPage, None] = Batches(self._write_pages)

    def _remember(self, key: str, data: Any, expires_at: float) -> None:
        self._local[key] = (expires_at, data)
        self._local.move_to_end(key)
        if len(self._local) > _LOCAL_PAGES:
            self._local.popitem(last=False)

    def local(self, key: str) -> CachedValue | None:
        """A fresh value this process holds, without asking Redis or the table."""
        found = self._local.get(key)
        return CachedValue(found[1], True) if found is not None and found[0] > self._clock() else None

    async def get(self, key: str) -> CachedValue | None:
        """The cached value, if any: from this process, Redis, or the table."""
        now = self._clock()
        local = self._local.get(key)
        held = None  # this process's copy past its freshness: what Redis and the table may not have yet
        if local is not None:
            if local[0] > now:
                self._local.move_to_end(key)
                return CachedValue(local[1], True)
            if local[0] + self._keep_stale >= now:
                held = CachedValue(local[1], False)
            else:
                del self._local[key]
        raw, whole = None, None
        if self._redis_usable() and await self._whole_still_true():
            try:
                raw, whole = await self._from_redis(key, None) or (None, None)
            except aioredis.RedisError as error:
                self._redis_failed(error)
            else:
                if whole is None:
                    self._copy_soon()
        if raw is not None:
            entry = jsonb.loads(raw)
            fresh = entry["expires_at"] > now
            if fresh:
                self._remember(key, entry["data"], entry["expires_at"])
            return CachedValue(entry["data"], fresh)
        if whole is not None:
            return held  # Redis holds whatever the table does: the table would not have it either
        row = await self._reads(key, None)
        if row is None:
            return held  # its writes still waiting, or failed
        expires_at = row.expires_at.timestamp()
        if expires_at + self._keep_stale < now:
            return held
        await self._to_redis([(key, row.items, expires_at)])  # Redis was not marked whole: it may lack more
        return CachedValue(row.items, expires_at > now)

    async def put(self, key: str, kind: str, data: Any, ttl: float) -> None:
        now = self._clock()
        expires_at = now + ttl
        self._remember(key, data, expires_at)
        row = {
            "cache_key": key,
            "kind": kind,
            "items": data,
            "fetched_at": datetime.fromtimestamp(now, UTC).isoformat(),
            "expires_at": datetime.fromtimestamp(expires_at, UTC).isoformat(),
        }
        page = _NewPage(row, data, expires_at)
        if self._writes.backlog < _BACKLOG:
            self._writes.later(key, page)
        else:
            await self._writes(key, page)

    async def settled(self) -> None:
        """Wait until every page put so far is in Redis and the table (as a process does before it exits)."""
        await self._writes.settled()

    async def close(self) -> None:
        """Finish the pages' writes; stop copying the table into Redis (another process will)."""
        await self.settled()
        if self._copy is not None:
            self._copy.cancel()

    async def made_whole(self) -> bool:
        """Copy the table's live pages into Redis and mark it whole; False if another process is doing it
        or Redis failed. `get` starts one in the background when it finds Redis not marked whole."""
        return await asyncio.shield(self._copying())

    def _copy_soon(self) -> None:
        if time.monotonic() - self._copy_tried_at >= _COPY_AGAIN:
            self._copying()

    def _copying(self) -> asyncio.Task[bool]:
        """This process's copy of the table into Redis: the one under way, else a new one."""
        if self._copy is None or self._copy.done():
            self._copy = asyncio.create_task(self._copy_table())
        return self._copy

    async def _copy_table(self) -> bool:
        self._copy_tried_at = time.monotonic()
        token = secrets.token_hex(8)
        try:
            if not await self._redis.set(self._copying_key, token, nx=True, ex=_COPY_LEASE):
                return False
            after = ""
            while True:
                cutoff = datetime.fromtimestamp(self._clock() - self._keep_stale, UTC)
                async with self._database.reads() as unit:
                    rows = await _LIVE.rows(unit, after=after, cutoff=cutoff)
                if not rows:
                    break
                # A page written meanwhile is newer than the table's copy read here: it is kept.
                pages = [(row.cache_key, row.items, row.expires_at.timestamp()) for row in rows]
                if not await self._to_redis(pages, keep_newer=True):
                    return False
                await self._redis.expire(self._copying_key, _COPY_LEASE)
                after = rows[-1].cache_key
            claimed = await self._redis.eval(_CLAIM_WHOLE, 2, self._copying_key, self._whole_key, token)
            log.info("event=cache_redis_made_whole claimed=%s", bool(claimed))
            return bool(claimed)
        except aioredis.RedisError as error:
            self._redis_failed(error)
            return False
        except Exception:
            log.exception("event=cache_copy_failed")
            return False

    async def _whole_still_true(self) -> bool:
        """After a failed write to Redis, drop @whole before trusting Redis again; False while that fails."""
        if not self._redis_missed:
            return True
        try:
            await self._redis.delete(self._whole_key)
        except aioredis.RedisError as error:
            self._redis_failed(error)
            return False
        self._redis_missed = False
        return True

    async def _redis_pages(self, keys: dict[str, None]) -> dict[str, _InRedis]:
        """Each page Redis has of `keys`, with @whole, in one MGET: (page or None, @whole or None)."""
        *pages, whole = await self._redis.mget(*(self._prefix + key for key in keys), self._whole_key)
        return {key: (page, whole) for key, page in zip(keys, pages, strict=True)}

    async def _read_rows(self, keys: dict[str, None]) -> dict[str, _Stored]:
        async with self._database.reads() as unit:
            found = await _READ.rows(unit, keys=list(keys))
        return {row.cache_key: _Stored(row.items, row.expires_at) for row in found}

    async def _write_pages(self, pages: dict[str, _NewPage]) -> dict[str, None]:
        # Redis first: a table row Redis lacks must never sit under @whole (see the module's docstring).
        if not await self._to_redis([(key, page.data, page.expires_at) for key, page in pages.items()]):
            self._redis_missed = True
        rows = [page.row for page in pages.values()]
        async with self._database.unit() as unit:
            await together(unit, (_STORE, {"rows": jsonb.dumps_text(rows)}), last=True)
        return {}

    async def _to_redis(self, pages: list[tuple[str, Any, float]], *, keep_newer: bool = False) -> bool:
        """(key, data, expires_at) pages into Redis in one round trip, `keep_newer` leaving any page Redis
        already has; False, never an error, when Redis is away or failed."""
        if not self._redis_usable():
            return False
        pipeline = self._redis.pipeline(transaction=False)
        for key, data, expires_at in pages:
            pipeline.set(self._prefix + key, _entry(data, expires_at), ex=self._lifetime(expires_at), nx=keep_newer)
        try:
            await pipeline.execute()
        except aioredis.RedisError as error:
            self._redis_failed(error)
            return False
        return True

    def _lifetime(self, expires_at: float) -> int:
        """Seconds Redis keeps a page: to the end of its stale window, as the table does."""
        return max(1, round(expires_at + self._keep_stale - self._clock()))

    def _redis_usable(self) -> bool:
        return time.monotonic() >= self._redis_back_at

    def _redis_failed(self, error: Exception) -> None:
        if self._redis_usable():  # once per pause, however many calls the failure reached
            log.warning(
                "event=cache_redis_unavailable error=%s retry_in_seconds=%.0f",
                type(error).__name__,
                self._redis_pause,
            )
        self._redis_back_at = time.monotonic() + self._redis_pause

    async def purge_expired(self) -> int:
        """Drop table rows past their stale window (Redis expires its own)."""
        cutoff = datetime.fromtimestamp(self._clock() - self._keep_stale, UTC)
        async with self._database.transaction() as session:
            result = await session.execute(delete(DiscoveryCacheEntry).where(DiscoveryCacheEntry.expires_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)


def _entry(data: Any, expires_at: float) -> bytes:
    """A page as Redis keeps it."""
    return jsonb.dumps({"data": data, "expires_at": expires_at})
