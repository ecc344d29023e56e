"""The download side, end to end against fake Sonarr and Radarr through the real clients: an approval is sent
with the body their API takes, their import webhook makes the request available at once and its requester is
told; a refusal fails the request with the reason, and a retry sends it again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bots.conversation.conversation import Conversation
from bots.http.app import build_app, http_server
from core.config import Settings
from core.db.models import OutboxMessage
from core.db.session import Database
from core.enums import ActivityType, ContentType, RequestStatus, UserRole
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.metadata.types import Title, TitleDetails
from core.runtime import Runtime
from core.secretbox import SecretBox, secret_box
from core.services import requests
from core.services.activity import feed
from core.services.discovery_setup import open_discovery
from core.services.handoff import send_due
from core.services.servers import add_server
from core.services.users import add_user
from core.services.webhook_syncs import SyncTrigger

from .chat import people
from .fake_arr import FakeArr
from .fakes import serving

BOX = SecretBox(Fernet.generate_key())
SECRET = "webhook-secret-0123456789"
CATALOG = OfflineCatalog()


@pytest.fixture
async def sonarr() -> AsyncIterator[FakeArr]:
    async with serving(FakeArr("Sonarr")) as fake:
        fake.known[81189] = {
            "title": "Breaking Bad",
            "tvdbId": 81189,
            "year": 2008,
            "seasons": [{"seasonNumber": n, "monitored": False} for n in range(0, 6)],
        }
        yield fake


@pytest.fixture
async def radarr() -> AsyncIterator[FakeArr]:
    async with serving(FakeArr("Radarr")) as fake:
        fake.known[603] = {"title": "The Matrix", "tmdbId": 603, "year": 1999}
        yield fake


async def told(db: Database, event: str, user: int) -> int:
    async with db.session() as session:
        query = select(func.count()).where(OutboxMessage.event == event, OutboxMessage.recipient_user_id == user)
        return int(await session.scalar(query) or 0)


async def test_an_approved_show_goes_to_sonarr_and_its_import_makes_it_available(db: Database, sonarr: FakeArr) -> None:
    alice = (await add_user(db, "alice", UserRole.USER)).id
    mod = (await add_user(db, "mod", UserRole.MODERATOR)).id
    await add_server(db, BOX, "sonarr", "TV", url=sonarr.base, token=sonarr.key)
    details = await CATALOG.details(ContentType.SERIES, ExternalIds(tvdb_id=81189))
    made = await requests.create(db, details, actor_id=alice, seasons=[1, 2])
    await requests.approve(db, made.request.id, actor_id=mod)

    assert await send_due(db, BOX) == 1
    assert await send_due(db, BOX) == 0  # sent once
    (body,) = sonarr.added
    assert body["tvdbId"] == 81189
    assert body["title"] == "Breaking Bad"
    assert body["qualityProfileId"] == 1
    assert body["rootFolderPath"] == "/tv"
    assert [s["seasonNumber"] for s in body["seasons"] if s["monitored"]] == [1, 2]
    assert body["seriesType"] == "standard"
    assert body["seasonFolder"] is True
    assert body["addOptions"]["searchForMissingEpisodes"] is True
    assert [tag["label"] for tag in sonarr.tags] == ["idkarr-alice"]
    assert body["tags"] == [1]

    settings = Settings.model_validate({"api": {"port": 0, "webhook_secret": SECRET}})
    app = build_app(settings, db, BOX, SyncTrigger(db, BOX, settings.sync))
    async with http_server(app, settings.api) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
        series_id = next(iter(sonarr.library))
        event = {
            "eventType": "Download",
            "series": {"id": series_id, "tvdbId": 81189, "title": "Breaking Bad"},
            "episodes": [{"seasonNumber": 1, "episodeNumber": 1}],
        }
        refused = await web.post("/api/v3/webhooks/sonarr", json=event, headers={"X-Idkarr-Secret": "wrong" * 4})
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthenticated"
        malformed = await web.post(
            "/api/v3/webhooks/sonarr",
            json={"eventType": "Download", "series": {"id": "x"}},
            headers={"X-Idkarr-Secret": SECRET},
        )
        assert malformed.status_code == 400
        assert "series" in malformed.json()["message"]
        assert (await requests.get(db, made.request.id)).status == RequestStatus.APPROVED

        sonarr.import_files(series_id, season=1)
        started = time.perf_counter()
        first = await web.post("/api/v3/webhooks/sonarr", json=event, params={"secret": SECRET})
        assert first.status_code == 200
        assert first.json()["requests"] == [made.request.id]
        assert time.perf_counter() - started < 5
        assert (await requests.get(db, made.request.id)).status == RequestStatus.PARTIAL
        sonarr.import_files(series_id, season=2)
        await web.post("/api/v3/webhooks/sonarr", json=event, headers={"X-Idkarr-Secret": SECRET})
    assert (await requests.get(db, made.request.id)).status == RequestStatus.AVAILABLE
    assert await told(db, "request_available", alice) == 1


async def test_a_refused_film_fails_with_the_reason_and_a_retry_sends_it_again(db: Database, radarr: FakeArr) -> None:
    alice = (await add_user(db, "alice", UserRole.USER)).id
    mod = (await add_user(db, "mod", UserRole.MODERATOR)).id
    await add_server(db, BOX, "radarr", "Movies", url=radarr.base, token=radarr.key)
    details = await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=603))
    made = await requests.create(db, details, actor_id=alice)
    radarr.library[99] = {"id": 99, "tmdbId": 603, "title": "The Matrix", "monitored": False}  # already there
    await requests.approve(db, made.request.id, actor_id=mod)
    assert await send_due(db, BOX) == 1
    assert radarr.added == []  # not added twice: monitored and searched instead
    assert radarr.updated[0]["monitored"] is True
    assert radarr.commands == [{"name": "MoviesSearch", "movieIds": [99]}]

    del radarr.library[99]
    radarr.fail_with = 400
    await requests.mark_failed(db, made.request.id, reason="test")
    await requests.retry(db, made.request.id, actor_id=mod)
    assert await send_due(db, BOX) == 1
    failed = await requests.get(db, made.request.id)
    assert failed.status == RequestStatus.FAILED
    assert "Radarr" in (failed.failure_reason or "")
    assert await told(db, "request_failed", alice) >= 1

    radarr.fail_with = None
    await requests.retry(db, made.request.id, actor_id=mod)
    assert await send_due(db, BOX) == 1
    (body,) = radarr.added
    assert body["tmdbId"] == 603
    assert body["minimumAvailability"] == "released"
    assert body["addOptions"] == {"searchForMovie": True}
    assert body["monitored"] is True
    assert (await requests.get(db, made.request.id)).status == RequestStatus.APPROVED


async def test_a_requests_details_show_what_is_downloading_for_it(
    db: Database, redis_client: aioredis.Redis, sonarr: FakeArr
) -> None:
    settings = Settings.model_validate({"security": {"secret_key": "details-test-key"}})
    box = secret_box(settings)
    runtime = Runtime(settings=settings, database=db, redis=redis_client, started_at=time.perf_counter())
    who = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    await add_server(db, box, "sonarr", "TV", url=sonarr.base, token=sonarr.key)
    async with open_discovery(runtime) as discovery:
        conversation = Conversation(runtime=runtime, discovery=discovery)
        await conversation.say("/request series 81189 1", actor=who["alice"])
        await conversation.say("/approve 1", actor=who["mod"])
        before = await conversation.say("/details 1", actor=who["alice"])
        assert "Request #1" in before.text
        assert "download" not in before.text.lower()
        assert await send_due(db, box) == 1
        sonarr.queue = [
            {
                "title": "Breaking.Bad.S01E01.1080p",
                "status": "downloading",
                "trackedDownloadState": "downloading",
                "size": 1000,
                "sizeleft": 250,
                "timeleft": "00:04:10",
                "episode": {"seasonNumber": 1},
            }
        ]
        shown = await conversation.say("/details 1", actor=who["alice"])
        assert "Breaking.Bad.S01E01.1080p · downloading · 75% · 00:04:10 left" in shown.text
        sonarr.fail_with = 503
        down = await conversation.say("/details 1", actor=who["alice"])
        assert "can't be read right now" in down.text
        assert down.cards[0].title.startswith("Breaking Bad")
        sonarr.fail_with, sonarr.queue = None, []
        idle = await conversation.say("/details 1", actor=who["alice"])
        assert "Nothing is downloading" in idle.text
        missing = await conversation.say("/details 99", actor=who["alice"])
        assert missing.error
        assert "#99" in missing.text


async def test_two_senders_at_once_send_each_approval_once(db: Database, radarr: FakeArr) -> None:
    alice = (await add_user(db, "alice", UserRole.USER)).id
    mod = (await add_user(db, "mod", UserRole.MODERATOR)).id
    await add_server(db, BOX, "radarr", "Movies", url=radarr.base, token=radarr.key)
    for tmdb in range(1, 13):
        radarr.known[tmdb] = {"title": f"Film {tmdb}", "tmdbId": tmdb, "year": 2000}
        details = TitleDetails(Title(ContentType.MOVIE, f"Film {tmdb}", 2000, tmdb_id=tmdb))
        made = await requests.create(db, details, actor_id=alice)
        await requests.approve(db, made.request.id, actor_id=mod)
    counts = [*await asyncio.gather(*(send_due(db, BOX, batch=5) for _ in range(3)))]
    counts += await asyncio.gather(*(send_due(db, BOX, batch=5) for _ in range(2)))
    assert sum(counts) == 12
    assert sorted(body["tmdbId"] for body in radarr.added) == list(range(1, 13))


async def test_grabs_reach_the_feed_and_a_deletion_with_files_unfulfils_the_request(db: Database) -> None:
    alice = (await add_user(db, "alice", UserRole.USER)).id
    mod = (await add_user(db, "mod", UserRole.MODERATOR)).id
    details = await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=603))
    made = await requests.create(db, details, actor_id=alice)
    await requests.approve(db, made.request.id, actor_id=mod)
    settings = Settings.model_validate({"api": {"port": 0, "webhook_secret": SECRET}})
    app = build_app(settings, db, BOX, SyncTrigger(db, BOX, settings.sync))
    movie = {"id": 7, "tmdbId": 603, "title": "The Matrix"}
    signed = {"X-Idkarr-Secret": SECRET}
    async with http_server(app, settings.api) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
        grab = {"eventType": "Grab", "movie": movie, "release": {"releaseTitle": "The.Matrix.1999.1080p.BluRay"}}
        assert (await web.post("/api/v3/webhooks/radarr", json=grab, headers=signed)).json()["requests"] == [1]
        entries = await feed(db, reader=alice, types=[ActivityType.DOWNLOAD_STARTED])
        assert [(e.title, e.details) for e in entries] == [("The Matrix", {"release": "The.Matrix.1999.1080p.BluRay"})]
        imported = await web.post(
            "/api/v3/webhooks/radarr", json={"eventType": "Download", "movie": movie}, headers=signed
        )
        assert imported.json()["requests"] == [1]
        kept = {"eventType": "MovieDelete", "movie": movie, "deletedFiles": False}
        assert (await web.post("/api/v3/webhooks/radarr", json=kept, headers=signed)).json()["requests"] == []
        assert (await requests.get(db, made.request.id)).status == RequestStatus.AVAILABLE
        gone = {"eventType": "MovieDelete", "movie": movie, "deletedFiles": True}
        assert (await web.post("/api/v3/webhooks/radarr", json=gone, headers=signed)).json()["requests"] == [1]
        test = await web.post("/api/v3/webhooks/radarr", json={"eventType": "Test"}, headers=signed)
        assert test.status_code == 200
    removed = await requests.get(db, made.request.id)
    assert removed.status == RequestStatus.FAILED
    assert removed.failure_reason == "removed from the library (gone from Radarr)"


async def test_a_moderator_approves_into_the_profile_they_pick_and_no_one_else_can(
    db: Database, redis_client: aioredis.Redis, sonarr: FakeArr
) -> None:
    settings = Settings.model_validate({"security": {"secret_key": "placing-test-key"}})
    box = secret_box(settings)
    runtime = Runtime(settings=settings, database=db, redis=redis_client, started_at=time.perf_counter())
    who = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    await add_server(db, box, "sonarr", "TV", url=sonarr.base, token=sonarr.key)  # profiles Any and HD-1080p
    async with open_discovery(runtime) as discovery:
        conversation = Conversation(runtime=runtime, discovery=discovery)
        await conversation.say("/request series 81189 1", actor=who["alice"])
        listed = await conversation.say("/requests pending", actor=who["mod"])
        (card,) = listed.cards
        labels = [button.label for button in card.buttons]
        assert labels == ["Approve", "Deny", "Approve in…"]
        mine = await conversation.say("/requests", actor=who["alice"])
        assert "Approve in…" not in [button.label for button in mine.cards[0].buttons]

        refused = await conversation.press(card.buttons[2].token, actor=who["alice"])
        assert refused.error
        asked = await conversation.press(card.buttons[2].token, actor=who["mod"])
        assert asked.text == "Request #1 (Breaking Bad) into TV, with which quality profile?"
        assert [button.label for button in asked.buttons] == ["Any (default)", "HD-1080p", "Cancel"]
        assert (await requests.get(db, 1)).status == RequestStatus.PENDING  # nothing decided yet
        sneaky = await conversation.press(asked.buttons[1].token, actor=who["alice"])
        assert sneaky.error
        placed = await conversation.press(asked.buttons[1].token, actor=who["mod"])
        assert placed.text == "Request #1, Breaking Bad (2008), approved by mod into TV · HD-1080p · /tv (5 TB free)."
    assert await send_due(db, box) == 1
    assert sonarr.added[0]["qualityProfileId"] == 4


async def test_a_show_already_in_sonarr_gets_the_requested_seasons_monitored_and_searched(
    db: Database, sonarr: FakeArr
) -> None:
    alice = (await add_user(db, "alice", UserRole.USER)).id
    mod = (await add_user(db, "mod", UserRole.MODERATOR)).id
    await add_server(db, BOX, "sonarr", "TV", url=sonarr.base, token=sonarr.key)
    seasons = [{"seasonNumber": n, "monitored": n == 1} for n in range(0, 6)]
    sonarr.library[42] = {"id": 42, "tvdbId": 81189, "title": "Breaking Bad", "monitored": True, "seasons": seasons}
    details = await CATALOG.details(ContentType.SERIES, ExternalIds(tvdb_id=81189))
    made = await requests.create(db, details, actor_id=alice, seasons=[2, 3])
    await requests.approve(db, made.request.id, actor_id=mod)
    assert await send_due(db, BOX) == 1
    assert sonarr.added == []
    (put,) = sonarr.updated
    assert [season["seasonNumber"] for season in put["seasons"] if season["monitored"]] == [1, 2, 3]
    assert sonarr.commands == [{"name": "SeriesSearch", "seriesId": 42}]
