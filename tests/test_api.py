"""The HTTP API through real HTTP on 127.0.0.1 against the real core: each route's happy path, its validation
rules (400 naming the field), authentication (401) and the core's permission rules (403, 404, 409)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
import websockets
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families

from bots.conversation.conversation import Conversation
from bots.http.app import build_app, http_server
from core.config import Settings, SyncSettings
from core.db.session import Database
from core.enums import UserRole
from core.errors import StartupError
from core.pubsub import RedisSignals
from core.secretbox import SecretBox
from core.services.identity import issue_api_key, revoke_api_key
from core.services.library_sync import find_server, sync_server
from core.services.servers import add_server
from core.services.users import add_user
from core.services.webhook_syncs import SyncTrigger

from .backends import backends, end_backends
from .fake_media import FakeJellyfin
from .fake_tmdb import serve_tmdb
from .fakes import serving
from .metadata_helpers import discovery_service, tmdb_provider

BOX = SecretBox(Fernet.generate_key())


@pytest.fixture
async def api(db: Database, conversation: Conversation) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.model_validate({"api": {"port": 0}})
    app = build_app(settings, db, BOX, SyncTrigger(db, BOX, settings.sync), conversation.discovery)
    async with http_server(app, settings.api) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        yield client


async def key_for(db: Database, name: str, role: UserRole) -> dict[str, str]:
    await add_user(db, name, role)
    return {"X-Api-Key": await issue_api_key(db, name)}


def refused(answer: httpx.Response, status: int, field: str | None = None) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"code", "message"}
    if field is not None:
        assert body["message"].startswith(field), body
    return str(body["message"])


async def test_a_caller_is_known_by_their_api_key(db: Database, api: httpx.AsyncClient) -> None:
    alice = await key_for(db, "alice", UserRole.USER)
    refused(await api.get("/api/v3/requests/my"), 401)
    refused(await api.get("/api/v3/requests/my", headers={"X-Api-Key": "idk_not-a-real-key"}), 401)
    refused(await api.get("/api/v3/requests/my", headers={"X-Api-Key": "x" * 500}), 400, "x-api-key")
    assert (await api.get("/api/v3/requests/my", headers=alice)).json() == {"data": []}
    assert await revoke_api_key(db, "alice")
    settings = Settings.model_validate({"api": {"port": 0}})
    fresh = build_app(settings, db, BOX, SyncTrigger(db, BOX, settings.sync))  # past the 10 s a key is trusted
    async with (
        http_server(fresh, settings.api) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as other,
    ):
        refused(await other.get("/api/v3/requests/my", headers=alice), 401)
    # A path or method no route serves answers in the same shape as every other refusal, saying what does.
    assert "/api/v3/openapi.json" in refused(await api.get("/api/v3/nothing-here", headers=alice), 404)
    wrong = await api.delete("/api/v3/requests", headers=alice)
    assert refused(wrong, 405) == "/api/v3/requests takes GET or POST, not DELETE"
    assert wrong.headers["allow"] == "GET, POST"
    assert refused(await api.put("/api/v3/requests/1/approve", headers=alice), 405).endswith("takes POST, not PUT")
    document = (await api.get("/api/v3/openapi.json")).json()
    assert {"/api/v3/discovery", "/api/v3/requests", "/api/v3/requests/{request_id}/deny", "/api/v3/activity"} <= set(
        document["paths"]
    )


async def test_discovery_routes_and_their_rules(db: Database, api: httpx.AsyncClient) -> None:
    alice = await key_for(db, "alice", UserRole.USER)

    async def get(path: str, **params: str | int) -> httpx.Response:
        return await api.get(f"/api/v3/discovery{path}", params=params, headers=alice)

    page = await api.get(
        "/api/v3/discovery", params={"type": "popular", "contentType": "movie", "pageSize": 5}, headers=alice
    )
    assert page.status_code == 200
    items = page.json()["data"]["items"]
    assert 1 <= len(items) <= 5
    assert {item["type"] for item in items} == {"movie"}
    refused(await get("", type="popular", pageSize=0), 400, "pageSize")
    refused(await get("", type="popular", pageSize=101), 400, "pageSize")
    refused(await get("", type="sideways"), 400, "type")
    assert refused(await get("", type="popular", language="english"), 400, "language") == (
        "language: should be a language code such as en or en-US"
    )
    refused(await get(""), 400, "type")
    found = await get("/search", term="the matrix")
    assert "The Matrix" in [item["title"] for item in found.json()["data"]["items"]]
    refused(await get("/search", term=""), 400, "term")
    refused(await get("/search", term="   "), 400, "term")
    similar = await get("/similar/603", contentType="movie")
    assert similar.status_code == 200
    refused(await get("/similar/603"), 400, "contentType")
    refused(await get("/similar/abc", contentType="movie"), 400, "mediaId")
    assert (await get("/upcoming", days=30)).status_code == 200
    refused(await get("/upcoming", days=0), 400, "days")
    refused(await get("/upcoming", days=366), 400, "days")


async def test_discovery_asks_tmdb_in_the_language_given(db: Database, redis_client: aioredis.Redis) -> None:
    settings = Settings.model_validate({"api": {"port": 0}})
    async with serve_tmdb() as fake, tmdb_provider(fake) as tmdb:
        discovery = discovery_service(db, redis_client, tmdb)
        app = build_app(settings, db, BOX, SyncTrigger(db, BOX, settings.sync), discovery)
        async with (
            http_server(app, settings.api) as port,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api,
        ):
            alice = await key_for(db, "alice", UserRole.USER)
            for language in ("fr-FR", None):
                params = {"type": "popular", "contentType": "movie"} | ({"language": language} if language else {})
                answer = await api.get("/api/v3/discovery", params=params, headers=alice)
                assert answer.status_code == 200, answer.text
    assert fake.languages["fr-FR"] >= 1
    assert fake.languages["en-US"] >= 1  # the default, as the bots ask
    assert fake.calls["movie/popular"] == 2  # each language cached on its own


async def test_requests_go_through_the_cores_rules(db: Database, api: httpx.AsyncClient) -> None:
    alice = await key_for(db, "alice", UserRole.USER)
    mod = await key_for(db, "mod", UserRole.MODERATOR)
    script = await key_for(db, "dashboard", UserRole.API_USER)

    async def ask(body: object) -> httpx.Response:
        return await api.post("/api/v3/requests", json=body, headers=alice)

    made = await ask({"contentType": "movie", "tmdbId": 603})
    assert made.status_code == 201, made.text
    request = made.json()["data"]
    assert (request["outcome"], request["title"], request["status"]) == ("created", "The Matrix", "pending")
    show = await api.post(
        "/api/v3/requests",
        json={"contentType": "series", "tvdbId": 81189, "seasons": [{"seasonNumber": 1, "monitored": True}]},
        headers=alice,
    )
    assert show.json()["data"]["seasons"] == [1]

    refused(await ask({"contentType": "movie"}), 400, "tmdbId")
    refused(await ask({"contentType": "book", "tmdbId": 1}), 400, "contentType")
    refused(await ask({"contentType": "movie", "tmdbId": -3}), 400, "tmdbId")
    refused(
        await ask({"contentType": "movie", "tmdbId": 603, "x": 1}),
        400,
        "x",
    )
    assert refused(await ask({"contentType": "movie", "imdbId": "nm0000206"}), 400, "imdbId") == (
        "imdbId: should be an IMDb id such as tt0133093"
    )
    refused(
        await api.post(
            "/api/v3/requests", json={"contentType": "movie", "tmdbId": 550, "qualityProfileId": 4}, headers=alice
        ),
        400,
        "qualityProfileId",
    )
    as_json = {**alice, "Content-Type": "application/json"}
    assert refused(await api.post("/api/v3/requests", content=b"{not json", headers=as_json), 400).startswith(
        "body: not valid JSON ("
    )
    assert refused(await api.post("/api/v3/requests", content=b"[1]", headers=as_json), 400) == (
        "body: should be a JSON object"
    )
    form = await api.post("/api/v3/requests", data={"contentType": "movie", "tmdbId": "550"}, headers=alice)
    assert refused(form, 400).endswith(
        "sent with Content-Type: application/json (this one came as application/x-www-form-urlencoded)"
    )
    unknown = await ask({"contentType": "movie", "tmdbId": 99_999_999})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "title.unknown"), unknown.text

    refused(await api.get("/api/v3/requests", headers=alice), 403)  # not everyone's: only their own
    everyone = await api.get("/api/v3/requests", params={"status": "pending"}, headers=script)
    assert len(everyone.json()["data"]) == 2
    refused(await api.get("/api/v3/requests", params={"status": "lost"}, headers=script), 400, "status")
    mine = await api.get("/api/v3/requests/my", headers=alice)
    assert [r["title"] for r in mine.json()["data"]] == ["Breaking Bad", "The Matrix"]

    request_id = request["id"]
    refused(await api.post(f"/api/v3/requests/{request_id}/approve", headers=alice), 403)
    refused(await api.post(f"/api/v3/requests/{request_id}/approve", headers=script), 403)  # api-user: no deciding
    approved = await api.post(f"/api/v3/requests/{request_id}/approve", headers=mod)
    assert approved.json()["data"]["status"] == "approved"
    assert "already approved by mod" in refused(
        await api.post(f"/api/v3/requests/{request_id}/approve", headers=mod), 409
    )
    refused(await api.post("/api/v3/requests/99999/approve", headers=mod), 404)
    refused(await api.post("/api/v3/requests/0/approve", headers=mod), 400, "request_id")
    show_id = show.json()["data"]["id"]
    refused(await api.post(f"/api/v3/requests/{show_id}/deny", json={"reason": ""}, headers=mod), 400, "reason")
    refused(await api.post(f"/api/v3/requests/{show_id}/deny", json={"reason": "x" * 501}, headers=mod), 400, "reason")
    refused(await api.post(f"/api/v3/requests/{show_id}/deny", json={}, headers=mod), 400, "reason")
    denied = await api.post(f"/api/v3/requests/{show_id}/deny", json={"reason": "not this year"}, headers=mod)
    decided = denied.json()["data"]
    assert (decided["denial_reason"], decided["denied_by"], decided["approved_by"]) == ("not this year", "mod", None)


async def test_a_database_that_stops_answering_gets_a_503_to_retry_and_the_next_call_is_served(
    db: Database, conversation: Conversation
) -> None:
    alice = await key_for(db, "alice", UserRole.USER)
    others = await backends(db)  # the test database's own connections, left alone
    own = Database(url=db.url, pool_size=2)  # this server's, each used a moment ago and trusted
    settings = Settings.model_validate({"api": {"port": 0}})
    app = build_app(settings, own, BOX, SyncTrigger(own, BOX, settings.sync), conversation.discovery)
    try:
        async with (
            http_server(app, settings.api) as port,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=alice) as client,
        ):
            assert (await client.get("/api/v3/requests/my")).status_code == 200
            await end_backends(db, await backends(db) - others)
            lost = await client.get("/api/v3/requests/my")
            assert "try again" in refused(lost, 503)
            assert lost.headers["retry-after"] == "5"
            assert (await client.get("/api/v3/requests/my")).json() == {"data": []}
            assert (
                await client.post("/api/v3/requests", json={"contentType": "movie", "tmdbId": 603})
            ).status_code == 201
    finally:
        await own.dispose()


async def test_activity_routes(db: Database, api: httpx.AsyncClient) -> None:
    alice = await key_for(db, "alice", UserRole.USER)
    await api.post("/api/v3/requests", json={"contentType": "movie", "tmdbId": 603}, headers=alice)
    feed = await api.get("/api/v3/activity", params={"type": "request_created", "contentType": "movie"}, headers=alice)
    assert [entry["title"] for entry in feed.json()["data"]] == ["The Matrix"]
    mine = await api.get("/api/v3/activity/my", headers=alice)
    assert "request_created" in [entry["type"] for entry in mine.json()["data"]]
    refused(await api.get("/api/v3/activity", params={"limit": 0}, headers=alice), 400, "limit")
    refused(await api.get("/api/v3/activity", params={"limit": 101}, headers=alice), 400, "limit")
    refused(await api.get("/api/v3/activity", params={"offset": -1}, headers=alice), 400, "offset")
    refused(await api.get("/api/v3/activity", params={"type": "nonsense"}, headers=alice), 400, "type")


async def test_watchlist_routes(db: Database, api: httpx.AsyncClient) -> None:
    alice = await key_for(db, "alice", UserRole.USER)
    bob = await key_for(db, "bob", UserRole.USER)
    added = await api.post("/api/v3/watchlist", json={"contentType": "series", "tvdbId": 81189}, headers=alice)
    assert added.status_code == 201, added.text
    assert (added.json()["data"]["title"], added.json()["data"]["type"]) == ("Breaking Bad", "watchlist")
    refused(await api.post("/api/v3/watchlist", json={"contentType": "series", "tvdbId": 81189}, headers=alice), 409)
    refused(await api.post("/api/v3/watchlist", json={"contentType": "movie"}, headers=alice), 400, "tmdbId")
    refused(
        await api.post(
            "/api/v3/watchlist", json={"contentType": "movie", "tmdbId": 603, "list": "later"}, headers=alice
        ),
        400,
        "list",
    )
    change = {"contentType": "series", "tvdbId": 81189, "list": "watching", "season": 2, "episode": 3, "rating": 9}
    changed = await api.patch("/api/v3/watchlist", json=change, headers=alice)
    assert (changed.json()["data"]["season"], changed.json()["data"]["rating"]) == (2, 9)
    refused(await api.patch("/api/v3/watchlist", json={**change, "rating": 11}, headers=alice), 400, "rating")
    refused(await api.patch("/api/v3/watchlist", json={**change, "clearRating": True}, headers=alice), 400, "rating")
    cleared = await api.patch(
        "/api/v3/watchlist", json={"contentType": "series", "tvdbId": 81189, "clearRating": True}, headers=alice
    )
    assert cleared.json()["data"]["rating"] is None
    refused(
        await api.patch("/api/v3/watchlist", json={"contentType": "movie", "tmdbId": 603, "rating": 5}, headers=alice),
        404,
    )
    mine = await api.get("/api/v3/watchlist", headers=alice)
    assert [entry["title"] for entry in mine.json()["data"]] == ["Breaking Bad"]
    gone = await api.delete("/api/v3/watchlist", params={"contentType": "series", "tvdbId": 81189}, headers=alice)
    assert gone.json() == {"data": {"removed": "Breaking Bad"}}
    refused(
        await api.delete("/api/v3/watchlist", params={"contentType": "series", "tvdbId": 81189}, headers=alice), 404
    )
    assert (await api.get("/api/v3/watchlist", headers=bob)).json() == {"data": []}


async def test_each_key_has_a_rate_limit(
    db: Database, redis_client: aioredis.Redis, conversation: Conversation
) -> None:
    settings = Settings.model_validate({"api": {"port": 0, "rate_per_minute": 5}})
    app = build_app(settings, db, BOX, SyncTrigger(db, BOX, settings.sync), conversation.discovery, redis_client)
    alice = await key_for(db, "alice", UserRole.USER)
    bob = await key_for(db, "bob", UserRole.USER)
    async with http_server(app, settings.api) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
        statuses = [(await api.get("/api/v3/requests/my", headers=alice)).status_code for _ in range(7)]
        limited = await api.get("/api/v3/requests/my", headers=alice)
        other = await api.get("/api/v3/requests/my", headers=bob)
    if statuses.count(200) < 5:  # a minute's window turned over mid-test: the count started again
        assert statuses.count(200) + statuses.count(429) == 7
    else:
        assert statuses == [200] * 5 + [429] * 2
    refused(limited, 429)
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert other.status_code == 200  # each key its own


async def test_a_port_already_taken_is_one_clear_line(db: Database, conversation: Conversation) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings.model_validate({"api": {"port": port}})
        app = build_app(settings, db, BOX, SyncTrigger(db, BOX, settings.sync), conversation.discovery)
        with pytest.raises(StartupError, match=rf"cannot listen on 127.0.0.1:{port} .*IDKARR_API__PORT"):
            async with http_server(app, settings.api):
                pass


async def _events(lines: AsyncIterator[str], count: int) -> list[dict[str, str]]:
    """The next `count` events of a Server-Sent Events stream's lines (keep-alive comments skipped)."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async with asyncio.timeout(10):
        async for line in lines:
            if not line:
                if current:
                    events.append(current)
                    current = {}
                    if len(events) == count:
                        return events
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(": ")
            current[field] = value
    return events


