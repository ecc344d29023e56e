"""The activity feed: filters, paging, visibility and privacy."""

from __future__ import annotations

import pytest

from core.db.models import User
from core.db.session import Database
from core.enums import ActivityType, ContentType, UserRole
from core.errors import InvalidInput, NotAllowed
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.services import requests
from core.services.activity import feed
from core.services.operator import OPERATOR
from core.services.users import add_user, disable_user

CATALOG = OfflineCatalog()


async def test_feed_filters_pages_and_names_the_actor(db: Database) -> None:
    mod = (await add_user(db, "mod", UserRole.MODERATOR)).id
    alice = (await add_user(db, "alice", UserRole.USER)).id
    matrix = await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=603))
    show = await CATALOG.details(ContentType.SERIES, ExternalIds(tvdb_id=81189))
    made = await requests.create(db, matrix, actor_id=alice)
    await requests.create(db, show, actor_id=alice)
    await requests.approve(db, made.request.id, actor_id=mod)

    everything = await feed(db, reader=OPERATOR)
    # Approval sends the film on its way; nothing is in the library until it arrives.
    assert [e.type for e in everything[:3]] == [
        ActivityType.REQUEST_APPROVED,
        ActivityType.REQUEST_CREATED,
        ActivityType.REQUEST_CREATED,
    ]
    assert ActivityType.MEDIA_ADDED not in {e.type for e in everything}
    approved = await feed(db, reader=alice, types=[ActivityType.REQUEST_APPROVED])
    assert [(e.user, e.title, e.details["approved_by"]) for e in approved] == [("mod", "The Matrix", "mod")]
    assert set(approved[0].to_json()) == {
        "id",
        "type",
        "user",
        "content_type",
        "title",
        "request_id",
        "details",
        "created_at",
    }
    series_only = await feed(db, reader=OPERATOR, content_type=ContentType.SERIES)
    assert {e.title for e in series_only} == {"Breaking Bad"}
    by_alice = await feed(db, reader=OPERATOR, user_id=alice)
    assert {e.user for e in by_alice} == {"alice"}
    first, second = await feed(db, reader=OPERATOR, limit=1), await feed(db, reader=OPERATOR, limit=1, offset=1)
    assert first[0].id != second[0].id
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}):
        with pytest.raises(InvalidInput):
            await feed(db, reader=OPERATOR, **bad)  # type: ignore[arg-type]


async def test_privacy_and_private_entries_are_kept_from_others(db: Database) -> None:
    await add_user(db, "admin", UserRole.ADMIN)
    mod = (await add_user(db, "mod", UserRole.MODERATOR)).id
    shy = (await add_user(db, "shy", UserRole.USER)).id
    bob = (await add_user(db, "bob", UserRole.USER)).id
    viewer = (await add_user(db, "vera", UserRole.VIEWER)).id
    async with db.transaction() as session:
        (await session.get_one(User, shy)).privacy_settings = {"showRequestHistory": False}
    matrix = await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=603))
    await requests.create(db, matrix, actor_id=shy)
    await disable_user(db, "bob")  # user_left is private

    seen_by_viewer = {(e.type, e.user) for e in await feed(db, reader=viewer)}
    assert (ActivityType.REQUEST_CREATED, "shy") not in seen_by_viewer
    assert (ActivityType.USER_LEFT, "bob") not in seen_by_viewer
    assert (ActivityType.REQUEST_CREATED, "shy") in {(e.type, e.user) for e in await feed(db, reader=shy)}
    assert (ActivityType.REQUEST_CREATED, "shy") in {(e.type, e.user) for e in await feed(db, reader=mod)}
    with pytest.raises(NotAllowed, match="disabled"):
        await feed(db, reader=bob)
