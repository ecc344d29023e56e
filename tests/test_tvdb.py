"""TheTVDB client against a fake TheTVDB: tokens, search, season orderings, and its place in discovery."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import redis.asyncio as aioredis

from core.db.session import Database
from core.enums import ContentType
from core.metadata.provider import ExternalIds
from core.metadata.tvdb import TvdbProvider, token_expiry
from core.ratelimit import RateLimiter
from core.upstream import Upstream
from core.upstream_errors import UpstreamAuthFailed

from .fake_tmdb import serve_tmdb
from .fake_tvdb import API_KEY, TOKEN_LIFETIME, FakeTvdb, make_token, serve_tvdb
from .metadata_helpers import FAST_RETRY, discovery_service, tmdb_provider


@asynccontextmanager
async def tvdb_provider(
    fake: FakeTvdb, *, api_key: str = API_KEY, clock: list[float] | None = None
) -> AsyncIterator[TvdbProvider]:
    now = clock if clock is not None else [time.time()]
    async with Upstream(
        service="TheTVDB", base_url=fake.base_url, limiter=RateLimiter(100), timeout=2, retry=FAST_RETRY
    ) as upstream:
        yield TvdbProvider(upstream, api_key=api_key, clock=lambda: now[0])


def test_token_expiry_is_read_from_the_jwt() -> None:
    assert token_expiry(make_token(1, 1_900_000_000)) == 1_900_000_000
    assert token_expiry("not-a-jwt") is None


async def test_one_login_serves_many_calls_and_is_renewed_before_expiry() -> None:
    now = [time.time()]
    async with serve_tvdb() as fake, tvdb_provider(fake, clock=now) as tvdb:
        await tvdb.search("breaking", None, page=1, year=None, language="en-US")
        await tvdb.details(ContentType.SERIES, ExternalIds(tvdb_id=81189), language="en-US")
        assert fake.logins == 1
        now[0] += TOKEN_LIFETIME - 1800  # half an hour before the token runs out
        await tvdb.search("attack", None, page=1, year=None, language="en-US")
        assert fake.logins == 2


async def test_a_rejected_token_is_replaced_once() -> None:
    async with serve_tvdb() as fake, tvdb_provider(fake) as tvdb:
        await tvdb.search("breaking", None, page=1, year=None, language="en-US")
        fake.revoke_tokens()
        page = await tvdb.search("breaking", None, page=1, year=None, language="en-US")
        assert [t.title for t in page.items] == ["Breaking Bad"]
        assert fake.logins == 2


async def test_a_wrong_key_is_reported_without_looping() -> None:
    async with serve_tvdb() as fake, tvdb_provider(fake, api_key="wrong") as tvdb:
        with pytest.raises(UpstreamAuthFailed, match="TheTVDB refused"):
            await tvdb.search("breaking", None, page=1, year=None, language="en-US")
    assert fake.calls["login"] == 1


async def test_search_tells_anime_apart_and_carries_remote_ids() -> None:
    async with serve_tvdb() as fake, tvdb_provider(fake) as tvdb:
        anime = await tvdb.search("attack", ContentType.ANIME, page=1, year=None, language="en-US")
        series = await tvdb.search("attack", ContentType.SERIES, page=1, year=None, language="en-US")
    assert series.items == ()
    titan = anime.items[0]
    assert (titan.tvdb_id, titan.tmdb_id, titan.imdb_id, titan.type) == (267440, 1429, "tt2560140", ContentType.ANIME)


async def test_seasons_follow_the_official_order_and_other_orders_are_available() -> None:
    async with serve_tvdb() as fake, tvdb_provider(fake) as tvdb:
        details = await tvdb.details(ContentType.SERIES, ExternalIds(tvdb_id=81189), language="en-US")
        dvd = await tvdb.episode_counts(267440, "dvd")
        by_imdb = await tvdb.resolve(ExternalIds(imdb_id="tt2560140"))
    assert [(s.season_number, s.episode_count) for s in details.seasons] == [
        (0, 9),
        (1, 7),
        (2, 13),
        (3, 13),
        (4, 13),
        (5, 16),
    ]
    assert details.title.imdb_id == "tt0903747"
    assert dvd == {1: 13, 2: 12, 3: 12, 4: 12, 5: 22, 6: 16, 7: 14}  # read across several pages
    assert fake.calls["series/267440/episodes/dvd"] == 3
    assert by_imdb is not None
    assert by_imdb.tvdb_id == 267440


async def test_where_tmdb_and_tvdb_disagree_the_tvdb_seasons_are_offered(
    db: Database, redis_client: aioredis.Redis
) -> None:
    async with (
        serve_tmdb() as tmdb_fake,
        serve_tvdb() as tvdb_fake,
        tmdb_provider(tmdb_fake) as tmdb,
        tvdb_provider(tvdb_fake) as tvdb,
    ):
        service = discovery_service(db, redis_client, tmdb, seasons_from=tvdb)
        view = await service.title(ContentType.ANIME, ExternalIds(tmdb_id=1429))
    data = view.to_json()
    assert data["season_source"] == "thetvdb"
    assert [(s["season_number"], s["episode_count"]) for s in data["seasons"]] == [(1, 25), (2, 12), (3, 22), (4, 30)]
    assert data["tvdb_id"] == 267440


async def test_tvdb_results_join_searches_without_duplicates(db: Database, redis_client: aioredis.Redis) -> None:
    async with (
        serve_tmdb() as tmdb_fake,
        serve_tvdb() as tvdb_fake,
        tmdb_provider(tmdb_fake) as tmdb,
        tvdb_provider(tvdb_fake) as tvdb,
    ):
        service = discovery_service(db, redis_client, tmdb, search_also=[tvdb])
        page = await service.search("breaking bad")
    assert [(i.title.title, i.title.tmdb_id, i.title.tvdb_id) for i in page.items] == [("Breaking Bad", 1396, 81189)]
