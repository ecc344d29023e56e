"""Wiring the real metadata stack (HTTP client, limiter, provider, cache, service) to fakes for tests."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from core.config import CacheSettings
from core.db.session import Database
from core.metadata.cache import PageCache
from core.metadata.provider import MetadataProvider, TitleSource
from core.metadata.tmdb import TmdbProvider
from core.ratelimit import RateLimiter
from core.services.discovery import DiscoveryService
from core.upstream import RetryPolicy, Upstream

from .fake_tmdb import API_KEY, FakeTmdb

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=5)


@asynccontextmanager
async def tmdb_provider(
    fake: FakeTmdb,
    *,
    client_timeout: float = 1.0,
    rate: float = 1000,
    retry: RetryPolicy = FAST_RETRY,
    max_body_bytes: int = 8 * 2**20,
) -> AsyncIterator[TmdbProvider]:
    async with Upstream(
        service="TMDB",
        base_url=fake.base_url,
        limiter=RateLimiter(rate),
        timeout=client_timeout,
        retry=retry,
        max_body_bytes=max_body_bytes,
    ) as upstream:
        yield TmdbProvider(upstream, api_key=API_KEY)


def discovery_service(
    db: Database,
    redis_client: aioredis.Redis,
    *providers: MetadataProvider,
    ttl: CacheSettings | None = None,
    seasons_from: TitleSource | None = None,
    search_also: Sequence[TitleSource] = (),
    clock: Callable[[], float] = time.time,
) -> DiscoveryService:
    cache = PageCache(redis=redis_client, database=db, prefix="idkarr-test:", clock=clock)
    return DiscoveryService(
        providers=list(providers),
        cache=cache,
        database=db,
        ttl=ttl or CacheSettings(),
        seasons_from=seasons_from,
        search_also=search_also,
    )
