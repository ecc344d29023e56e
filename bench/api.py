"""HTTP API benchmark: idkarr's FastAPI app served by uvicorn in this process, loaded by HTTP clients in a
process of their own, titles from a fake TMDB of 12,000 films in a third (neither's work is idkarr's).

Prints one figure per line as `name: value unit`:
  discovery_rps / discovery_p99      GET /api/v3/discovery with a warm cache, 100 clients at once (targets on
                                     a 2-core machine: >= 1,500 req/s, p99 <= 50 ms)
  create_rps / create_p99            POST /api/v3/requests by 20 clients, each a film new to idkarr, by an
                                     auto-approved user (Seerr 3.1: 115 a second, p99 216 ms; target >= 4x
                                     its rate, p99 <= 50 ms). Each title is looked up in the fake TMDB.
                                     Before the loads, 200 other films are requested for two seconds: the
                                     server's connections are open and its statements prepared, as in a
                                     service that has been running (its first calls were most of the p99).
  *_server_cpu_per_call              idkarr's CPU per call, ms: the rate it would have with a core to itself
  server_rss                         this process's resident memory after the load, MB
  interpreter_speed                  this machine's speed right now (see bench.support)

IDKARR_BENCH_SECONDS sets each load's length (default 10). Runs against a real PostgreSQL and Redis
(embedded unless IDKARR_BENCH_*_URL name others). `python -m bench.api`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
from cryptography.fernet import Fernet

from bench.support import bench_runtime, interpreter_speed, percentile, report
from bots.http.app import build_app, http_server
from core import eventloop
from core.config import CacheSettings, Settings
from core.enums import UserRole
from core.metadata.cache import PageCache
from core.metadata.tmdb import TmdbProvider
from core.ratelimit import RateLimiter
from core.secretbox import SecretBox
from core.services.access import set_permissions
from core.services.discovery import DiscoveryService
from core.services.identity import issue_api_key
from core.services.users import add_user
from core.services.webhook_syncs import SyncTrigger
from core.upstream import RetryPolicy, Upstream
from tests.fake_tmdb import API_KEY, FakeTmdb, synthetic_titles
from tests.fakes import serving

DISCOVERY = "/api/v3/discovery?type=popular&contentType=movie&pageSize=20"
CREATE_FILMS = 12_000  # more than 20 clients get through in the load's ten seconds
WARM_FILMS = 200  # requested before the loads: connections open, statements prepared, as in a running service


# --- the clients' process ----------------------------------------------------------------------------


async def _call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One call on a kept-alive connection: its status (the body is read and dropped)."""
    writer.write(request)
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _load(port: int, key: str, mode: str, seconds: float, clients: int, films: list[int]) -> dict[str, Any]:
    # HTTP/1.1 written by hand on kept-alive connections, as wrk does: the clients share the machine with
    # idkarr, and aiohttp's client cost a third of a millisecond of CPU a call, httpx's more.
    latencies: list[float] = []
    errors = 0
    head = f"Host: 127.0.0.1:{port}\r\nX-Api-Key: {key}\r\n"
    discovery = f"GET {DISCOVERY} HTTP/1.1\r\n{head}\r\n".encode()
    deadline = time.perf_counter() + seconds
    queue = list(films)

    def create(film: int) -> bytes:
        body = json.dumps({"contentType": "movie", "tmdbId": film}).encode()
        return (
            f"POST /api/v3/requests HTTP/1.1\r\n{head}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    async def one_client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                if mode == "discovery":
                    request = discovery
                elif queue:
                    request = create(queue.pop())
                else:
                    return
                started = time.perf_counter()
                status = await _call(reader, writer, request)
                latencies.append(time.perf_counter() - started)
                if status >= 300:
                    errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    return {"count": len(latencies), "elapsed": elapsed, "latencies": latencies, "errors": errors}


def _tmdb_main() -> None:
    """A fake TMDB of `CREATE_FILMS` films, in a process of its own, until killed (its address on stdout)."""

    async def serve() -> None:
        async with serving(FakeTmdb(synthetic_titles(CREATE_FILMS))) as fake:
            print(fake.base_url, flush=True)
            await asyncio.Event().wait()

    eventloop.run(serve())


def _load_main() -> None:
    figures, port, key, mode = Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    seconds, clients, films = float(sys.argv[6]), int(sys.argv[7]), [int(value) for value in sys.argv[8:]]
    result = eventloop.run(_load(port, key, mode, seconds, clients, films))
    figures.write_text(json.dumps(result))


# --- idkarr's side -----------------------------------------------------------------------------------


async def run_load(port: int, key: str, mode: str, seconds: float, clients: int, films: list[int]) -> dict[str, Any]:
    # The figures come back in a file: once, half a megabyte of them read from the child's stdout through
    # uvloop's pipe arrived cut in two (not reproduced since).
    with tempfile.TemporaryDirectory(prefix="idkarr-bench-load-") as directory:
        figures = Path(directory) / "figures.json"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.api",
            "--load",
            str(figures),
            str(port),
            key,
            mode,
            str(seconds),
            str(clients),
            *map(str, films),
        )
        if await process.wait() != 0:
            raise RuntimeError(f"the {mode} load process failed (exit status {process.returncode})")
        result: dict[str, Any] = json.loads(figures.read_bytes())
    return result


