"""Builds the discovery service from configuration: which providers, one HTTP client and limiter each.

It composes the metadata layer below into the discovery service, so it lives with the services; it takes
the running program's infrastructure by shape (settings, database, Redis), not by importing the runtime
above it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Protocol

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


def _upstream(service: str, base_url: str, timeout: float, rate: float) -> Upstream:
    return Upstream(service=service, base_url=base_url, limiter=RateLimiter(rate), timeout=timeout)


@asynccontextmanager
async def open_discovery(runtime: Infrastructure) -> AsyncIterator[DiscoveryService]:
    settings = runtime.settings
    async with AsyncExitStack() as stack:
        providers: list[MetadataProvider] = []
        seasons_from: TitleSource | None = None
        if settings.tmdb.configured:
            upstream = await stack.enter_async_context(
                _upstream("TMDB", settings.tmdb.base_url, settings.tmdb.timeout, settings.tmdb.rate_limit)
            )
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
            tvdb_upstream = await stack.enter_async_context(
                _upstream("TheTVDB", settings.tvdb.base_url, settings.tvdb.timeout, settings.tvdb.rate_limit)
            )
            tvdb = TvdbProvider(
                tvdb_upstream,
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
        stack.push_async_callback(cache.close)  # new pages written behind reach the table before the exit
        yield DiscoveryService(
            providers=providers,
            cache=cache,
            database=runtime.database,
            ttl=settings.cache,
            search_also=search_also,
            seasons_from=seasons_from,
        )
