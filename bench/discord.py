"""Discord benchmark: the real discord.py front end against the fake Discord (REST and gateway) on 127.0.0.1.

Prints one figure per line as `name: value unit`:
  interaction_first_callback_p50 / _p99   INTERACTION_CREATE sent to the first callback arriving (target p99
                            <= 100 ms): 50 interactions a second (slash commands and autocomplete from 50
                            people) for 60 seconds
  interaction_deadline_misses   interactions first answered after Discord's 3 s, or never (target 0)
  interaction_replies_missing   deferred commands whose reply never came
  run_idle_rss              `idkarr run` with Discord, Telegram and the dispatcher running, idle: resident
                            memory (target <= 150 MB)

IDKARR_BENCH_SECONDS shortens the load (default 60). The fake Discord and the 50 people run in a process of
their own, so what is measured is idkarr's share, as it would be against Discord. Runs against a real
PostgreSQL and Redis (embedded unless IDKARR_BENCH_*_URL name others) with the offline catalog.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from bench.support import bench_runtime, load_process, percentile, report, run_bench, serve_load
from bots.conversation.conversation import Conversation
from bots.discord.app import DiscordFrontEnd
from core.config import DiscordSettings
from core.db.models import ChatIdentity
from core.enums import ChatPlatform, UserRole
from core.runtime import Runtime
from core.services.discovery_setup import open_discovery
from core.services.users import add_user
from tests.fake_discord import TOKEN, FakeDiscord
from tests.fake_telegram import TOKEN as TELEGRAM_TOKEN
from tests.fake_telegram import FakeTelegram
from tests.fakes import serving
from tests.processes import idkarr_running

PEOPLE = 50
FIRST_ID = 880_000_000_000_000_001
# What people do, in turn: (kind, command, options or the option being completed, typed).
ACTIONS: list[tuple[str, str, dict[str, str], str]] = [
    ("command", "search", {"query": "the matrix"}, ""),
    ("autocomplete", "request", {"option": "title"}, "break"),
    ("command", "quota", {}, ""),
    ("command", "requests", {}, ""),
    ("autocomplete", "search", {"option": "query"}, "matr"),
    ("command", "help", {}, ""),
]


async def _people(conversation: Conversation) -> list[int]:
    database = conversation.runtime.database
    ids, rows = [], []
    for n in range(PEOPLE):
        user = await add_user(database, f"dc{n}", UserRole.USER)
        ids.append(FIRST_ID + n)
        rows.append({"platform": ChatPlatform.DISCORD, "platform_user_id": str(FIRST_ID + n), "user_id": user.id})
    async with database.transaction() as session:
        await session.execute(insert(ChatIdentity), rows)
    return ids


async def _load(fake: FakeDiscord, people: list[int], seconds: float) -> dict[str, object]:
    """Each person acts once a second, spread so that 50 interactions a second arrive in all."""
    sent: list[tuple[int, str]] = []

    async def person(index: int, user_id: int) -> None:
        await asyncio.sleep(index / len(people))
        deadline = time.monotonic() + seconds
        round_ = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            kind, name, options, typed = ACTIONS[(index + round_) % len(ACTIONS)]
            if kind == "command":
                sent.append((await fake.command(user_id, name, options, person=f"dc{index}"), kind))
            else:
                asked = await fake.autocomplete(user_id, name, options["option"], typed, person=f"dc{index}")
                sent.append((asked, kind))
            round_ += 1
            await asyncio.sleep(max(0.0, started + 1.0 - time.monotonic()))

    await asyncio.gather(*(person(index, user_id) for index, user_id in enumerate(people)))
    await asyncio.sleep(3.5)  # whatever is still coming has had Discord's whole deadline
    first: dict[int, float] = {}
    late = 0
    for callback in fake.callbacks:
        if callback.interaction not in first:
            first[callback.interaction] = callback.seconds * 1000
            late += callback.late
    never = sum(1 for interaction, _ in sent if interaction not in first)
    replied = {posted.interaction for posted in fake.messages if posted.via == "original"}
    missing = sum(1 for interaction, kind in sent if kind == "command" and interaction not in replied)
    return {
        "latencies": list(first.values()),
        "sent": len(sent),
        "misses": late + never,
        "missing": missing,
        "violations": len(fake.violations),
    }


async def _fake_process(seconds: float, people: list[int]) -> None:
    """`python -m bench.discord --fake SECONDS IDS...`: the fake Discord and the people (see bench.support)."""
    fake = FakeDiscord()
    await serve_load(fake, lambda: fake.identified(within=60), lambda: _load(fake, people, seconds))


async def _interactions(conversation: Conversation, people: list[int], seconds: float) -> None:
    async with load_process("bench.discord", str(seconds), *map(str, people)) as load:
        settings = DiscordSettings.model_validate(
            {
                "token": TOKEN,
                "api_base_url": f"http://127.0.0.1:{load.port}/api/v10",
                "gateway_url": f"ws://127.0.0.1:{load.port}/gateway",
            }
        )
        front_end = DiscordFrontEnd(conversation, settings, ready_timeout=0.05)
        await front_end.start()
        try:
            result = await load.result()
        finally:
            await front_end.stop()
    latencies = result["latencies"]
    report("interactions_sent", result["sent"], "interactions")
    report("interaction_first_callback_p50", percentile(latencies, 0.50), "ms")
    report("interaction_first_callback_p99", percentile(latencies, 0.99), "ms")
    report("interaction_deadline_misses", result["misses"], "interactions")
    report("interaction_replies_missing", result["missing"], "interactions")
    report("interaction_payload_violations", result["violations"], "payloads")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _idle_memory(database_url: str, redis_url: str, prefix: str) -> None:
    """`idkarr run` as a subprocess with both chat front ends and the dispatcher, left idle."""
    async with serving(FakeDiscord()) as discord_fake, serving(FakeTelegram()) as telegram_fake:
        data_dir = tempfile.mkdtemp(prefix="idkarr-bench-run-")
        env = {key: value for key, value in os.environ.items() if not key.startswith("IDKARR_")}
        env.update(
            {
                "IDKARR_DATABASE__URL": database_url,
                "IDKARR_REDIS__URL": redis_url,
                "IDKARR_REDIS__KEY_PREFIX": prefix,
                "IDKARR_DATA_DIR": data_dir,
                "IDKARR_DISCORD__TOKEN": TOKEN,
                "IDKARR_DISCORD__API_BASE_URL": discord_fake.api_base_url,
                "IDKARR_DISCORD__GATEWAY_URL": discord_fake.gateway_url,
                "IDKARR_TELEGRAM__TOKEN": TELEGRAM_TOKEN,
                "IDKARR_TELEGRAM__BASE_URL": telegram_fake.base_url,
                "IDKARR_TELEGRAM__POLL_TIMEOUT": "1",
            }
        )
        try:
            async with idkarr_running(Path(data_dir), env, front_ends="telegram,discord") as process:
                await discord_fake.identified(within=30)
                await asyncio.sleep(5)  # idle: the dispatcher waiting, Telegram long-polling, Discord heartbeating
                report("run_idle_rss", _rss_mb(process.pid), "MB")
        finally:
            await telegram_fake.close()
            shutil.rmtree(data_dir, ignore_errors=True)


async def _bench() -> None:
    seconds = float(os.environ.get("IDKARR_BENCH_SECONDS", "60"))
    async with bench_runtime() as runtime, open_discovery(runtime) as discovery:
        conversation = Conversation(runtime=runtime, discovery=discovery)
        people = await _people(conversation)
        await _interactions(conversation, people, seconds)
        await _idle_memory(runtime.database.url.libpq, _redis_url(runtime), runtime.settings.redis.key_prefix)


def _redis_url(runtime: Runtime) -> str:
    """The URL of the Redis the runtime uses (the embedded one listens on a socket)."""
    given = runtime.settings.redis.url
    if given is not None:
        return given.get_secret_value()
    kwargs = runtime.redis.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"redis://{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def main() -> None:
    run_bench(_bench, _fake_process)


if __name__ == "__main__":
    main()