async def test_the_live_stream_sends_what_happens_and_what_was_missed(
    db: Database, redis_client: aioredis.Redis, conversation: Conversation
) -> None:
    settings = Settings.model_validate({"api": {"port": 0}})
    db.after_commit = RedisSignals(redis_client, settings.redis.key_prefix)  # commits wake the stream
    app = build_app(settings, db, BOX, SyncTrigger(db, BOX, settings.sync), conversation.discovery, redis_client)
    alice = await key_for(db, "alice", UserRole.USER)
    script = await key_for(db, "dashboard", UserRole.API_USER)
    async with http_server(app, settings.api) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
        refused(await api.get("/api/v3/activity/stream", headers=script), 403)  # api-user: no feed
        refused(
            await api.get("/api/v3/activity/stream", headers={**alice, "Last-Event-ID": "x1"}), 400, "last-event-id"
        )
        async with api.stream("GET", "/api/v3/activity/stream", headers=alice) as live:
            assert live.headers["content-type"].startswith("text/event-stream")
            await asyncio.sleep(0.2)  # subscribed
            await api.post("/api/v3/requests", json={"contentType": "movie", "tmdbId": 603}, headers=alice)
            (first,) = await _events(live.aiter_lines(), 1)
        assert first["event"] == "request_created"
        assert json.loads(first["data"])["title"] == "The Matrix"
        # While disconnected, two more things happen; reconnecting says where it stopped.
        await api.post("/api/v3/requests", json={"contentType": "movie", "tmdbId": 550}, headers=alice)
        await api.post("/api/v3/requests", json={"contentType": "series", "tvdbId": 81189}, headers=alice)
        resumed = {**alice, "Last-Event-ID": first["id"]}
        async with api.stream("GET", "/api/v3/activity/stream", headers=resumed) as again:
            lines = again.aiter_lines()
            missed = await _events(lines, 2)
            await api.post("/api/v3/requests", json={"contentType": "movie", "tmdbId": 155}, headers=alice)
            (later,) = await _events(lines, 1)
    titles = [json.loads(event["data"])["title"] for event in [*missed, later]]
    assert titles == ["Fight Club", "Breaking Bad", "The Dark Knight"]
    ids = [int(event["id"]) for event in [first, *missed, later]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 4


async def test_the_websocket_sends_what_happens_in_order_and_resumes_after_an_id(
    db: Database, redis_client: aioredis.Redis, conversation: Conversation
) -> None:
    settings = Settings.model_validate({"api": {"port": 0}})
    db.after_commit = RedisSignals(redis_client, settings.redis.key_prefix)
    app = build_app(settings, db, BOX, SyncTrigger(db, BOX, settings.sync), conversation.discovery, redis_client)
    alice = await key_for(db, "alice", UserRole.USER)
    script = await key_for(db, "dashboard", UserRole.API_USER)

    async def closed_with(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        async with websockets.connect(url, additional_headers=headers) as socket_:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket_.recv(), 5)
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code, closed.value.rcvd.reason

    async def next_entries(socket_: websockets.ClientConnection, count: int) -> list[dict[str, object]]:
        return [json.loads(await asyncio.wait_for(socket_.recv(), 10)) for _ in range(count)]

    async with http_server(app, settings.api) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
        url = f"ws://127.0.0.1:{port}/api/v3/ws"
        code, reason = await closed_with(url)
        assert code == 4401
        assert "X-Api-Key" in reason
        assert (await closed_with(url, {"X-Api-Key": "idk_wrong"}))[0] == 4401
        assert (await closed_with(url, script))[0] == 4403  # an api-user does not see the feed
        assert (await closed_with(f"{url}?after=x", alice))[0] == 4400

        async with websockets.connect(url, additional_headers=alice) as live:
            await asyncio.sleep(0.2)  # subscribed
            await api.post("/api/v3/requests", json={"contentType": "movie", "tmdbId": 603}, headers=alice)
            (first,) = await next_entries(live, 1)
        assert first["type"] == "request_created"
        assert first["data"]["title"] == "The Matrix"  # type: ignore[index]
        await api.post("/api/v3/requests", json={"contentType": "movie", "tmdbId": 550}, headers=alice)
        await api.post("/api/v3/requests", json={"contentType": "series", "tvdbId": 81189}, headers=alice)
        key = alice["X-Api-Key"]
        async with websockets.connect(f"{url}?after={first['id']}&apiKey={key}") as again:
            missed = await next_entries(again, 2)
            await api.post("/api/v3/requests", json={"contentType": "movie", "tmdbId": 155}, headers=alice)
            (later,) = await next_entries(again, 1)
    titles = [entry["data"]["title"] for entry in [*missed, later]]  # type: ignore[index]
    assert titles == ["Fight Club", "Breaking Bad", "The Dark Knight"]
    ids = [int(entry["id"]) for entry in [first, *missed, later]]  # type: ignore[call-overload]
    assert ids == sorted(ids)
    assert len(set(ids)) == 4


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_interactions_requests_upstream_calls_cache_outbox_and_syncs(
    db: Database, api: httpx.AsyncClient, conversation: Conversation
) -> None:
    before = _samples((await api.get("/metrics")).text)
    alice = await key_for(db, "alice", UserRole.USER)
    await add_user(db, "mod", UserRole.MODERATOR)  # someone to tell: the outbox has work
    await conversation.say("/help")
    await api.get("/api/v3/discovery", params={"type": "popular"}, headers=alice)
    await api.get("/api/v3/discovery", params={"type": "popular"}, headers=alice)
    assert (await api.post("/api/v3/requests", json={"contentType": "movie", "tmdbId": 603}, headers=alice)).is_success
    async with serving(FakeJellyfin()) as jellyfin:
        jellyfin.library.movie("m1", "The Matrix", tmdb=603)
        await add_server(db, BOX, "jellyfin", "Den", url=jellyfin.base, token=jellyfin.token)
        await sync_server(db, BOX, await find_server(db, "Den"), settings=SyncSettings())

    answer = await api.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    after = _samples(answer.text)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("idkarr_interactions_total", front_end="console", kind="message") == 1
    assert grew("idkarr_cache_lookups_total", result="hit") >= 1
    assert grew("idkarr_upstream_calls_total", service="Jellyfin", outcome="2xx") >= 2
    assert grew("idkarr_sync_duration_seconds_count", server="Den", kind="full") == 1
    assert after[("idkarr_requests", (("status", "pending"),))] == 1
    assert after[("idkarr_outbox_messages", (("status", "pending"),))] >= 1
    assert ("idkarr_outbox_lag_seconds", ()) in after
    assert ("idkarr_handoff_waiting", ()) in after
