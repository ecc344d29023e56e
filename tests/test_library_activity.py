"""The seed's library and watched activity: what approval and sync do to the library record, and what people
watch, each written once by the service that causes it and shown as privacy allows."""

from __future__ import annotations

from typing import Any

import pytest

from core.db.session import Database
from core.enums import ActivityType, ContentType, UserRole, WatchlistType
from core.errors import InvalidInput
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.services import requests, watchlists
from core.services.activity import ActivityEntry, feed
from core.services.operator import OPERATOR
from core.services.users import add_user, update_preferences

CATALOG = OfflineCatalog()
LIBRARY = [
    ActivityType.MEDIA_ADDED,
    ActivityType.MEDIA_UPDATED,
    ActivityType.MOVIE_ADDED,
    ActivityType.EPISODE_ADDED,
]
WATCHED = [ActivityType.EPISODE_WATCHED, ActivityType.MOVIE_WATCHED]


def summary(entries: list[ActivityEntry]) -> list[tuple[Any, ...]]:
    """Oldest first: type, who, title, details."""
    return [(e.type, e.user, e.title, e.details) for e in reversed(entries)]


async def test_approval_and_sync_record_what_reaches_the_library_once(db: Database) -> None:
    mod = (await add_user(db, "mod", UserRole.MODERATOR)).id
    alice = (await add_user(db, "alice", UserRole.USER)).id
    bob = (await add_user(db, "bob", UserRole.USER)).id
    show = await CATALOG.details(ContentType.SERIES, ExternalIds(tvdb_id=81189))
    film = await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=603))

    first = await requests.create(db, show, actor_id=alice, seasons=[1, 2])
    await requests.approve(db, first.request.id, actor_id=mod)
    await requests.mark_available(db, first.request.id, seasons=[1])
    await requests.mark_available(db, first.request.id, seasons=[1])  # nothing new: nothing written
    await requests.mark_available(db, first.request.id, seasons=[2, 3])  # season 3 arrived unasked
    second = await requests.create(db, show, actor_id=bob)
    assert second.request.seasons == [4, 5]
    await requests.approve(db, second.request.id, actor_id=mod)
    await requests.mark_available(db, second.request.id, seasons=[4])

    movie = await requests.create(db, film, actor_id=alice)
    await requests.approve(db, movie.request.id, actor_id=mod)
    await requests.mark_failed(db, movie.request.id, reason="Radarr is down")
    await requests.retry(db, movie.request.id, actor_id=mod)  # the same record, sent again: no library change
    await requests.mark_available(db, movie.request.id)

    bb, matrix = "Breaking Bad", "The Matrix"
    # Approval adds nothing to the library: a title is there once sync or the download side says it arrived.
    assert summary(await feed(db, reader=OPERATOR, types=LIBRARY)) == [
        (ActivityType.EPISODE_ADDED, None, bb, {"seasons": [1]}),
        (ActivityType.EPISODE_ADDED, None, bb, {"seasons": [2, 3]}),
        (ActivityType.MEDIA_UPDATED, "mod", bb, {"status": "available", "seasons": [4, 5]}),
        (ActivityType.EPISODE_ADDED, None, bb, {"seasons": [4]}),
        (ActivityType.MOVIE_ADDED, None, matrix, {}),
    ]
    # Library entries are the library's: seen by everyone, tied to no one's request.
    seen_by_bob = await feed(db, reader=bob, types=LIBRARY)
    assert len(seen_by_bob) == 5
    assert {e.request_id for e in seen_by_bob} == {None}


async def test_watching_is_in_the_feed_as_the_watch_history_privacy_allows(db: Database) -> None:
    mod = (await add_user(db, "mod", UserRole.MODERATOR)).id
    alice = (await add_user(db, "alice", UserRole.USER)).id
    bob = (await add_user(db, "bob", UserRole.USER)).id
    show = (await CATALOG.details(ContentType.SERIES, ExternalIds(tvdb_id=81189))).title
    film = (await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=603))).title

    await watchlists.add(db, alice, show)  # on the list, nothing watched yet
    await watchlists.update(db, alice, ContentType.SERIES, tvdb_id=81189, kind=WatchlistType.WATCHING)
    await watchlists.update(db, alice, ContentType.SERIES, tvdb_id=81189, season=2, episode=5)
    await watchlists.update(db, alice, ContentType.SERIES, tvdb_id=81189, rating=9)  # not watching anything
    await watchlists.update(db, alice, ContentType.SERIES, tvdb_id=81189, season=2, episode=5)  # no move
    await watchlists.update(db, alice, ContentType.SERIES, tvdb_id=81189, kind=WatchlistType.WATCHED)
    await watchlists.add(db, alice, film, WatchlistType.WATCHED)

    expected = [
        (ActivityType.EPISODE_WATCHED, "alice", "Breaking Bad", {"season": 2, "episode": 5}),
        (ActivityType.EPISODE_WATCHED, "alice", "Breaking Bad", {"season": 2, "episode": 5, "finished": True}),
        (ActivityType.MOVIE_WATCHED, "alice", "The Matrix", {}),
    ]
    assert summary(await feed(db, reader=bob, types=WATCHED)) == expected

    # Turning the watch history private hides what was watched before too, from everyone but alice and moderators.
    with pytest.raises(InvalidInput, match="'showStats' is not a privacy setting"):
        await update_preferences(db, alice, privacy={"showStats": False})  # nothing honours it: not offered
    await update_preferences(db, alice, privacy={"showWatchHistory": False})
    await watchlists.update(db, alice, ContentType.SERIES, tvdb_id=81189, season=3, episode=1)
    assert await feed(db, reader=bob, types=WATCHED) == []
    later = (ActivityType.EPISODE_WATCHED, "alice", "Breaking Bad", {"season": 3, "episode": 1})
    assert summary(await feed(db, reader=alice, types=WATCHED)) == [*expected, later]
    assert summary(await feed(db, reader=mod, types=WATCHED)) == [*expected, later]
