"""Media-server sync benchmark: idkarr's real clients and sync against fake Jellyfin and Plex servers that run
in a process of their own (their work is not counted as idkarr's, as a real server's would not be).

Prints one figure per line as `name: value unit`:
  jellyfin_full_sync_50000 / plex_full_sync_50000     first full sync of 40,000 films and 10,000 shows of 5
                                                       seasons (every title new to idkarr), seconds (target <= 10)
  jellyfin_resync_50000 / plex_resync_50000           the same again, nothing changed (writes nothing), seconds
  jellyfin_peak_rss_50000 / plex_peak_rss_50000       this process's peak resident memory during the sync, MB
  jellyfin_full_sync_2000_200                         2,000 films and 200 shows of 5 seasons of 10 episodes,
                                                       seconds (Seerr 3.1 on such a fake: 446 s, 6.2 s without
                                                       its sleeps; target < 1)
  incremental_sync_100_changed                        100 changed items (50 new films, 50 shows with a new
                                                       season) after a full sync, seconds (target <= 1)
  webhook_to_available                                Radarr's import webhook to the request available and its
                                                       notification queued, p50 and max of 20, ms (target <= 1000)
  interpreter_speed                                   this machine's speed right now (see bench.support)

Runs against a real PostgreSQL and Redis (embedded unless IDKARR_BENCH_*_URL name others).
`python -m bench.sync`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psutil
from aiohttp import web
from cryptography.fernet import Fernet

from bench.support import bench_runtime, interpreter_speed, percentile, report
from core import eventloop
from core.config import Settings, SyncSettings
from core.enums import ContentType, UserRole
from core.metadata.types import Title, TitleDetails
from core.runtime import Runtime
from core.secretbox import SecretBox
from core.services import requests
from core.services.library_sync import find_server, sync_server
from core.services.servers import add_server
from core.services.users import add_user

BOX = SecretBox(Fernet.generate_key())


# --- the fake's process -------------------------------------------------------------------------------


def _fill(library: Any, films: int, shows: int, seasons: int, episodes: int) -> None:
    for number in range(films):
        library.movie(f"m{number}", f"Film {number}", tmdb=100_000 + number, year=1950 + number % 70)
    for number in range(shows):
        library.show(
            f"s{number}", f"Show {number}", dict.fromkeys(range(1, seasons + 1), episodes), tvdb=500_000 + number
        )


def _change(library: Any, count: int) -> None:
    """Half new films, half shows already there gaining a season (only their episodes saved)."""
    base = len(library.titles)
    for number in range(count // 2):
        library.movie(f"new{base + number}", f"New Film {number}", tmdb=900_000 + base + number)
    shows = [entry for entry in library.titles.values() if entry.kind == "show"][: count - count // 2]
    for entry in shows:
        library.add_episodes(entry.key, max(entry.seasons) + 1, 8)


async def _fake(kind: str, films: int, shows: int, seasons: int, episodes: int) -> None:
    from tests.fake_media import FakeJellyfin, FakePlex
    from tests.fakes import serving

    fake: Any = FakePlex() if kind == "plex" else FakeJellyfin()
    _fill(fake.library, films, shows, seasons, episodes)
    app = fake.app

    def with_control() -> web.Application:
        served: web.Application = app()

        async def change(request: web.Request) -> web.Response:
            _change(fake.library, int(request.query["count"]))
            return web.Response(text="ok")

        served.router.add_post("/_bench/change", change)
        return served

    fake.app = with_control
    async with serving(fake):
        print(fake.port, flush=True)
        await asyncio.to_thread(sys.stdin.read)


# --- idkarr's side ------------------------------------------------------------------------------------


@asynccontextmanager
async def fake_server(kind: str, films: int, shows: int, seasons: int = 5, episodes: int = 10) -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.sync",
        "--fake",
        kind,
        str(films),
        str(shows),
        str(seasons),
        str(episodes),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    try:
        yield f"http://127.0.0.1:{int(await process.stdout.readline())}"
    finally:
        process.stdin.close()
        await process.wait()


class PeakRss:
    """This process's resident memory, sampled every 20 ms while the block runs."""

    def __init__(self) -> None:
        self.peak = 0
        self._process = psutil.Process(os.getpid())

    async def _sample(self, done: asyncio.Event) -> None:
        while not done.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            await asyncio.sleep(0.02)

    async def during(self, work: Callable[[], Awaitable[Any]]) -> Any:
        done = asyncio.Event()
        sampler = asyncio.create_task(self._sample(done))
        try:
            return await work()
        finally:
            done.set()
            await sampler


