"""Conversation benchmark: command in to reply out, and the memory of `idkarr run` idle with the console.

Prints one figure per line as `name: value unit`:
  search_reply_p50 / _p99     `/search TITLE` with a warm cache, in-process (target p99 <= 50 ms)
  requests_reply_p50 / _p99   `/requests pending` as a moderator, 20 pending requests
  button_press_p50 / _p99     pressing a card's Request button (token lookup, title, confirmation)
  autocomplete_p50 / _p99     title suggestions for what has been typed so far, warm (target p99 <= 20 ms)
  run_idle_rss                resident memory of `idkarr run --console`, idle (target <= 120 MB)

Runs against a real PostgreSQL and Redis (embedded unless IDKARR_BENCH_*_URL name others) with the
offline catalog.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.support import bench_runtime, percentile, report
from bots.conversation.context import Actor
from bots.conversation.conversation import Conversation
from core import eventloop
from core.enums import UserRole
from core.services.discovery_setup import open_discovery
from core.services.users import add_user

ROUNDS = 300
TERMS = ["the matrix", "breaking bad", "attack on titan", "inception", "the office", "cowboy bebop"]
PREFIXES = ["the mat", "breaking", "attack on", "incep", "the off", "cowboy b"]
TITLES = [603, 550, 27205, 157336, 155, 680, 13, 278, 238, 424, 122, 120, 121, 807, 98, 497, 769, 11, 1891, 105]


async def _latency() -> None:
    async with bench_runtime() as runtime, open_discovery(runtime) as discovery:
        conversation = Conversation(runtime=runtime, discovery=discovery)
        user = await add_user(runtime.database, "viewer1", UserRole.USER)
        mod = await add_user(runtime.database, "mod1", UserRole.MODERATOR)
        person = Actor(user_id=user.id, username=user.username)
        moderator = Actor(user_id=mod.id, username=mod.username)
        for tmdb_id in TITLES:
            await conversation.say(f"/request movie {tmdb_id}", actor=person)
        for term in TERMS:  # warm the cache
            await conversation.say(f"/search {term}", actor=person)
        for prefix in PREFIXES:
            await conversation.complete("request", "title", prefix, actor=person)

        async def timed(step: object) -> float:
            started = time.perf_counter()
            await step  # type: ignore[misc]
            return (time.perf_counter() - started) * 1000

        searches = [
            await timed(conversation.say(f"/search {TERMS[n % len(TERMS)]}", actor=person)) for n in range(ROUNDS)
        ]
        listings = [await timed(conversation.say("/requests pending", actor=moderator)) for _ in range(ROUNDS // 3)]
        presses = []
        for n in range(ROUNDS // 3):
            reply = await conversation.say(f"/search {TERMS[n % len(TERMS)]}", actor=person)
            presses.append(await timed(conversation.press(reply.cards[0].buttons[0].token, actor=person)))
        completions = [
            await timed(conversation.complete("request", "title", PREFIXES[n % len(PREFIXES)], actor=person))
            for n in range(ROUNDS)
        ]
    measured = (
        ("search_reply", searches),
        ("requests_reply", listings),
        ("button_press", presses),
        ("autocomplete", completions),
    )
    for name, values in measured:
        report(f"{name}_p50", percentile(values, 0.50), "ms")
        report(f"{name}_p99", percentile(values, 0.99), "ms")


def _run_idle_rss() -> float:
    with tempfile.TemporaryDirectory(prefix="idkarr-bench-run-") as tmp:
        env = {key: value for key, value in os.environ.items() if not key.startswith("IDKARR_")}
        env["IDKARR_DATA_DIR"] = str(Path(tmp) / "data")
        for name in ("DATABASE", "REDIS"):
            if url := os.environ.get(f"IDKARR_BENCH_{name}_URL"):
                env[f"IDKARR_{name}__URL"] = url
        command = [str(Path(sys.executable).with_name("idkarr")), "db", "upgrade"]
        psutil.Popen(command, env=env, cwd=tmp, stdout=-3, stderr=-3).wait(timeout=120)
        process = psutil.Popen(
            [command[0], "run", "--console"], env=env, cwd=tmp, stdin=-1, stdout=-3, stderr=-1, text=True
        )
        try:
            assert process.stderr is not None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and "event=running" not in process.stderr.readline():
                pass
            time.sleep(3)  # settle: imports done, first scheduler run over
            return float(process.memory_info().rss) / 2**20
        finally:
            process.terminate()
            process.wait(timeout=60)


def main() -> None:
    eventloop.run(_latency())
    report("run_idle_rss", _run_idle_rss(), "MB")


if __name__ == "__main__":
    main()
