"""Shared page cache: Redis is the hot copy, the discovery_cache table keeps pages across restarts.

Whole pages are cached under one key each (never one key per item). An entry stays readable past its
expiry, for `keep_stale` more, so a page can be served marked stale while its upstream is down. Redis
failing is never fatal: the table alone still answers.
"""

from __future__ import annotations

import logging
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

# Cache misses and new pages of one moment each go to the table as one statement (see core.batches).
_READ = Prepared(
    select(DiscoveryCacheEntry.cache_key, DiscoveryCacheEntry.items, DiscoveryCacheEntry.expires_at).where(
        DiscoveryCacheEntry.cache_key == any_(bindparam("keys", type_=ARRAY(String)))
    )
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
    ) -> None:
        self._redis = redis
        self._database = database
        self._prefix = f"{prefix}page:"
        self._keep_stale = keep_stale
        self._clock = clock
        # Fresh pages this process read lately, parsed: a popular page is read by every caller, and a Redis
        # round trip and a parse each time were most of an API call's cost. Each leaves at its expiry, as
        # it would from Redis.
        self._local: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._redis_back_at = 0.0  # time.monotonic() when Redis is tried again
        # The table is asked for the misses of one moment together, and given its new pages together (see
        # core.batches); done for Redis too, it saved nothing measurable.
        self._reads: Batches[str, None, _Stored] = Batches(self._read_rows)
        self._writes: Batches[str, dict[str, Any], None] = Batches(self._write_rows)

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
        if local is not None:
            if local[0] > now:
                self._local.move_to_end(key)
                return CachedValue(local[1], True)
            del self._local[key]
        raw = None
        if self._redis_usable():
            try:
                raw = await self._redis.get(self._prefix + key)
            except aioredis.RedisError as error:
                self._redis_failed(error)
        if raw is not None:
            entry = jsonb.loads(raw)
            fresh = entry["expires_at"] > now
            if fresh:
                self._remember(key, entry["data"], entry["expires_at"])
            return CachedValue(entry["data"], fresh)
        row = await self._reads(key, None)
        if row is None:
            return None
        expires_at = row.expires_at.timestamp()
        if expires_at + self._keep_stale < now:
            return None
        await self._to_redis(key, row.items, expires_at)
        return CachedValue(row.items, expires_at > now)

    async def put(self, key: str, kind: str, data: Any, ttl: float) -> None:
        now = self._clock()
        expires_at = now + ttl
        self._remember(key, data, expires_at)
        # Every title looked up for the first time is written here, with the others of the moment.
        row = {
            "cache_key": key,
            "kind": kind,
            "items": data,
            "fetched_at": datetime.fromtimestamp(now, UTC).isoformat(),
            "expires_at": datetime.fromtimestamp(expires_at, UTC).isoformat(),
        }
        await self._to_redis(key, data, expires_at)
        await self._writes(key, row)

    async def _read_rows(self, keys: dict[str, None]) -> dict[str, _Stored]:
        async with self._database.reads() as unit:
            found = await _READ.rows(unit, keys=list(keys))
        return {row.cache_key: _Stored(row.items, row.expires_at) for row in found}

    async def _write_rows(self, rows: dict[str, dict[str, Any]]) -> dict[str, None]:
        async with self._database.unit() as unit:
            await together(unit, (_STORE, {"rows": jsonb.dumps_text(list(rows.values()))}), last=True)
        return {}

    async def _to_redis(self, key: str, data: Any, expires_at: float) -> None:
        if not self._redis_usable():
            return
        lifetime = max(1, round(expires_at + self._keep_stale - self._clock()))
        payload = jsonb.dumps({"data": data, "expires_at": expires_at})
        try:
            await self._redis.set(self._prefix + key, payload, ex=lifetime)
        except aioredis.RedisError as error:
            self._redis_failed(error)

    def _redis_usable(self) -> bool:
        return time.monotonic() >= self._redis_back_at

    def _redis_failed(self, error: Exception) -> None:
        if self._redis_usable():  # once per pause, however many calls the failure reached
            log.warning(
                "event=cache_redis_unavailable error=%s retry_in_seconds=%.0f", type(error).__name__, _REDIS_PAUSE
            )
        self._redis_back_at = time.monotonic() + _REDIS_PAUSE

    async def purge_expired(self) -> int:
        """Drop table rows past their stale window (Redis expires its own)."""
        cutoff = datetime.fromtimestamp(self._clock() - self._keep_stale, UTC)
        async with self._database.transaction() as session:
            result = await session.execute(delete(DiscoveryCacheEntry).where(DiscoveryCacheEntry.expires_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
