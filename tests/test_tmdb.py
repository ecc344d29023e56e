"""The TMDB client against a fake TMDB speaking the documented payloads."""

from __future__ import annotations

import pytest

from core.enums import ContentType, DiscoveryKind
from core.metadata.provider import ExternalIds
from core.metadata.tmdb import TmdbProvider, is_anime
from core.metadata.types import DiscoverQuery
from core.ratelimit import RateLimiter
from core.upstream import Upstream
from core.upstream_errors import UpstreamAuthFailed, UpstreamNotFound

from .fake_tmdb import READ_TOKEN, serve_tmdb
from .metadata_helpers import tmdb_provider


async def test_search_everything_finds_films_and_shows_with_genres_and_posters() -> None:
    async with serve_tmdb() as fake, tmdb_provider(fake) as tmdb:
        page = await tmdb.search("matrix", None, page=1, year=None, language="en-US")
    titles = {t.title: t for t in page.items}
    assert set(titles) == {"The Matrix", "The Matrix Reloaded"}
    matrix = titles["The Matrix"]
    assert (matrix.type, matrix.tmdb_id, matrix.year) == (ContentType.MOVIE, 603, 1999)
    assert matrix.genres == ("Action", "Science Fiction")
    assert matrix.poster == "https://image.tmdb.org/t/p/w500/poster603.jpg"


async def test_anime_is_told_apart_from_series() -> None:
    async with serve_tmdb() as fake, tmdb_provider(fake) as tmdb:
        series = await tmdb.discover(DiscoveryKind.POPULAR, ContentType.SERIES, page=1, query=DiscoverQuery())
        anime = await tmdb.discover(DiscoveryKind.POPULAR, ContentType.ANIME, page=1, query=DiscoverQuery())
        everything = await tmdb.discover(DiscoveryKind.TRENDING, None, page=1, query=DiscoverQuery())
    assert [t.title for t in series.items] == ["Breaking Bad"]
    assert [t.title for t in anime.items] == ["Attack on Titan"]  # the keyword-tagged list TMDB serves
    types = {t.title: t.type for t in everything.items}
    assert types["Cowboy Bebop"] == ContentType.ANIME  # animation from Japan, even without the keyword
    assert types["Breaking Bad"] == ContentType.SERIES
    assert types["The Matrix"] == ContentType.MOVIE
    assert fake.calls["discover/tv"] == 1


def test_anime_rule() -> None:
    assert is_anime({"genre_ids": [16], "original_language": "ja"})
    assert is_anime({"genre_ids": [18]}, keyword_ids={210024})
    assert not is_anime({"genre_ids": [16], "original_language": "en", "origin_country": ["US"]})


async def test_details_carry_external_ids_seasons_and_keywords() -> None:
    async with serve_tmdb() as fake, tmdb_provider(fake) as tmdb:
        show = await tmdb.details(ContentType.SERIES, ExternalIds(tmdb_id=1396), language="en-US")
        titan = await tmdb.details(ContentType.ANIME, ExternalIds(tmdb_id=1429), language="en-US")
        film = await tmdb.details(ContentType.MOVIE, ExternalIds(tmdb_id=550), language="en-US")
    assert (show.title.tvdb_id, show.title.imdb_id) == (81189, "tt0903747")
    assert [(s.season_number, s.episode_count) for s in show.seasons] == [
        (0, 9),
        (1, 7),
        (2, 13),
        (3, 13),
        (4, 13),
        (5, 16),
    ]
    assert titan.title.type == ContentType.ANIME
    assert film.title.imdb_id == "tt0137523"
    assert film.seasons == ()


async def test_external_ids_resolve_through_find() -> None:
    async with serve_tmdb() as fake, tmdb_provider(fake) as tmdb:
        by_imdb = await tmdb.resolve(ExternalIds(imdb_id="tt0137523"))
        by_tvdb = await tmdb.resolve(ExternalIds(tvdb_id=81189))
        unknown = await tmdb.resolve(ExternalIds(imdb_id="tt0000001"))
        details = await tmdb.details(ContentType.SERIES, ExternalIds(tvdb_id=81189), language="en-US")
    assert by_imdb is not None
    assert (by_imdb.tmdb_id, by_imdb.type) == (550, ContentType.MOVIE)
    assert by_tvdb is not None
    assert (by_tvdb.tmdb_id, by_tvdb.tvdb_id) == (1396, 81189)
    assert unknown is None
    assert details.title.title == "Breaking Bad"


async def test_similar_and_recommended_and_unknown_ids() -> None:
    async with serve_tmdb() as fake, tmdb_provider(fake) as tmdb:
        similar = await tmdb.related(
            DiscoveryKind.SIMILAR, ContentType.MOVIE, ExternalIds(tmdb_id=603), page=1, language="en-US"
        )
        with pytest.raises(UpstreamNotFound):
            await tmdb.details(ContentType.MOVIE, ExternalIds(tmdb_id=424242), language="en-US")
    assert [t.title for t in similar.items] == ["The Matrix Reloaded"]
    assert fake.calls["movie/603/similar"] == 1


async def test_read_access_token_is_sent_as_bearer_and_a_bad_key_is_refused() -> None:
    async with (
        serve_tmdb() as fake,
        Upstream(service="TMDB", base_url=fake.base_url, limiter=RateLimiter(100)) as upstream,
    ):
        with_token = TmdbProvider(upstream, read_access_token=READ_TOKEN)
        page = await with_token.search("fight", ContentType.MOVIE, page=1, year=1999, language="en-US")
        assert [t.title for t in page.items] == ["Fight Club"]
        wrong = TmdbProvider(upstream, api_key="not-the-key")
        with pytest.raises(UpstreamAuthFailed, match="refused idkarr's credentials"):
            await wrong.search("fight", None, page=1, year=None, language="en-US")


async def test_one_season_is_read_with_its_episodes() -> None:
    async with serve_tmdb() as fake, tmdb_provider(fake) as tmdb:
        season = await tmdb.season(1396, 2)
        with pytest.raises(UpstreamNotFound):
            await tmdb.season(1396, 9)
    assert (season.season_number, season.episode_count, season.name) == (2, 13, "Season 2")
