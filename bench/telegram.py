"""Telegram benchmark: the real python-telegram-bot front end against the fake Bot API on 127.0.0.1.

Prints one figure per line as `name: value unit`:
  update_reply_p50 / _p99   a command reaching the Bot API to its reply arriving there, long poll included
                            (target p99 <= 100 ms): 50 people, one command a second each, for 60 seconds
  updates_lost              updates that got no reply (target 0)
  notify_seconds            1,000 notifications to 200 people, queued at once: until the last is delivered
  notify_max_chat_rate      the most messages any one chat received within one second (Telegram: 1)

IDKARR_BENCH_SECONDS shortens the update phase (default 60). The fake Bot API and the 50 people run in a
process of their own there, so what is measured is idkarr's share, as with the real Telegram. Runs against
a real PostgreSQL and Redis (embedded unless IDKARR_BENCH_*_URL name others) with the offline catalog.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict

from sqlalchemy import insert

from bench.support import bench_runtime, load_process, percentile, report, run_bench, serve_load
from bots.conversation.conversation import Conversation
from bots.telegram.app import TelegramFrontEnd
from core.config import TelegramSettings
from core.db.models import ChatIdentity, OutboxMessage
from core.enums import ChatPlatform, UserRole
from core.services.discovery_setup import open_discovery
from core.services.dispatcher import Dispatcher
from core.services.users import add_user
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.fakes import serving

TALKERS = 50
RECIPIENTS = 200
NOTIFICATIONS = 1000
COMMANDS = ["/quota", "/search the matrix", "/requests", "/search breaking bad", "/help"]


async def _people(conversation: Conversation, count: int, first_id: int) -> list[int]:
    database = conversation.runtime.database
    telegram_ids = []
    rows = []
    for n in range(count):
        user = await add_user(database, f"tg{first_id + n}", UserRole.USER)
        telegram_ids.append(first_id + n)
        rows.append({"platform": ChatPlatform.TELEGRAM, "platform_user_id": str(first_id + n), "user_id": user.id})
    async with database.transaction() as session:
        await session.execute(insert(ChatIdentity), rows)
    return telegram_ids


async def _load(fake: FakeTelegram, talkers: list[int], seconds: float) -> tuple[list[float], int, int]:
    """Each person sends a command a second; a reply's latency counts from the command reaching the API.
    Runs in the fake's own process, so the fake's work is not counted as idkarr's."""
    latencies: list[float] = []
    lost = 0

    async def person(index: int, telegram_id: int) -> None:
        nonlocal lost
        await asyncio.sleep(index / len(talkers))  # spread over the second: 50 updates a second in all
        deadline = time.monotonic() + seconds
        round_ = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            mark = len(fake.sent)
            await fake.say(telegram_id, COMMANDS[(index + round_) % len(COMMANDS)])
            try:
                reply = await fake.wait_for(lambda s: s.chat_id == telegram_id, after=mark, within=10)
            except TimeoutError:
                lost += 1
            else:
                arrived = next(at for at, chat in reversed(fake.arrivals) if chat == reply.chat_id)
                latencies.append((arrived - started) * 1000)
            round_ += 1
            await asyncio.sleep(max(0.0, started + 1.0 - time.monotonic()))

    await asyncio.gather(*(person(index, telegram_id) for index, telegram_id in enumerate(talkers)))
    answered = sum(1 for sent in fake.sent if sent.chat_id in set(talkers))
    return latencies, lost, max(0, answered - len(latencies))


async def _fake_process(seconds: float, talkers: list[int]) -> None:
    """`python -m bench.telegram --fake SECONDS IDS...`: the fake Bot API and the people (see bench.support);
    the load starts at the bot's first long poll."""
    fake = FakeTelegram()

    async def polled() -> None:
        while "getUpdates" not in fake.calls:  # noqa: ASYNC110  (the fake has no event for a first call)
            await asyncio.sleep(0.05)

    async def load() -> dict[str, object]:
        latencies, lost, twice = await _load(fake, talkers, seconds)
        return {"latencies": latencies, "lost": lost, "twice": twice, "violations": len(fake.violations)}

    await serve_load(fake, polled, load)


async def _updates(conversation: Conversation, talkers: list[int], seconds: float) -> None:
    async with load_process("bench.telegram", str(seconds), *map(str, talkers)) as loaded:
        base_url = f"http://127.0.0.1:{loaded.port}/bot"
        settings = TelegramSettings.model_validate({"token": TOKEN, "base_url": base_url, "poll_timeout": 1})
        front_end = TelegramFrontEnd(conversation, settings)
        await front_end.start()
        try:
            result = await loaded.result()
        finally:
            await front_end.stop()
    latencies = result["latencies"]
    report("update_reply_p50", percentile(latencies, 0.50), "ms")
    report("update_reply_p99", percentile(latencies, 0.99), "ms")
    report("updates_sent", len(latencies) + result["lost"], "updates")
    report("updates_lost", result["lost"], "updates")
    report("updates_answered_twice", result["twice"], "updates")
    report("update_payload_violations", result["violations"], "payloads")


async def _notifications(front_end: TelegramFrontEnd, fake: FakeTelegram, recipients: list[int]) -> None:
    database = front_end.conversation.runtime.database
    users = {}
    async with database.session() as session:
        found = await session.execute(
            ChatIdentity.__table__.select().where(ChatIdentity.platform_user_id.in_([str(r) for r in recipients]))
        )
        users = {int(row.platform_user_id): row.user_id for row in found}
    rows = [
        {
            "dedup_key": f"bench:{n}",
            "event": "request_approved",
            "recipient_user_id": users[recipients[n % len(recipients)]],
            "payload": {"title": f"Title {n}", "year": 2000, "content_type": "movie", "request_id": n},
        }
        for n in range(NOTIFICATIONS)
    ]
    async with database.transaction() as session:
        await session.execute(insert(OutboxMessage), rows)
    mark = len(fake.arrivals)
    started = time.monotonic()
    await Dispatcher(database, [front_end.notifier]).drain()
    report("notify_seconds", time.monotonic() - started, "s")
    per_chat: dict[int, list[float]] = defaultdict(list)
    for at, chat in fake.arrivals[mark:]:
        per_chat[chat].append(at)
    busiest = 0
    for times in per_chat.values():
        for index, start in enumerate(times):
            busiest = max(busiest, sum(1 for later in times[index:] if later - start < 1.0))
    report("notify_delivered", len(fake.arrivals) - mark, "messages")
    report("notify_max_chat_rate", busiest, "messages/s")


async def _bench() -> None:
    seconds = float(os.environ.get("IDKARR_BENCH_SECONDS", "60"))
    async with bench_runtime() as runtime, open_discovery(runtime) as discovery:
        conversation = Conversation(runtime=runtime, discovery=discovery)
        talkers = await _people(conversation, TALKERS, 10_000)
        recipients = await _people(conversation, RECIPIENTS, 20_000)
        await _updates(conversation, talkers, seconds)
        async with serving(FakeTelegram()) as fake:
            settings = TelegramSettings.model_validate({"token": TOKEN, "base_url": fake.base_url, "poll_timeout": 1})
            front_end = TelegramFrontEnd(conversation, settings)
            await front_end.start()
            try:
                await _notifications(front_end, fake, recipients)
            finally:
                await fake.close()
                await front_end.stop()
            report("notify_payload_violations", len(fake.violations), "payloads")


def main() -> None:
    run_bench(_bench, _fake_process)


if __name__ == "__main__":
    main()
