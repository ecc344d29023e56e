"""`idkarr discover`, `search` and `title` end to end: stable JSON, the offline catalog and a fake TMDB."""

from __future__ import annotations

import json

from .conftest import Idkarr
from .contracts import ITEM_FIELDS
from .fake_tmdb import API_KEY, serve_tmdb


def test_discover_and_search_print_stable_json_from_the_offline_catalog(idkarr: Idkarr) -> None:
    listed = idkarr("discover", "trending", "--content", "anime", "--json")
    assert listed.returncode == 0, listed.stderr
    page = json.loads(listed.stdout)
    assert page["source"] == "offline catalog"
    assert page["items"]
    assert all(item["type"] == "anime" for item in page["items"])
    assert set(page["items"][0]) == ITEM_FIELDS

    found = json.loads(idkarr("search", "brekaing bad", "--json").stdout)
    assert found["items"][0]["title"] == "Breaking Bad"
    assert found["items"][0]["id"] == "tvdb:81189"


def test_title_shows_seasons(idkarr: Idkarr) -> None:
    shown = idkarr("title", "series", "81189", "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert set(data) >= ITEM_FIELDS | {"seasons"}
    assert [s["season_number"] for s in data["seasons"]] == [1, 2, 3, 4, 5]
    assert data["seasons"][4] == {"season_number": 5, "episode_count": 16, "name": None}
    text = idkarr("title", "movie", "imdb:tt0133093").stdout
    assert "The Matrix (1999)" in text


def test_bad_discovery_input_gets_one_clear_line(idkarr: Idkarr) -> None:
    cases = [
        (("discover", "hottest"), "not a discovery list"),
        (("discover", "popular", "--content", "cartoons"), "not a content type"),
        (("discover", "popular", "--page", "0"), "page must be between 1 and 500"),
        (("search", "tmdb:abc"), "takes a number"),
        (("search", ""), "type something to search for"),
        (("title", "movie", "abc"), "not a title id"),
        (("title", "series", "999999999"), "has no such title (no series with TheTVDB id 999999999)"),
        (("title", "movie", "imdb:tt9999999"), "no movie with IMDb id tt9999999"),
    ]
    for args, expected in cases:
        result = idkarr(*args)
        assert result.returncode == 1, args
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


async def test_discovery_uses_tmdb_when_a_key_is_configured(idkarr: Idkarr) -> None:
    async with serve_tmdb() as fake:
        env = {"IDKARR_TMDB__API_KEY": API_KEY, "IDKARR_TMDB__BASE_URL": fake.base_url}
        result = await idkarr.run_async("search", "matrix", "--json", env=env)
        titled = await idkarr.run_async("title", "anime", "tmdb:1429", "--json", env=env)
        fake.faults = [500] * 3
        down = await idkarr.run_async("discover", "popular", "--content", "series", env=env)
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout)
    assert page["source"] == "tmdb"
    assert [item["title"] for item in page["items"]] == ["The Matrix", "The Matrix Reloaded"]
    assert json.loads(titled.stdout)["tvdb_id"] == 267440
    assert down.returncode == 1
    assert "TMDB can't be reached right now, try again in a minute" in down.stderr
    assert API_KEY not in result.stdout + result.stderr + down.stderr


async def test_with_tvdb_configured_shows_take_its_season_list(idkarr: Idkarr) -> None:
    from .fake_tvdb import API_KEY as TVDB_KEY
    from .fake_tvdb import serve_tvdb

    async with serve_tmdb() as tmdb, serve_tvdb() as tvdb:
        env = {
            "IDKARR_TMDB__API_KEY": API_KEY,
            "IDKARR_TMDB__BASE_URL": tmdb.base_url,
            "IDKARR_TVDB__API_KEY": TVDB_KEY,
            "IDKARR_TVDB__BASE_URL": tvdb.base_url,
        }
        shown = await idkarr.run_async("title", "anime", "tmdb:1429", "--json", env=env)
        doctor = await idkarr.run_async("doctor", env=env)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["season_source"] == "thetvdb"
    assert data["seasons"][-1]["episode_count"] == 30
    assert "season lists from TheTVDB" in doctor.stdout
    assert TVDB_KEY not in shown.stdout + shown.stderr + doctor.stdout


def test_similar_and_recommended_titles_from_the_shell(idkarr: Idkarr) -> None:
    similar = idkarr("discover", "similar", "--title", "tmdb:603", "--page-size", "5", "--json")
    assert similar.returncode == 0, similar.stderr
    items = json.loads(similar.stdout)["items"]
    assert items
    assert all(item["type"] == "movie" and item["id"] != "tmdb:603" for item in items)
    shows = idkarr("discover", "recommended", "--title", "81189", "--content", "series", "--json")
    assert json.loads(shows.stdout)["items"][0]["type"] == "series"
    for args, said in (
        (("discover", "similar"), "similar needs the title: --title tmdb:603"),
        (("discover", "similar", "--title", "tmdb:99999999"), "there is no title with tmdb:99999999"),
        (("discover", "popular", "--title", "tmdb:603"), "--title goes with similar or recommended"),
    ):
        refused = idkarr(*args)
        assert refused.returncode == 1
        assert said in refused.stderr
        assert "Traceback" not in refused.stderr
