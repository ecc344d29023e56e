"""What the benchmarks share: a real runtime and percentile arithmetic.

The runtime uses embedded PostgreSQL and Redis in a temporary directory, or the servers named by
IDKARR_BENCH_DATABASE_URL / IDKARR_BENCH_REDIS_URL. On a named PostgreSQL each run creates a database of
its own (and drops it after), and on a named Redis each run keeps its keys under a prefix of its own, so
runs can follow each other without one meeting the users or the warm cache another left. Run benchmarks
from the repository root: `python -m bench.NAME`.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from core.config import load_settings
from core.db import migrate
from core.dburl import DatabaseUrl
from core.runtime import Runtime, open_database, open_runtime
from tests.scratch import PostgresServer

__all__ = [
    "LoadProcess",
    "bench_runtime",
    "host_cpu_seconds",
    "interpreter_speed",
    "load_process",
    "percentile",
    "report",
    "run_bench",
    "serve_load",
]


@asynccontextmanager
async def bench_runtime() -> AsyncIterator[Runtime]:
    prefix = f"idkarr-bench-{secrets.token_hex(4)}:"
    with tempfile.TemporaryDirectory(prefix="idkarr-bench-") as tmp, _scratch_database() as database_url:
        settings = load_settings(
            data_dir=Path(tmp),
            # Sized for a 2-core machine. With the default (10) the create p99 was 2-3 ms higher and the
            # rest the same; before idkarr had its own pool (core.db.pool), the same load ran 5-15 % slower
            # with it, the extra transactions only queueing inside PostgreSQL.
            database={"url": database_url, "pool_size": 5},
            redis={"url": os.environ.get("IDKARR_BENCH_REDIS_URL") or None, "key_prefix": prefix},
        )
        async with open_database(settings) as database:
            await migrate.upgrade(database)
        async with open_runtime(settings) as runtime:
            try:
                yield runtime
            finally:
                async for key in runtime.redis.scan_iter(match=f"{prefix}*", count=1000):
                    await runtime.redis.delete(key)


@contextmanager
def _scratch_database() -> Iterator[str | None]:
    """A new database on IDKARR_BENCH_DATABASE_URL's server for this run, or None for the embedded one."""
    named = os.environ.get("IDKARR_BENCH_DATABASE_URL")
    if not named:
        yield None
        return
    server = PostgresServer(admin=DatabaseUrl.parse(named))
    url = server.create_database(prefix="idkarr_bench")
    try:
        yield url.libpq
    finally:
        server.drop_database(url)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def report(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:.3f} {unit}" if isinstance(value, float) else f"{name}: {value} {unit}", flush=True)


def interpreter_speed() -> float:
    """CPU time, ms, of a fixed piece of interpreter work (best of five): this machine's speed at the moment.

    The machines benchmarks run on here change speed by a third from one hour to the next; a figure read
    beside this one can be compared with another run's: a CPU figure that grew with it measures the machine.
    """
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        rows = [{"id": n, "title": f"title {n}", "seasons": list(range(n % 7))} for n in range(20_000)]
        encoded = json.dumps(rows)
        decoded = json.loads(encoded)
        ordered = sorted(decoded, key=lambda row: (len(row["seasons"]), row["title"]))
        assert len(ordered) == len(rows)
        best = min(best, time.process_time() - started)
    return best * 1000


def host_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy (every core, every process), or None off Linux.

    Read before and after a run against a local PostgreSQL, the difference counts the database's work too,
    which this process's own CPU figure leaves out.
    """
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal: idle and iowait are not work.
    busy = sum(int(value) for index, value in enumerate(fields[:8]) if index not in (3, 4))
    return busy / os.sysconf("SC_CLK_TCK")


class LoadProcess:
    """A fake platform and the people loading it, in a process of their own (`python -m MODULE --fake ...`),
    so the fake's work is not counted as idkarr's, as it would not be against the real platform."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self._process = process
        self.port = port

    async def result(self) -> dict[str, Any]:
        """The figures the load printed once it finished."""
        assert self._process.stdout is not None
        figures: dict[str, Any] = json.loads(await self._process.stdout.readline())
        return figures


@asynccontextmanager
async def load_process(module: str, *arguments: str) -> AsyncIterator[LoadProcess]:
    """Start the load; it serves until the block ends (so the bot under test can stop cleanly first)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        "--fake",
        *arguments,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    try:
        yield LoadProcess(process, int(await process.stdout.readline()))
    finally:
        process.stdin.close()
        await process.wait()


async def serve_load(
    fake: Any, ready: Callable[[], Awaitable[None]], load: Callable[[], Awaitable[dict[str, Any]]]
) -> None:
    """The load process's side: serve `fake`, print its port, wait until the bot is `ready`, run the `load`,
    print its figures as JSON, and serve on until standard input closes."""
    from tests.fakes import serving

    async with serving(fake):
        print(fake.port, flush=True)
        await ready()
        print(json.dumps(await load()), flush=True)
        await asyncio.to_thread(sys.stdin.read)
        await fake.close()


def run_bench(
    bench: Callable[[], Coroutine[Any, Any, None]], fake: Callable[[float, list[int]], Coroutine[Any, Any, None]]
) -> None:
    """A chat benchmark's entry point: `--fake SECONDS IDS...` runs its load process (see `load_process`),
    anything else the benchmark itself."""
    from core import eventloop

    if sys.argv[1:2] == ["--fake"]:
        eventloop.run(fake(float(sys.argv[2]), [int(value) for value in sys.argv[3:]]))
        return
    eventloop.run(bench())