def _figures(name: str, result: dict[str, Any]) -> None:
    latencies = [value * 1000 for value in result["latencies"]]
    report(f"{name}_rps", result["count"] / result["elapsed"], "req/s")
    report(f"{name}_p50", percentile(latencies, 0.5), "ms")
    report(f"{name}_p99", percentile(latencies, 0.99), "ms")
    report(f"{name}_errors", result["errors"], "")


@asynccontextmanager
async def _fake_tmdb() -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.api", "--tmdb", stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    base_url = (await process.stdout.readline()).decode().strip()
    try:
        yield base_url
    finally:
        process.kill()
        await process.wait()


@asynccontextmanager
async def serving_api() -> AsyncIterator[tuple[int, str, list[int]]]:
    """idkarr's HTTP API served in this process, its discovery cache warm, its connections open and its
    statements prepared (see the module's docstring); yields its port, an auto-approved user's API key and
    the films nobody has requested yet."""
    async with (
        bench_runtime() as runtime,
        _fake_tmdb() as tmdb_url,
        # TMDB itself is a fake in another process: what it costs is not idkarr's.
        Upstream(
            service="TMDB", base_url=tmdb_url, limiter=RateLimiter(10_000), retry=RetryPolicy(attempts=1)
        ) as upstream,
    ):
        cache = PageCache(redis=runtime.redis, database=runtime.database, prefix=runtime.settings.redis.key_prefix)
        discovery = DiscoveryService(
            providers=[TmdbProvider(upstream, api_key=API_KEY)],
            cache=cache,
            database=runtime.database,
            ttl=CacheSettings(),
        )
        settings = Settings.model_validate({"api": {"port": 0, "rate_per_minute": 0}})
        box = SecretBox(Fernet.generate_key())
        app = build_app(
            settings, runtime.database, box, SyncTrigger(runtime.database, box, settings.sync), discovery, runtime.redis
        )
        await add_user(runtime.database, "bench", UserRole.USER)
        await set_permissions(runtime.database, "bench", {"auto_approve_movie": True})
        key = await issue_api_key(runtime.database, "bench")
        films = [title.id for title in synthetic_titles(CREATE_FILMS)]  # none looked up yet
        # The least popular films warm the server up; the measured ones stay unknown to it until requested.
        films, warming = films[:-WARM_FILMS], films[-WARM_FILMS:]
        eventloop.started()  # as `idkarr run` does once it runs
        async with http_server(app, settings.api) as port:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"X-Api-Key": key}) as warm:
                (await warm.get(DISCOVERY)).raise_for_status()  # the cache is warm before the load
            await run_load(port, key, "create", 2.0, 20, warming)  # its figures are not the service's
            yield port, key, films


async def main() -> None:
    report("interpreter_speed", interpreter_speed(), "ms")
    seconds = float(os.environ.get("IDKARR_BENCH_SECONDS", "10"))
    async with serving_api() as (port, key, films):
        for name, mode, length, clients, titles in (
            ("discovery", "discovery", seconds, 100, []),
            ("create", "create", seconds, 20, films),
        ):
            before = sum(psutil.Process().cpu_times()[:2])
            result = await run_load(port, key, mode, length, clients, titles)
            _figures(name, result)
            # idkarr's own CPU per call: what the rate would be with a core to itself.
            used = sum(psutil.Process().cpu_times()[:2]) - before
            report(f"{name}_server_cpu_per_call", used / max(1, result["count"]) * 1000, "ms")
    report("server_rss", psutil.Process(os.getpid()).memory_info().rss / 2**20, "MB")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--load"]:
        _load_main()
    elif sys.argv[1:2] == ["--tmdb"]:
        _tmdb_main()
    else:
        eventloop.run(main())
