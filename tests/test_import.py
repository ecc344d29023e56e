"""`idkarr import overseerr` against a fake Overseerr and Seerr on 127.0.0.1, titles named by the real
discovery stack talking to a fake TMDB: users with their roles and linked chats, titles, requests with their
status, idempotence, dry runs, malformed rows, and failures that leave idkarr as it was."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select

from bots.cli.imports import summary_lines
from core.db.models import ChatIdentity, Media, MediaSeason, Request, RequestWatcher, User
from core.db.session import Database
from core.enums import ChatPlatform, ContentType, MediaStatus, RequestStatus, UserRole
from core.errors import InvalidInput
from core.services.discovery import DiscoveryService
from core.services.overseerr_import import ImportSummary, import_overseerr
from core.services.users import add_user
from core.upstream_errors import UpstreamError

from .conftest import Idkarr
from .fake_overseerr import OVERSEERR_KEY, FakeOverseerr, media, request, user
from .fake_tmdb import API_KEY, FakeTmdb, serve_tmdb
from .fakes import serving
from .metadata_helpers import discovery_service, tmdb_provider

ADMIN, MANAGE_REQUESTS, REQUEST, AUTO_APPROVE, REQUEST_MOVIE = 2, 16, 32, 128, 262144


def community() -> FakeOverseerr:
    """A small Overseerr with a bit of everything, bad rows included."""
    fake = FakeOverseerr()
    admin = user(1, "Admin", permissions=ADMIN, user_type=1, plexUsername="admin-plex")
    mod = user(2, "Maria Mod", permissions=MANAGE_REQUESTS | REQUEST)
    bob = user(3, "bob", permissions=REQUEST | AUTO_APPROVE)
    films_only = user(4, "Cleo", permissions=REQUEST_MOVIE)
    looker = user(5, "viewer.vic", permissions=0)
    no_id = {**user(0, "ghost"), "id": None}
    bad_bits = {**user(7, "Weird"), "permissions": "lots"}
    fake.users = [admin, mod, bob, films_only, looker, no_id, bad_bits]
    fake.notifications = {
        1: {"discordId": "123456789012345678", "telegramChatId": "555001"},
        2: {"discordId": "223456789012345678, 223456789012345679"},  # several typed into the one field
        3: {"discordIds": ["323456789012345678"], "telegramChatId": "-100200300"},  # list form; a group chat
        4: {"discordId": "not a snowflake"},
    }
    matrix = media(10, tmdb=603, status=5)
    fight = media(12, tmdb=550, status=2)
    reloaded = media(13, tmdb=604, status=2)
    no_ids = {**media(14, tmdb=1), "tmdbId": None, "tvdbId": None}
    breaking = media(15, tmdb=1396, tvdb=81189, tv=True, status=4, seasons=[{"seasonNumber": 1, "status": 5}])
    titan = media(16, tmdb=1429, tvdb=267440, tv=True, status=3)
    fake.media = [matrix, fight, reloaded, no_ids, breaking, titan]
    fake.requests = [
        request(100, matrix, bob, status=2, modified_by=admin, created="2024-01-01T10:00:00.000Z"),
        request(101, fight, films_only, status=1, created="2024-01-02T10:00:00.000Z"),
        request(102, fight, bob, status=1, created="2024-01-03T10:00:00.000Z"),  # the same title: joins 101
        request(103, reloaded, bob, status=3, modified_by=mod, created="2024-01-04T10:00:00.000Z"),
        request(104, breaking, bob, status=2, seasons=[1, 2], modified_by=mod, created="2024-01-05T10:00:00.000Z"),
        request(105, titan, films_only, status=4, seasons=[1], created="2024-01-06T10:00:00.000Z"),
        request(106, reloaded, bad_bits, status=1),  # its requester could not be imported
        request(107, matrix, bob, status=9),  # a status Overseerr does not have
        {"id": 108, "status": 1, "media": no_ids, "requestedBy": bob},
    ]
    return fake


@pytest.fixture
async def tmdb() -> AsyncIterator[FakeTmdb]:
    async with serve_tmdb() as fake:
        yield fake


@pytest.fixture
async def discovery(db: Database, redis_client: aioredis.Redis, tmdb: FakeTmdb) -> AsyncIterator[DiscoveryService]:
    async with tmdb_provider(tmdb) as provider:
        yield discovery_service(db, redis_client, provider)


async def run_import(
    db: Database, discovery: DiscoveryService | None, fake: FakeOverseerr, **options: object
) -> ImportSummary:
    return await import_overseerr(
        db,
        discovery.details if discovery else None,
        url=fake.base,
        api_key=OVERSEERR_KEY,
        page_size=2,  # every list takes several pages
        **options,  # type: ignore[arg-type]
    )


async def counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model)) or 0
            for model in (User, ChatIdentity, Media, MediaSeason, Request, RequestWatcher)
        }


async def test_users_titles_and_requests_come_over_with_their_roles_chats_and_statuses(
    db: Database, discovery: DiscoveryService
) -> None:
    existing = await add_user(db, "bob", UserRole.USER)  # another bob: the imported one gets a new name
    async with serving(community()) as fake:
        summary = await run_import(db, discovery, fake)

    assert (summary.program, summary.version) == ("Overseerr", "1.33.2")
    assert summary.users.imported == 5
    assert summary.users.skipped == 2
    reasons = {(row.kind, row.external_id): row.reason for row in summary.skipped}
    assert reasons[("user", None)] == "a user without an id"
    assert reasons[("user", 7)] == "a user whose permissions are not a number"
    assert "group, not a person" in reasons[("user", 3)]
    assert reasons[("media", 14)] == "a title with neither a TMDB nor a TheTVDB id"
    assert reasons[("request", 106)] == "its requester (Overseerr user 7) was not imported"
    assert reasons[("request", 107)] == "a request whose status is not one Overseerr has"
    assert reasons[("request", 108)].startswith("its title:")

    async with db.session() as session:
        people = {row.username: row for row in await session.scalars(select(User).where(User.id != existing.id))}
        chats = {
            (row.platform, row.platform_user_id): row.user_id for row in await session.scalars(select(ChatIdentity))
        }
        asked = {row.title: row for row in await session.scalars(select(Request))}
        watchers = (await session.execute(select(RequestWatcher.request_id, RequestWatcher.user_id))).all()
        library = {row.title: row for row in await session.scalars(select(Media))}

    assert set(people) == {"Admin", "Maria-Mod", "bob-2", "Cleo", "viewer.vic"}
    assert people["Admin"].role == UserRole.ADMIN
    assert people["Admin"].plex_username == "admin-plex"
    assert people["Maria-Mod"].role == UserRole.MODERATOR
    assert people["Maria-Mod"].permissions == {}  # Overseerr approves a request manager's own requests too
    assert people["bob-2"].role == UserRole.USER
    assert people["bob-2"].permissions == {
        "auto_approve_anime": True,
        "auto_approve_movie": True,
        "auto_approve_series": True,
    }
    assert people["Cleo"].role == UserRole.USER
    assert people["Cleo"].permissions == {"request_anime": False, "request_series": False}
    assert people["viewer.vic"].role == UserRole.VIEWER
    assert people["bob-2"].email == "bob@example.org"

    assert chats == {
        (ChatPlatform.DISCORD, "123456789012345678"): people["Admin"].id,
        (ChatPlatform.TELEGRAM, "555001"): people["Admin"].id,
        (ChatPlatform.DISCORD, "223456789012345678"): people["Maria-Mod"].id,
        (ChatPlatform.DISCORD, "223456789012345679"): people["Maria-Mod"].id,
        (ChatPlatform.DISCORD, "323456789012345678"): people["bob-2"].id,
    }
    assert summary.chats.imported == 5

    # Named by the discovery stack (the fake TMDB), anime told apart by TMDB's rule.
    assert set(asked) == {"The Matrix", "Fight Club", "The Matrix Reloaded", "Breaking Bad", "Attack on Titan"}
    matrix = asked["The Matrix"]
    assert matrix.status == RequestStatus.AVAILABLE  # approved, and the title arrived
    assert matrix.approved_by_id == people["Admin"].id
    assert matrix.approved_at is not None
    assert matrix.requested_by_id == people["bob-2"].id
    assert matrix.created_at.year == 2024
    assert asked["Fight Club"].status == RequestStatus.PENDING
    assert asked["Fight Club"].requested_by_id == people["Cleo"].id
    assert watchers == [(asked["Fight Club"].id, people["bob-2"].id)]
    assert summary.joined == 1
    assert asked["The Matrix Reloaded"].status == RequestStatus.DENIED
    assert asked["The Matrix Reloaded"].denial_reason == "declined in Overseerr"
    breaking = asked["Breaking Bad"]
    assert breaking.status == RequestStatus.PARTIAL
    assert breaking.tvdb_id == 81189
    assert breaking.seasons == [{"season_number": 1, "monitored": True}, {"season_number": 2, "monitored": True}]
    titan = asked["Attack on Titan"]
    assert titan.content_type == ContentType.ANIME
    assert titan.status == RequestStatus.FAILED
    assert titan.failure_reason == "failed in Overseerr"
    assert summary.requests.imported == 5
    assert summary.unnamed == 0

    assert library["The Matrix"].status == MediaStatus.AVAILABLE
    assert library["Breaking Bad"].status == MediaStatus.PARTIALLY_AVAILABLE
    assert matrix.media_id == library["The Matrix"].id
    assert summary.media.imported == 5


async def test_a_second_run_changes_nothing_and_a_dry_run_writes_nothing(
    db: Database, discovery: DiscoveryService
) -> None:
    async with serving(community()) as fake:
        before = await counts(db)
        rehearsal = await run_import(db, discovery, fake, dry_run=True)
        assert await counts(db) == before
        first = await run_import(db, discovery, fake)
        after_first = await counts(db)
        second = await run_import(db, discovery, fake)
        assert await counts(db) == after_first

    assert rehearsal.dry_run
    assert rehearsal.to_json()["requests"] == first.to_json()["requests"]
    assert rehearsal.users.imported == first.users.imported == 5
    assert after_first["request"] == before["request"] + 5
    assert (second.users.imported, second.users.already) == (0, 5)
    assert (second.media.imported, second.media.already) == (0, 5)
    assert (second.requests.imported, second.requests.already) == (0, 6)  # the joined one counts as imported
    assert (second.chats.imported, second.chats.already) == (0, 5)


async def test_people_already_in_idkarr_are_linked_not_doubled_and_their_chats_are_not_stolen(
    db: Database, discovery: DiscoveryService
) -> None:
    fake = community()
    mine = await add_user(db, "maria", UserRole.MODERATOR)
    someone = await add_user(db, "someone", UserRole.USER)
    async with db.transaction() as session:
        (await session.get_one(User, mine.id)).email = "maria mod@example.org"
        session.add(
            ChatIdentity(platform=ChatPlatform.DISCORD, platform_user_id="123456789012345678", user_id=someone.id)
        )
    async with serving(fake) as served:
        summary = await run_import(db, discovery, served)
    assert summary.users.matched == 1
    assert summary.users.imported == 4
    async with db.session() as session:
        assert (
            await session.scalar(select(func.count()).select_from(User).where(func.lower(User.username).like("maria%")))
            == 1
        )
        owner = await session.scalar(
            select(ChatIdentity.user_id).where(ChatIdentity.platform_user_id == "123456789012345678")
        )
        maria_chats = await session.scalar(
            select(func.count()).select_from(ChatIdentity).where(ChatIdentity.user_id == mine.id)
        )
    assert owner == someone.id  # not moved to the imported admin
    assert maria_chats == 2  # Maria's two Discord ids now reach the idkarr account she already had
    assert any("already linked to another idkarr user" in row.reason for row in summary.skipped)


async def test_seerr_statuses_and_jellyfin_users(db: Database, discovery: DiscoveryService) -> None:
    fake = FakeOverseerr(version="2.7.3")
    jelly = user(1, "jelly", permissions=REQUEST, user_type=3, jellyfinUserId="5d1a8b1f0b2c4a3e9f8d7c6b5a493827")
    emby = user(2, "embyuser", permissions=REQUEST, user_type=4, jellyfinUserId="e1")
    fake.users = [jelly, emby]
    gone = media(1, tmdb=603, status=7)  # Seerr: deleted
    listed = media(2, tmdb=550, status=6)  # Seerr: blocklisted
    fake.media = [gone, listed]
    fake.requests = [request(1, gone, jelly, status=5), request(2, listed, emby, status=2)]
    async with serving(fake) as served:
        summary = await run_import(db, discovery, served)
    assert summary.program == "Seerr"
    async with db.session() as session:
        people = {row.username: row for row in await session.scalars(select(User))}
        library = {row.tmdb_id: row.status for row in await session.scalars(select(Media))}
        statuses = {row.tmdb_id: row.status for row in await session.scalars(select(Request))}
    assert people["jelly"].jellyfin_user_id == "5d1a8b1f0b2c4a3e9f8d7c6b5a493827"
    assert people["embyuser"].emby_user_id == "e1"
    assert people["embyuser"].jellyfin_user_id is None
    assert library == {603: MediaStatus.DELETED, 550: MediaStatus.UNKNOWN}
    assert statuses == {603: RequestStatus.AVAILABLE, 550: RequestStatus.APPROVED}


async def test_titles_tmdb_cannot_name_keep_their_ids(
    db: Database, tmdb: FakeTmdb, discovery: DiscoveryService
) -> None:
    fake = FakeOverseerr()
    someone = user(1, "sam")
    unknown = media(1, tmdb=999_999)
    fake.users, fake.media, fake.requests = [someone], [unknown], [request(1, unknown, someone)]
    async with serving(fake) as served:
        summary = await run_import(db, discovery, served)
    assert summary.unnamed == 1
    assert "  titles shown by their TMDB or TheTVDB id, their names not found: 1 (" in "\n".join(summary_lines(summary))
    async with db.session() as session:
        assert await session.scalar(select(Request.title)) == "TMDB 999999"


async def test_a_refused_key_a_bad_url_and_a_failing_page_change_nothing(
    db: Database, discovery: DiscoveryService
) -> None:
    before = await counts(db)
    async with serving(community()) as fake:
        with pytest.raises(InvalidInput, match=r"Overseerr refused that API key \(HTTP 403\): check --api-key"):
            await import_overseerr(db, discovery.details, url=fake.base, api_key="wrong")
        with pytest.raises(InvalidInput, match="--url must be an http:// or https:// address"):
            await import_overseerr(db, discovery.details, url="overseerr.local", api_key=OVERSEERR_KEY)
        with pytest.raises(InvalidInput, match="--api-key must be"):
            await import_overseerr(db, discovery.details, url=fake.base, api_key="two words")
        fake.broken_page = "/api/v1/request"
        with pytest.raises(UpstreamError):
            await run_import(db, discovery, fake)
    assert await counts(db) == before


async def test_the_command_prints_what_it_would_do_then_does_it(idkarr: Idkarr, db: Database) -> None:
    assert (await idkarr.run_async("user", "list")).returncode == 0  # its first start makes the bootstrap admin
    before = await counts(db)
    async with serve_tmdb() as tmdb, serving(community()) as fake:
        env = {"IDKARR_TMDB__API_KEY": API_KEY, "IDKARR_TMDB__BASE_URL": tmdb.base_url}
        rehearsal = await idkarr.run_async(
            "import", "overseerr", "--url", fake.base, "--api-key", OVERSEERR_KEY, "--dry-run", env=env
        )
        assert rehearsal.returncode == 0, rehearsal.stderr
        assert await counts(db) == before
        done = await idkarr.run_async("import", "overseerr", "--url", fake.base, "--api-key", OVERSEERR_KEY, env=env)
        again = await idkarr.run_async(
            "import", "overseerr", "--url", fake.base, "--api-key", OVERSEERR_KEY, "--json", env=env
        )
        refused = await idkarr.run_async("import", "overseerr", "--url", fake.base, "--api-key", "nope", env=env)

    lines = rehearsal.stdout.splitlines()
    assert lines[0] == f"would import from Overseerr 1.33.2 at {fake.base} (dry run: nothing was changed)"
    assert "  users: 5 imported, 2 skipped" in lines
    assert "  requests: 5 imported, 3 skipped" in lines
    assert any("request 106: its requester (Overseerr user 7) was not imported" in line for line in lines)
    assert done.returncode == 0
    assert done.stdout.splitlines()[0].startswith("imported from Overseerr")
    assert json.loads(again.stdout)["requests"] == {"imported": 0, "matched": 0, "already": 6, "skipped": 3}
    assert refused.returncode != 0
    assert "check --api-key" in refused.stderr
    assert "nope" not in refused.stderr + refused.stdout
