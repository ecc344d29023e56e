"""How syncs run: once per server across processes, from the scheduler, on a media server's push, and after
a sync killed half-way (the next run finishes it, nothing lost)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket

import httpx
import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bots.http.app import build_app, http_server
from core.config import Settings, SyncSettings
from core.db.models import LibraryItem, MediaServer
from core.db.session import Database
from core.enums import ContentType, RequestStatus, UserRole
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.scheduler import build_scheduler
from core.secretbox import SecretBox, secret_box
from core.services import requests
from core.services.library_sync import find_server, sync_due, sync_server
from core.services.servers import add_server
from core.services.users import add_user
from core.services.webhook_syncs import SyncTrigger
from core.upstream_errors import UpstreamUnavailable

from .conftest import Idkarr
from .fake_arr import FakeArr
from .fake_media import PLEX_TOKEN, FakeJellyfin, FakePlex
from .fakes import serving
from .processes import idkarr_command, idkarr_running

BOX = SecretBox(Fernet.generate_key())
SECRET = "push-secret-0123456789"


async def held(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(LibraryItem)) or 0)


async def until_held(db: Database, at_least: int, seconds: float = 10) -> None:
    """Wait until the library holds `at_least` items (polled: the work happens in other tasks or processes)."""
    for _ in range(int(seconds / 0.02)):
        if await held(db) >= at_least:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the library holds {await held(db)} items, not {at_least}")


async def test_a_server_is_synced_by_one_process_at_a_time_and_not_again_once_done(db: Database) -> None:
    async with serving(FakeJellyfin()) as fake:
        fake.library.movie("m1", "The Matrix", tmdb=603)
        await add_server(db, BOX, "jellyfin", "den", url=fake.base, token=fake.token)
        fake.faults.delay = 0.3
        server = await find_server(db, "den")
        first, second = await asyncio.gather(
            sync_server(db, BOX, server, settings=SyncSettings(timeout_seconds=5)),
            sync_server(db, BOX, server, settings=SyncSettings(timeout_seconds=5)),
        )
        outcomes = sorted([first.skipped or "ran", second.skipped or "ran"])
        assert outcomes == ["another idkarr process is syncing this server", "ran"]
        # Two schedulers that both saw the server due: the second finds it synced once it gets the lock.
        fake.faults.delay = 0
        assert await sync_due(db, BOX) == 0  # synced a moment ago: not due
        async with db.transaction() as session:
            row = await session.get(MediaServer, server.id)
            assert row is not None
            row.last_sync = None
        ran = await asyncio.gather(sync_due(db, BOX), sync_due(db, BOX))
        assert sorted(ran) == [0, 1]


async def test_the_scheduler_syncs_a_server_when_it_starts(db: Database) -> None:
    async with serving(FakeJellyfin()) as fake:
        fake.library.movie("m1", "The Matrix", tmdb=603)
        await add_server(db, BOX, "jellyfin", "den", url=fake.base, token=fake.token)
        scheduler = build_scheduler(Settings(), db, box=BOX)
        scheduler.start()
        try:
            await until_held(db, 1)
        finally:
            await scheduler.stop()
        assert (await find_server(db, "den")).last_sync_success is True


async def test_a_push_from_plex_or_jellyfin_syncs_that_server_soon(db: Database) -> None:
    settings = Settings.model_validate({"api": {"port": 0, "webhook_secret": SECRET}})
    syncs = SyncTrigger(db, BOX, settings.sync, gather_seconds=0.05)
    async with serving(FakePlex()) as plex, serving(FakeJellyfin()) as jellyfin:
        await add_server(db, BOX, "plex", "plex", url=plex.base, token=PLEX_TOKEN)
        await add_server(db, BOX, "jellyfin", "jelly", url=jellyfin.base, token=jellyfin.token)
        await sync_server(db, BOX, await find_server(db, "plex"))
        await sync_server(db, BOX, await find_server(db, "jelly"))
        plex.library.movie("101", "The Matrix", tmdb=603)
        jellyfin.library.movie("j1", "Fight Club", tmdb=550)
        app = build_app(settings, db, BOX, syncs)
        async with (
            http_server(app, settings.api) as port,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web,
        ):
            event = {"event": "library.new", "Server": {"uuid": "plex-machine-1", "title": "Plex"}, "Metadata": {}}
            bad = await web.post("/api/v3/webhooks/plex", params={"secret": SECRET}, data={"payload": "{not json"})
            assert bad.status_code == 400
            assert bad.json() == {"code": "error", "message": "payload: not a Plex webhook"}
            unsigned = await web.post("/api/v3/webhooks/plex", data={"payload": json.dumps(event)})
            assert unsigned.status_code == 401
            pushed = await web.post(
                "/api/v3/webhooks/plex", params={"secret": SECRET}, data={"payload": json.dumps(event)}
            )
            assert pushed.status_code == 202
            assert pushed.json()["syncs"] == ["plex"]
            item_added = {"NotificationType": "ItemAdded", "ServerId": "jellyfin-f00d", "ItemType": "Movie"}
            jelly = await web.post("/api/v3/webhooks/jellyfin", json=item_added, headers={"X-Idkarr-Secret": SECRET})
            assert jelly.json()["syncs"] == ["jelly"]
            await until_held(db, 2)
    await syncs.close()


async def test_webhooks_are_refused_until_a_secret_is_set(db: Database) -> None:
    settings = Settings.model_validate({"api": {"port": 0}})
    app = build_app(settings, db, BOX, SyncTrigger(db, BOX, settings.sync))
    async with http_server(app, settings.api) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
        answer = await web.post("/api/v3/webhooks/radarr", json={"eventType": "Test"})
    assert answer.status_code == 403
    assert "webhook_secret" in answer.json()["message"]


async def test_a_sync_killed_half_way_loses_nothing_on_the_next_run(db: Database, idkarr: Idkarr) -> None:
    settings = Settings.model_validate({"data_dir": idkarr.env["IDKARR_DATA_DIR"]})
    box = secret_box(settings)  # the same key file the idkarr processes use
    async with serving(FakeJellyfin()) as fake:
        for number in range(200):
            fake.library.movie(f"m{number}", f"Film {number}", tmdb=10_000 + number)
        await add_server(db, box, "jellyfin", "den", url=fake.base, token=fake.token)
        fake.faults.delay = 0.25  # each page of 20 takes a while: time to kill it half-way
        env = {**idkarr.env, "IDKARR_SYNC__PAGE_SIZE": "50", "IDKARR_SYNC__CONCURRENCY": "1"}
        process = await asyncio.create_subprocess_exec(
            *idkarr_command(),
            "sync",
            "den",
            "--full",
            cwd=idkarr.workdir,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await until_held(db, 1, seconds=20)
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
        partial = await held(db)
        assert 0 < partial < 200
        assert (await find_server(db, "den")).synced_until is None  # the cursor did not move
        fake.faults.delay = 0
        finished = await idkarr.run_async("sync", "den", env={"IDKARR_SYNC__PAGE_SIZE": "50"})
        assert finished.returncode == 0, finished.stderr
        assert "read 200 items" in finished.stdout
        assert await held(db) == 200


async def test_idkarr_run_sends_approvals_to_radarr_and_takes_its_webhooks(db: Database, idkarr: Idkarr) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings.model_validate({"data_dir": idkarr.env["IDKARR_DATA_DIR"]})
    box = secret_box(settings)
    env = {
        **idkarr.env,
        "IDKARR_API__PORT": str(port),
        "IDKARR_API__WEBHOOK_SECRET": SECRET,
        "IDKARR_SYNC__HANDOFF_SECONDS": "0.2",
    }
    async with serving(FakeArr("Radarr")) as radarr:
        radarr.known[603] = {"title": "The Matrix", "tmdbId": 603, "year": 1999}
        await add_server(db, box, "radarr", "Movies", url=radarr.base, token=radarr.key)
        alice = (await add_user(db, "alice", UserRole.USER)).id
        mod = (await add_user(db, "mod", UserRole.MODERATOR)).id
        async with idkarr_running(idkarr.workdir, env, front_ends="none", secrets=(radarr.key, SECRET)):
            details = await OfflineCatalog().details(ContentType.MOVIE, ExternalIds(tmdb_id=603))
            made = await requests.create(db, details, actor_id=alice)
            await requests.approve(db, made.request.id, actor_id=mod)
            for _ in range(250):
                if radarr.added:
                    break
                await asyncio.sleep(0.02)
            assert [body["tmdbId"] for body in radarr.added] == [603]
            event = {"eventType": "Download", "movie": {"id": 1, "tmdbId": 603, "title": "The Matrix"}}
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
                answer = await web.post("/api/v3/webhooks/radarr", json=event, headers={"X-Idkarr-Secret": SECRET})
                healthy = await web.get("/healthz")
            assert answer.json()["requests"] == [made.request.id]
            assert healthy.status_code == 200
            report = healthy.json()
            assert report["status"] == "ok"
            assert {"database", "redis", "scheduler"} <= {check["name"] for check in report["checks"]}
    assert (await requests.get(db, made.request.id)).status == RequestStatus.AVAILABLE


async def test_health_says_which_part_is_failing(db: Database, redis_client: aioredis.Redis) -> None:
    settings = Settings.model_validate({"api": {"port": 0}})
    app = build_app(settings, db, BOX, SyncTrigger(db, BOX, settings.sync), None, redis_client)
    async with serving(FakeJellyfin()) as fake:
        await add_server(db, BOX, "jellyfin", "den", url=fake.base, token=fake.token)
        async with (
            http_server(app, settings.api) as port,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web,
        ):
            fresh = await web.get("/healthz")
            assert fresh.status_code == 200
            fake.faults.status = 500
            with pytest.raises(UpstreamUnavailable):
                await sync_server(db, BOX, await find_server(db, "den"), settings=SyncSettings(timeout_seconds=1))
            failing = await web.get("/healthz")
    assert failing.status_code == 503
    report = failing.json()
    assert report["status"] == "failing"
    (den,) = [check for check in report["checks"] if check["name"] == "jellyfin den"]
    assert den["ok"] is False
    assert "failed" in den["detail"]
    assert fake.token not in failing.text
