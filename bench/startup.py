"""Startup benchmark: how long idkarr takes to be ready with embedded PostgreSQL and Redis, and its memory.

Prints one figure per line as `name: value unit`:
  first_start_to_ready   new process, empty data directory (initdb, migrations, bootstrap admin)
  cold_start_to_ready    new process, existing data directory, no server running (the everyday start)
  idle_rss               resident memory of the ready, idle idkarr process
  embedded_servers_rss   resident memory of the embedded PostgreSQL and Redis processes together

Run: .venv/bin/python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

CHILD = "--child"


async def _child(data_dir: Path, migrate_first: bool) -> None:
    from core.config import load_settings
    from core.db import migrate
    from core.runtime import open_database, open_runtime

    settings = load_settings(data_dir=data_dir, database={"url": None}, redis={"url": None})
    if migrate_first:
        async with open_database(settings) as database:
            await migrate.upgrade(database)
    async with open_runtime(settings):
        print("ready", flush=True)
        # Idle until the parent closes our standard input.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def _start(data_dir: Path, migrate_first: bool) -> tuple[float, subprocess.Popen[str]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("IDKARR_")}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, __file__, CHILD, str(data_dir), "migrate" if migrate_first else "start"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    if line.strip() != "ready":
        process.kill()
        raise SystemExit(f"the idkarr process did not become ready (said {line!r})")
    return elapsed, process


def _stop(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=60)


def _servers_rss(data_dir: Path) -> float:
    total = 0
    for proc in psutil.process_iter(attrs=["name", "cmdline", "memory_info"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if str(data_dir) in cmdline or (proc.info.get("name") == "redis-server" and "redis.config" in cmdline):
            memory = proc.info.get("memory_info")
            total += memory.rss if memory else 0
    return total / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="cold starts to time (median is printed)")
    runs = parser.parse_args().runs

    with tempfile.TemporaryDirectory(prefix="idkarr-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        first, process = _start(data_dir, migrate_first=True)
        _stop(process)

        cold: list[float] = []
        idle_rss: list[float] = []
        servers_rss = 0.0
        for _ in range(max(1, runs)):
            elapsed, process = _start(data_dir, migrate_first=False)
            cold.append(elapsed)
            time.sleep(1.0)  # let it settle into idleness before reading memory
            idle_rss.append(psutil.Process(process.pid).memory_info().rss / 2**20)
            servers_rss = _servers_rss(data_dir)
            _stop(process)

    print(f"first_start_to_ready: {first:.3f} s")
    print(f"cold_start_to_ready: {statistics.median(cold):.3f} s")
    print(f"cold_start_to_ready_max: {max(cold):.3f} s")
    print(f"idle_rss: {statistics.median(idle_rss):.1f} MB")
    print(f"embedded_servers_rss: {servers_rss:.1f} MB")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == CHILD:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from core import eventloop

        eventloop.run(_child(Path(sys.argv[2]), sys.argv[3] == "migrate"))
    else:
        main()
