"""Library sync against fake Jellyfin, Emby and Plex servers through the real clients: titles matched by
their ids, availability per season, requests fulfilled and their people told, titles gone marked deleted, new
seasons of shows already there found by the incremental sync, and every fault leaving the library as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bots.conversation.conversation import Conversation
from core.config import SyncSettings
from core.db.models import LibraryItem, Media, MediaSeason, MediaServer, OutboxMessage
from core.db.session import Database
from core.enums import ActivityType, ContentType, MediaStatus, RequestStatus, UserRole, WatchlistType
from core.errors import InvalidInput
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.secretbox import SecretBox
from core.services import requests, watchlists
from core.services.activity import feed
from core.services.library_sync import SyncResult, find_server, sync_server
from core.services.servers import add_server, list_servers, remove_server
from core.services.users import MediaAccounts, add_user, set_media_accounts
from core.upstream_errors import UpstreamAuthFailed, UpstreamBadResponse, UpstreamUnavailable

from .fake_media import PLEX_TOKEN, FakeJellyfin, FakePlex, Play
from .fakes import serving

CATALOG = OfflineCatalog()
WATCHED = [ActivityType.EPISODE_WATCHED, ActivityType.MOVIE_WATCHED]
BOX = SecretBox(Fernet.generate_key())
QUICK = SyncSettings(timeout_seconds=1.0, page_size=50)


@pytest.fixture
async def jellyfin() -> AsyncIterator[FakeJellyfin]:
    async with serving(FakeJellyfin()) as fake:
        yield fake


@pytest.fixture
async def plex() -> AsyncIterator[FakePlex]:
    async with serving(FakePlex()) as fake:
        yield fake


async def approved(
    db: Database, who: str, kind: ContentType, *, seasons: list[int] | None = None, **ids: int | None
) -> int:
    users = {
        name: (await add_user(db, name, role)).id
        for name, role in ((who, UserRole.USER), (f"mod-{who}", UserRole.MODERATOR))
    }
    details = await CATALOG.details(kind, ExternalIds(tmdb_id=ids.get("tmdb_id"), tvdb_id=ids.get("tvdb_id")))
    made = await requests.create(db, details, actor_id=users[who], seasons=seasons)
    await requests.approve(db, made.request.id, actor_id=users[f"mod-{who}"])
    return made.request.id


async def told(db: Database, event: str) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).where(OutboxMessage.event == event)) or 0)


async def media_status(db: Database, **ids: int) -> MediaStatus | None:
    async with db.session() as session:
        column = Media.tmdb_id if "tmdb" in ids else Media.tvdb_id
        return await session.scalar(select(Media.status).where(column == next(iter(ids.values()))))


async def sync(db: Database, name: str, *, full: bool = False) -> SyncResult:
    return await sync_server(db, BOX, await find_server(db, name), full=full, settings=QUICK)


async def test_a_jellyfin_sync_fulfils_requests_per_season_and_finds_new_seasons_and_removals(
    db: Database, jellyfin: FakeJellyfin
) -> None:
    library = jellyfin.library
    library.movie("m1", "The Matrix", tmdb=603, imdb="tt0133093", year=1999)
    library.show("s1", "Breaking Bad", {1: 7, 2: 13}, tvdb=81189)
    library.show("s2", "A Show Nobody Asked For", {1: 10}, tvdb=999001)
    library.movie("m2", "Home Video")  # no ids at all
    film = await approved(db, "alice", ContentType.MOVIE, tmdb_id=603)
    show = await approved(db, "bob", ContentType.SERIES, tvdb_id=81189, seasons=[1, 2, 3])

    added = await add_server(db, BOX, "jellyfin", "Living Room", url=jellyfin.base, token=jellyfin.token)
    assert (added.kind, added.version) == ("jellyfin", "10.9.11")
    first = await sync(db, "living room")
    assert first.full
    assert first.items == 4
    assert first.unidentified == 1
    assert first.changed == 3

    assert (await requests.get(db, film)).status == RequestStatus.AVAILABLE
    assert (await requests.get(db, show)).status == RequestStatus.PARTIAL  # seasons 1 and 2 of 1 to 3
    assert await told(db, "request_available") >= 1
    assert await told(db, "request_partial") >= 1
    assert await media_status(db, tvdb=999001) == MediaStatus.AVAILABLE  # added to idkarr's library too
    assert await media_status(db, tvdb=81189) == MediaStatus.AVAILABLE

    # Season 3 arrives in a show already there: only its episodes were saved, the show itself was not.
    library.add_episodes("s1", 3, 13)
    second = await sync(db, "Living Room")
    assert not second.full
    assert second.items == 1
    assert (await requests.get(db, show)).status == RequestStatus.AVAILABLE
    async with db.session() as session:
        seasons = dict(
            (
                await session.execute(
                    select(MediaSeason.season_number, MediaSeason.available_episode_count)
                    .join(Media)
                    .where(Media.tvdb_id == 81189)
                )
            ).all()
        )
    assert seasons == {1: 7, 2: 13, 3: 13}

    # Nothing changed: a full sync reads everything and writes nothing.
    unchanged = await sync(db, "Living Room", full=True)
    assert unchanged.changed == 0
    assert unchanged.removed == 0
    assert unchanged.titles_updated == 0

    library.remove("m1")
    gone = await sync(db, "Living Room", full=True)
    assert gone.removed == 1
    assert gone.requests_removed == [film]
    assert await media_status(db, tmdb=603) == MediaStatus.DELETED
    removed = await requests.get(db, film)
    assert removed.status == RequestStatus.FAILED
    assert "removed from the library" in (removed.failure_reason or "")

    (view,) = [server for server in await list_servers(db) if server.name == "Living Room"]
    assert view.items == 2
    assert view.last_sync_success is True
    assert view.last_sync_error is None


async def test_a_title_on_two_servers_stays_available_while_either_has_it(db: Database, jellyfin: FakeJellyfin) -> None:
    async with serving(FakeJellyfin(flavour="emby")) as emby:
        for fake in (jellyfin, emby):
            fake.library.movie("x", "The Matrix", tmdb=603)
        await add_server(db, BOX, "jellyfin", "one", url=jellyfin.base, token=jellyfin.token)
        await add_server(db, BOX, "emby", "two", url=emby.base, token=emby.token)
        await sync(db, "one")
        await sync(db, "two")
        assert emby.calls
        assert all("X-Emby-Token" not in call for call in emby.calls)
        jellyfin.library.remove("x")
        await sync(db, "one", full=True)
        assert await media_status(db, tmdb=603) == MediaStatus.AVAILABLE
        emby.library.remove("x")
        await sync(db, "two", full=True)
        assert await media_status(db, tmdb=603) == MediaStatus.DELETED


@pytest.mark.parametrize("legacy", [False, True])
async def test_a_plex_sync_reads_new_and_legacy_agent_ids(db: Database, plex: FakePlex, legacy: bool) -> None:
    plex.legacy_guids = legacy
    plex.library.movie("101", "The Matrix", tmdb=603, imdb="tt0133093")
    plex.library.show("202", "Breaking Bad", {1: 7}, tvdb=81189)
    film = await approved(db, "alice", ContentType.MOVIE, tmdb_id=603)
    show = await approved(db, "bob", ContentType.SERIES, tvdb_id=81189, seasons=[1, 2])
    await add_server(db, BOX, "plex", "Plex", url=plex.base, token=PLEX_TOKEN)
    result = await sync(db, "plex")
    assert result.items == 2
    assert result.changed == 2
    assert (await requests.get(db, film)).status == RequestStatus.AVAILABLE
    assert (await requests.get(db, show)).status == RequestStatus.PARTIAL
    plex.library.add_episodes("202", 2, 13)
    again = await sync(db, "plex")
    # Plex's times are whole seconds: what changed in the second the last sync started is read again.
    assert again.changed == 1
    assert (await requests.get(db, show)).status == RequestStatus.AVAILABLE


async def test_a_wrong_token_or_address_is_refused_before_anything_is_saved(
    db: Database, jellyfin: FakeJellyfin
) -> None:
    with pytest.raises(InvalidInput, match=r"Jellyfin refused that token \(HTTP 401\): check --token"):
        await add_server(db, BOX, "jellyfin", "den", url=jellyfin.base, token="wrong")
    with pytest.raises(InvalidInput, match="--url"):
        await add_server(db, BOX, "jellyfin", "den", url="ftp://example", token="x")
    with pytest.raises(InvalidInput, match="server kind"):
        await add_server(db, BOX, "kodi", "den", url=jellyfin.base, token="x")
    with pytest.raises(InvalidInput, match="name"):
        await add_server(db, BOX, "jellyfin", "../../etc", url=jellyfin.base, token=jellyfin.token)
    assert await list_servers(db) == []
    async with db.session() as session:
        stored = await session.scalar(select(MediaServer.api_key_encrypted))
    assert stored is None
    await add_server(db, BOX, "jellyfin", "den", url=jellyfin.base, token=jellyfin.token)
    async with db.session() as session:
        sealed = await session.scalar(select(MediaServer.api_key_encrypted))
    assert sealed
    assert jellyfin.token not in sealed
    assert BOX.open(sealed) == jellyfin.token
    assert await remove_server(db, "DEN") == "jellyfin"
    assert await list_servers(db) == []


@pytest.mark.parametrize("fault", ["timeout", "401", "malformed", "vanish"])
async def test_a_failing_server_leaves_the_library_as_it_was_and_records_why(
    db: Database, jellyfin: FakeJellyfin, fault: str
) -> None:
    for number in range(120):  # three pages of 50
        jellyfin.library.movie(f"m{number}", f"Film {number}", tmdb=10_000 + number)
    await add_server(db, BOX, "jellyfin", "den", url=jellyfin.base, token=jellyfin.token)
    await sync(db, "den")
    jellyfin.library.remove("m0")
    jellyfin.library.movie("new", "A New Film", tmdb=20_000)
    if fault == "timeout":
        jellyfin.faults.delay = 1.5
        expected: type[Exception] = UpstreamUnavailable
    elif fault == "401":
        jellyfin.faults.status = 401
        expected = UpstreamAuthFailed
    elif fault == "malformed":
        jellyfin.faults.malformed = True
        expected = UpstreamBadResponse
    else:
        jellyfin.faults.vanish_after, jellyfin.faults.pages_served = 1, 0
        expected = UpstreamUnavailable
    with pytest.raises(expected):
        await sync(db, "den", full=True)
    async with db.session() as session:
        held = await session.scalar(select(func.count()).select_from(LibraryItem))
        server = await session.scalar(select(MediaServer))
    assert held == 120  # nothing removed by a sync that did not finish
    assert server is not None
    assert server.last_sync_success is False
    assert server.last_sync_error
    assert jellyfin.token not in server.last_sync_error
    assert await media_status(db, tmdb=10_000) == MediaStatus.AVAILABLE

    jellyfin.faults.delay, jellyfin.faults.status, jellyfin.faults.malformed, jellyfin.faults.vanish_after = (
        0,
        None,
        False,
        None,
    )
    recovered = await sync(db, "den", full=True)
    assert recovered.removed == 1
    assert await media_status(db, tmdb=10_000) == MediaStatus.DELETED
    assert await media_status(db, tmdb=20_000) == MediaStatus.AVAILABLE


@pytest.mark.parametrize("flavour", ["jellyfin", "emby", "plex"])
async def test_what_people_watch_moves_their_watchlist_and_is_in_the_feed(db: Database, flavour: str) -> None:
    alice = (await add_user(db, "alice", UserRole.USER)).id
    bob = (await add_user(db, "bob", UserRole.USER)).id  # not configured: his plays are nobody's
    fake: FakeJellyfin | FakePlex = FakePlex() if flavour == "plex" else FakeJellyfin(flavour=flavour)
    async with serving(fake):
        fake.library.movie("101", "The Matrix", tmdb=603)
        fake.library.show("202", "Breaking Bad", {1: 7, 2: 13}, tvdb=81189)
        if isinstance(fake, FakeJellyfin):
            fake.users = {"a1b2-c3": "Alice", "d4e5": "Bob"}
            account, other = "a1b2-c3", "d4e5"
            # Dashes and case differ from the server's way of writing the id.
            accounts = MediaAccounts(emby="A1B2C3") if flavour == "emby" else MediaAccounts(jellyfin="A1B2C3")
            await set_media_accounts(db, "alice", accounts)
            token = fake.token
        else:
            fake.accounts = {1: "alice_plex", 2: "bob_plex"}
            account, other = 1, 2  # type: ignore[assignment]
            await set_media_accounts(db, "alice", MediaAccounts(plex="Alice_Plex"))
            token = PLEX_TOKEN
        fake.plays[account] = [Play("101"), Play("202", 1, 3), Play("202", 1, 4)]  # type: ignore[index]
        fake.plays[other] = [Play("101")]  # type: ignore[index]
        await add_server(db, BOX, flavour, "home", url=fake.base, token=token)
        first = await sync(db, "home")
        assert first.watched_plays == 3
        assert first.watchlists_moved == 2
        film = await watchlists.entries(db, owner_id=alice, reader=alice)
        kinds = {entry.title: (entry.type, entry.season, entry.episode) for entry in film}
        assert kinds == {
            "The Matrix": (WatchlistType.WATCHED, None, None),
            "Breaking Bad": (WatchlistType.WATCHING, 1, 4),
        }
        assert await watchlists.entries(db, owner_id=bob, reader=bob) == []
        seen = [(e.type, e.title, e.details) for e in await feed(db, reader=alice, types=WATCHED)]
        assert (ActivityType.MOVIE_WATCHED, "The Matrix", None) in [(t, n, d or None) for t, n, d in seen]
        assert any(t == ActivityType.EPISODE_WATCHED and (d or {}).get("episode") == 4 for t, _, d in seen)

        again = await sync(db, "home")
        assert again.watched_plays == 0  # nothing new: nothing written, nothing moved
        assert again.watchlists_moved == 0
        fake.plays[account].append(Play("202", 2, 1))  # type: ignore[index]
        later = await sync(db, "home")
        assert later.watchlists_moved == 1
        (show,) = [
            entry
            for entry in await watchlists.entries(db, owner_id=alice, reader=alice)
            if entry.title == "Breaking Bad"
        ]
        assert (show.season, show.episode) == (2, 1)


async def test_part_of_a_season_is_not_the_season(
    db: Database, jellyfin: FakeJellyfin, conversation: Conversation
) -> None:
    """With the show's real season lengths (the catalog's: Breaking Bad's first season has 7 episodes), a
    server holding 5 of them has part of season 1, and a request for it waits for the rest."""
    jellyfin.library.show("s1", "Breaking Bad", {1: 5, 2: 13}, tvdb=81189)
    show = await approved(db, "bob", ContentType.SERIES, tvdb_id=81189, seasons=[1, 2])
    await add_server(db, BOX, "jellyfin", "den", url=jellyfin.base, token=jellyfin.token)
    server = await find_server(db, "den")
    await sync_server(db, BOX, server, settings=QUICK, discovery=conversation.discovery)
    assert (await requests.get(db, show)).status == RequestStatus.PARTIAL  # season 2 whole, season 1 not
    async with db.session() as session:
        seasons = dict(
            (
                await session.execute(
                    select(MediaSeason.season_number, MediaSeason.status).join(Media).where(Media.tvdb_id == 81189)
                )
            ).all()
        )
    assert seasons[1] == MediaStatus.PARTIALLY_AVAILABLE
    assert seasons[2] == MediaStatus.AVAILABLE
    assert seasons[3] == MediaStatus.UNKNOWN  # known to exist, on no server
    jellyfin.library.add_episodes("s1", 1, 2)
    await sync_server(db, BOX, await find_server(db, "den"), settings=QUICK, discovery=conversation.discovery)
    assert (await requests.get(db, show)).status == RequestStatus.AVAILABLE
