"""Builds the discovery service from configuration: which providers, one HTTP client and limiter each.

It composes the metadata layer below into the discovery service, so it lives with the services; it takes
the running program's infrastructure by shape (settings, database, Redis), not by importing the runtime
above it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Protocol

import httpx
from redis.asyncio import Redis

from core.config import Settings
from core.db.session import Database
from core.metadata.cache import PageCache
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import MetadataProvider, TitleSource
from core.metadata.tmdb import TmdbProvider
from core.metadata.tvdb import TvdbProvider
from core.ratelimit import RateLimiter
from core.services.discovery import DiscoveryService
from core.upstream import Upstream

__all__ = ["Infrastructure", "describe_providers", "open_discovery"]


class Infrastructure(Protocol):
    """What discovery needs of a running idkarr (core.runtime.Runtime has it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def database(self) -> Database: ...
    @property
    def redis(self) -> Redis: ...


def describe_providers(settings: Settings) -> str:
    """What `idkarr doctor` reports as the active metadata source."""
    main = (
        f"TMDB at {settings.tmdb.base_url}" if settings.tmdb.configured else "offline catalog (no TMDB key configured)"
    )
    seasons = ", season lists from TheTVDB" if settings.tvdb.configured else ""
    return main + seasons


def _client(base_url: str, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        headers={"Accept": "application/json", "User-Agent": "idkarr"},
        follow_redirects=False,
    )


@asynccontextmanager
async def open_discovery(runtime: Infrastructure) -> AsyncIterator[DiscoveryService]:
    settings = runtime.settings
    async with AsyncExitStack() as stack:
        providers: list[MetadataProvider] = []
        seasons_from: TitleSource | None = None
        if settings.tmdb.configured:
            client = _client(settings.tmdb.base_url, settings.tmdb.timeout)
            stack.push_async_callback(client.aclose)
            upstream = Upstream(service="TMDB", client=client, limiter=RateLimiter(settings.tmdb.rate_limit))
            providers.append(
                TmdbProvider(
                    upstream,
                    api_key=settings.tmdb.api_key.get_secret_value() if settings.tmdb.api_key else None,
                    read_access_token=(
                        settings.tmdb.read_access_token.get_secret_value() if settings.tmdb.read_access_token else None
                    ),
                )
            )
        else:
            providers.append(OfflineCatalog())
        search_also: list[TitleSource] = []
        if settings.tvdb.configured and settings.tvdb.api_key is not None:
            client = _client(settings.tvdb.base_url, settings.tvdb.timeout)
            stack.push_async_callback(client.aclose)
            upstream = Upstream(service="TheTVDB", client=client, limiter=RateLimiter(settings.tvdb.rate_limit))
            tvdb = TvdbProvider(
                upstream,
                api_key=settings.tvdb.api_key.get_secret_value(),
                pin=settings.tvdb.pin.get_secret_value() if settings.tvdb.pin else None,
            )
            seasons_from = tvdb
            search_also.append(tvdb)
        cache = PageCache(
            redis=runtime.redis,
            database=runtime.database,
            prefix=settings.redis.key_prefix,
            keep_stale=settings.cache.keep_stale_days * 86400,
        )
        yield DiscoveryService(
            providers=providers,
            cache=cache,
            database=runtime.database,
            ttl=settings.cache,
            search_also=search_also,
            seasons_from=seasons_from,
        )
