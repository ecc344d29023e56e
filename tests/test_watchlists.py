"""Watchlists: lists, progress, ratings and reviews, privacy; and `idkarr watchlist` from the shell."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from core.db.models import User
from core.db.session import Database
from core.enums import ContentType, UserRole, WatchlistType
from core.errors import AlreadyExists, InvalidInput, NotAllowed, NotFound
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.services import watchlists
from core.services.operator import OPERATOR
from core.services.users import add_user
from core.services.watchlists import CLEAR

from .conftest import Idkarr
from .contracts import WATCHLIST_FIELDS

CATALOG = OfflineCatalog()


async def test_a_title_moves_through_the_lists_with_progress_rating_and_review(db: Database) -> None:
    alice = await add_user(db, "alice", UserRole.USER)
    show = (await CATALOG.details(ContentType.SERIES, ExternalIds(tvdb_id=81189))).title
    added = await watchlists.add(db, alice.id, show)
    assert (added.type, added.title, added.season) == (WatchlistType.WATCHLIST, "Breaking Bad", None)
    with pytest.raises(AlreadyExists, match="already on your list"):
        await watchlists.add(db, alice.id, show)

    moved = await watchlists.update(
        db, alice.id, ContentType.SERIES, tvdb_id=81189, kind=WatchlistType.WATCHING, season=2, episode=5
    )
    assert (moved.type, moved.season, moved.episode) == (WatchlistType.WATCHING, 2, 5)
    rated = await watchlists.update(db, alice.id, ContentType.SERIES, tvdb_id=81189, rating=9, review="Tense.")
    assert (rated.rating, rated.review, rated.season) == (9, "Tense.", 2)
    cleared = await watchlists.update(db, alice.id, ContentType.SERIES, tvdb_id=81189, rating=CLEAR)
    assert (cleared.rating, cleared.review) == (None, "Tense.")

    listed = await watchlists.entries(db, owner_id=alice.id, reader=alice.id, kind=WatchlistType.WATCHING)
    assert [entry.title for entry in listed] == ["Breaking Bad"]
    assert await watchlists.entries(db, owner_id=alice.id, reader=OPERATOR, kind=WatchlistType.DROPPED) == []
    assert await watchlists.remove(db, alice.id, ContentType.SERIES, tvdb_id=81189) == "Breaking Bad"
    with pytest.raises(NotFound, match="not on your list"):
        await watchlists.remove(db, alice.id, ContentType.SERIES, tvdb_id=81189)


async def test_bad_values_are_refused_and_change_nothing(db: Database) -> None:
    alice = await add_user(db, "alice", UserRole.USER)
    film = (await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=603))).title
    await watchlists.add(db, alice.id, film)
    cases: list[tuple[dict[str, object], str]] = [
        ({"rating": 0}, "from 1 to 10"),
        ({"rating": 11}, "from 1 to 10"),
        ({"review": ""}, "1 to 4000"),
        ({"review": "x" * 4001}, "1 to 4000"),
        ({"review": "bell\x07"}, "printable"),
        ({"season": 1}, "films have no seasons"),
        ({"episode": -1}, "between 0 and 10000"),
    ]
    for change, message in cases:
        with pytest.raises(InvalidInput, match=message):
            await watchlists.update(db, alice.id, ContentType.MOVIE, tmdb_id=603, **change)  # type: ignore[arg-type]
    [entry] = await watchlists.entries(db, owner_id=alice.id, reader=OPERATOR)
    assert (entry.rating, entry.review, entry.type) == (None, None, WatchlistType.WATCHLIST)
    with pytest.raises(InvalidInput, match="not a list"):
        watchlists.parse_type("favourites")
    with pytest.raises(InvalidInput):
        await watchlists.entries(db, owner_id=alice.id, reader=OPERATOR, limit=0)


async def test_someone_elses_list_is_shown_only_as_their_privacy_allows(db: Database) -> None:
    alice = await add_user(db, "alice", UserRole.USER)
    bob = await add_user(db, "bob", UserRole.USER)
    boss = await add_user(db, "boss", UserRole.ADMIN)
    await watchlists.add(db, alice.id, (await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=603))).title)
    assert len(await watchlists.entries(db, owner_id=alice.id, reader=bob.id)) == 1
    async with db.transaction() as session:
        await session.execute(update(User).where(User.id == alice.id).values(privacy_settings={"showWatchlist": False}))
    with pytest.raises(NotAllowed, match="alice keeps their watchlist private"):
        await watchlists.entries(db, owner_id=alice.id, reader=bob.id)
    assert len(await watchlists.entries(db, owner_id=alice.id, reader=alice.id)) == 1
    assert len(await watchlists.entries(db, owner_id=alice.id, reader=boss.id)) == 1


def test_watchlist_from_the_shell(idkarr: Idkarr) -> None:
    assert idkarr("user", "add", "alice").returncode == 0
    added = idkarr("watchlist", "add", "--as", "alice", "--type", "anime", "--tvdb", "267440", "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["title"] == "Attack on Titan"
    changed = idkarr(
        "watchlist", "set", "--as", "alice", "--type", "anime", "--tvdb", "267440",
        "--list", "watching", "--season", "3", "--episode", "12", "--rating", "10",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    assert "Attack on Titan (2013) on alice's watching list at S03E12, rated 10/10" in changed.stdout
    listed = json.loads(idkarr("watchlist", "list", "--user", "alice", "--json").stdout)
    assert set(listed[0]) == WATCHLIST_FIELDS
    assert (listed[0]["type"], listed[0]["season"], listed[0]["rating"]) == ("watching", 3, 10)

    refusals = [
        (("watchlist", "set", "--as", "alice", "--type", "anime", "--tvdb", "267440"), "nothing to change"),
        (("watchlist", "set", "--as", "alice", "--type", "anime", "--tvdb", "267440", "--rating", "12"), "1 to 10"),
        (("watchlist", "add", "--as", "alice", "--type", "movie", "--tmdb", "603", "--list", "best"), "not a list"),
        (("watchlist", "remove", "--as", "alice", "--type", "movie", "--tmdb", "603"), "not on your list"),
    ]
    for args, message in refusals:
        refused = idkarr(*args)
        assert refused.returncode == 1, args
        assert message in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert idkarr("watchlist", "remove", "--as", "alice", "--type", "anime", "--tvdb", "267440").returncode == 0
    assert json.loads(idkarr("watchlist", "list", "--user", "alice", "--json").stdout) == []