async def _timed_sync(runtime: Runtime, name: str, *, full: bool) -> tuple[float, Any]:
    server = await find_server(runtime.database, name)
    started = time.perf_counter()
    result = await sync_server(runtime.database, BOX, server, full=full, settings=SyncSettings())
    return time.perf_counter() - started, result


async def large_library(runtime: Runtime, kind: str) -> None:
    from tests.fake_media import JELLYFIN_TOKEN, PLEX_TOKEN

    async with fake_server(kind, 40_000, 10_000) as url:
        name = f"{kind}-large"
        await add_server(
            runtime.database, BOX, kind, name, url=url, token=PLEX_TOKEN if kind == "plex" else JELLYFIN_TOKEN
        )
        rss = PeakRss()
        seconds, result = await rss.during(lambda: _timed_sync(runtime, name, full=True))
        assert result.items == 50_000, result
        report(f"{kind}_full_sync_50000", seconds, "s")
        report(f"{kind}_peak_rss_50000", rss.peak / 2**20, "MB")
        seconds, result = await _timed_sync(runtime, name, full=True)
        assert result.changed == 0, result
        report(f"{kind}_resync_50000", seconds, "s")


async def seerr_comparison(runtime: Runtime) -> None:
    from tests.fake_media import JELLYFIN_TOKEN

    token = {"Authorization": f'MediaBrowser Token="{JELLYFIN_TOKEN}"'}
    async with fake_server("jellyfin", 2000, 200, 5, 10) as url:
        await add_server(runtime.database, BOX, "jellyfin", "seerr-size", url=url, token=JELLYFIN_TOKEN)
        seconds, result = await _timed_sync(runtime, "seerr-size", full=True)
        assert result.items == 2200, result
        report("jellyfin_full_sync_2000_200", seconds, "s")
        async with httpx.AsyncClient(base_url=url, headers=token) as control:
            (await control.post("/_bench/change", params={"count": 100})).raise_for_status()
        seconds, result = await _timed_sync(runtime, "seerr-size", full=False)
        assert result.changed == 100, result
        report("incremental_sync_100_changed", seconds, "s")


async def webhook(runtime: Runtime) -> None:
    from bots.http.app import build_app, http_server
    from core.services.webhook_syncs import SyncTrigger

    secret = "bench-webhook-secret-0123"
    settings = Settings.model_validate({"api": {"port": 0, "webhook_secret": secret}})
    alice = (await add_user(runtime.database, "alice-webhook", UserRole.USER)).id
    mod = (await add_user(runtime.database, "mod-webhook", UserRole.MODERATOR)).id
    app = build_app(settings, runtime.database, BOX, SyncTrigger(runtime.database, BOX, settings.sync))
    timings = []
    async with (
        http_server(app, settings.api) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web_client,
    ):
        for number in range(20):
            tmdb = 700_000 + number
            title = Title(ContentType.MOVIE, f"Webhook Film {number}", 2020, tmdb_id=tmdb)
            made = await requests.create(runtime.database, TitleDetails(title), actor_id=alice)
            await requests.approve(runtime.database, made.request.id, actor_id=mod)
            event = {"eventType": "Download", "movie": {"id": number + 1, "tmdbId": tmdb, "title": title.title}}
            started = time.perf_counter()
            answer = await web_client.post("/api/v3/webhooks/radarr", json=event, headers={"X-Idkarr-Secret": secret})
            timings.append((time.perf_counter() - started) * 1000)
            assert answer.json()["requests"] == [made.request.id], answer.text
    report("webhook_to_available_p50", percentile(timings, 0.5), "ms")
    report("webhook_to_available_max", max(timings), "ms")


async def main() -> None:
    report("interpreter_speed", interpreter_speed(), "ms")
    async with bench_runtime() as runtime:
        await large_library(runtime, "jellyfin")
    async with bench_runtime() as runtime:
        await large_library(runtime, "plex")
    async with bench_runtime() as runtime:
        await seerr_comparison(runtime)
        await webhook(runtime)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fake"]:
        kind, films, shows, seasons, episodes = sys.argv[2], *map(int, sys.argv[3:7])
        eventloop.run(_fake(kind, films, shows, seasons, episodes))
    else:
        eventloop.run(main())
