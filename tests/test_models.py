"""The schema's own guards: constraints hold even if a service forgets, and deletes follow the seed's rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DataError, IntegrityError

from core.db.models import (
    ActionToken,
    Activity,
    ChatIdentity,
    MediaServer,
    OutboxMessage,
    Request,
    RequestWatcher,
    User,
    WatchedItem,
    WatchlistEntry,
)
from core.db.session import Database
from core.enums import ActivityType, ChatPlatform, ContentType, RequestStatus, UserRole

from .factories import make_request, make_user, make_watchlist_entry


async def test_enums_are_stored_with_the_seed_values(db: Database) -> None:
    async with db.transaction() as session:
        await make_user(session, "robot", role=UserRole.API_USER)
    async with db.session() as session:
        stored = (await session.execute(text("SELECT role::text FROM \"user\" WHERE username = 'robot'"))).scalar_one()
        labels = (await session.execute(text("SELECT enum_range(NULL::activity_type)::text"))).scalar_one()
    assert stored == "api-user"
    for seed_type in (
        "request_created",
        "request_approved",
        "request_denied",
        "request_available",
        "media_added",
        "download_paused",
        "episode_watched",
        "user_joined",
        "settings_updated",
    ):
        assert seed_type in labels


async def test_usernames_are_unique_without_regard_to_case(db: Database) -> None:
    async with db.transaction() as session:
        await make_user(session, "Alice")
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await make_user(session, "alice")


async def test_one_pending_request_per_title_and_content_type(db: Database) -> None:
    async with db.transaction() as session:
        alice = await make_user(session)
        bob = await make_user(session)
        await make_request(session, alice, tmdb_id=603)
        bob_id = bob.id
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await make_request(session, await session.get_one(User, bob_id), tmdb_id=603)
    # Decided requests do not block a new one, and the same id in another content type is another title.
    async with db.transaction() as session:
        bob = await session.get_one(User, bob_id)
        await make_request(session, bob, tmdb_id=1399, tvdb_id=121361, content_type=ContentType.SERIES)
        await make_request(session, bob, tmdb_id=1399, tvdb_id=121361, content_type=ContentType.ANIME)
        await session.execute(text("UPDATE request SET status = 'denied', denial_reason = 'no' WHERE tmdb_id = 603"))
        await make_request(session, bob, tmdb_id=603)


async def test_series_pending_uniqueness_also_holds_by_tvdb_id(db: Database) -> None:
    async with db.transaction() as session:
        alice = await make_user(session)
        await make_request(session, alice, tmdb_id=None, tvdb_id=81189, content_type=ContentType.SERIES)
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await make_request(
                session, await make_user(session), tmdb_id=1396, tvdb_id=81189, content_type=ContentType.SERIES
            )


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"status": RequestStatus.DENIED}, "denied_has_reason"),
        ({"status": RequestStatus.DENIED, "denial_reason": "x" * 501}, "denial_reason_length"),
        ({"status": RequestStatus.FAILED}, "failed_has_reason"),
        ({"status": RequestStatus.APPROVED}, "approved_has_time"),
        ({"tmdb_id": None, "tvdb_id": None}, "has_title_id"),
    ],
)
async def test_request_invariants_are_checked_by_the_database(
    db: Database, fields: dict[str, object], constraint: str
) -> None:
    with pytest.raises(IntegrityError, match=constraint):
        async with db.transaction() as session:
            await make_request(session, await make_user(session), **fields)  # type: ignore[arg-type]


async def test_one_watchlist_row_per_user_and_title(db: Database) -> None:
    async with db.transaction() as session:
        alice = await make_user(session)
        await make_watchlist_entry(session, alice, tmdb_id=550)
        alice_id = alice.id
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await make_watchlist_entry(session, await session.get_one(User, alice_id), tmdb_id=550)
    with pytest.raises(IntegrityError, match="rating_range"):
        async with db.transaction() as session:
            await make_watchlist_entry(session, await session.get_one(User, alice_id), tmdb_id=551, rating=11)


async def test_one_chat_identity_per_platform_user(db: Database) -> None:
    async with db.transaction() as session:
        alice = await make_user(session)
        bob = await make_user(session)
        session.add(ChatIdentity(platform=ChatPlatform.TELEGRAM, platform_user_id="42", user_id=alice.id))
        # The same number on another platform is another person.
        session.add(ChatIdentity(platform=ChatPlatform.DISCORD, platform_user_id="42", user_id=bob.id))
        bob_id = bob.id
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            session.add(ChatIdentity(platform=ChatPlatform.TELEGRAM, platform_user_id="42", user_id=bob_id))


async def test_deleting_a_user_follows_the_seed_on_delete_rules(db: Database) -> None:
    async with db.transaction() as session:
        alice = await make_user(session)
        moderator = await make_user(session, role=UserRole.MODERATOR)
        watcher = await make_user(session)
        request = await make_request(session, alice, tmdb_id=603)
        approved = await make_request(
            session,
            watcher,
            tmdb_id=604,
            status=RequestStatus.APPROVED,
            approved_by_id=moderator.id,
            approved_at=datetime.now(UTC),
        )
        session.add(RequestWatcher(request_id=request.id, user_id=watcher.id))
        session.add(Activity(user_id=alice.id, type=ActivityType.REQUEST_CREATED, request_id=request.id))
        await make_watchlist_entry(session, alice)
        session.add(ChatIdentity(platform=ChatPlatform.CONSOLE, platform_user_id="alice", user_id=alice.id))
        session.add(OutboxMessage(dedup_key="k1", event="request_approved", recipient_user_id=alice.id, payload={}))
        ids = (alice.id, moderator.id, request.id, approved.id)

    alice_id, moderator_id, request_id, approved_id = ids
    async with db.transaction() as session:
        await session.delete(await session.get_one(User, alice_id))
        await session.delete(await session.get_one(User, moderator_id))

    async with db.session() as session:
        assert await session.get(Request, request_id) is None  # requests cascade with their requester
        assert (await session.execute(select(func.count()).select_from(RequestWatcher))).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(WatchlistEntry))).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(ChatIdentity))).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one() == 0
        activity = (await session.execute(select(Activity))).scalar_one()  # the feed keeps the event
        assert activity.user_id is None
        assert activity.request_id is None
        kept = await session.get_one(Request, approved_id)
        assert kept.approved_by_id is None  # the approver's name goes, the decision stays


async def test_watched_items_for_whole_movies_collide_despite_null_episode(db: Database) -> None:
    async with db.transaction() as session:
        alice = await make_user(session)
        server = MediaServer(type="jellyfin", name="home", host="127.0.0.1", port=8096, api_key_encrypted="x")
        session.add(server)
        await session.flush()
        session.add(
            WatchedItem(media_server_id=server.id, user_id=alice.id, content_type=ContentType.MOVIE, tmdb_id=603)
        )
        await session.flush()
        ids = (server.id, alice.id)
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            session.add(
                WatchedItem(media_server_id=ids[0], user_id=ids[1], content_type=ContentType.MOVIE, tmdb_id=603)
            )


async def test_action_token_ids_fit_chat_button_limits(db: Database) -> None:
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    async with db.transaction() as session:
        session.add(ActionToken(id="Ab3dE6gh", action="approve", arguments={"request_id": 1}, expires_at=expires))
    for bad_id in ("x" * 17, "abc"):
        with pytest.raises((IntegrityError, DataError)):
            async with db.transaction() as session:
                session.add(ActionToken(id=bad_id, action="approve", expires_at=expires))
