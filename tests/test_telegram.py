"""The Telegram front end end to end: the real python-telegram-bot against a fake Bot API on 127.0.0.1, the
real conversation and core behind it, the real dispatcher delivering notifications."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from bots.conversation.conversation import Conversation
from bots.telegram.app import TelegramFrontEnd
from core.config import TelegramSettings
from core.db.session import Database
from core.enums import UserRole
from core.services.dispatcher import Dispatcher
from core.services.identity import issue_link_code
from core.services.operator import OPERATOR
from core.services.users import add_user

from .fake_telegram import BOT_USERNAME, TOKEN, FakeTelegram, Sent
from .fakes import serving

MODERATORS, ANNOUNCE = -100500, -100600
ALICE, BOB, MOD, MOD2, STRANGER = 1001, 1002, 2001, 2002, 3003


@dataclass
class Bot:
    fake: FakeTelegram
    front_end: TelegramFrontEnd
    dispatcher: Dispatcher

    async def deliver(self) -> None:
        await self.dispatcher.drain()


@pytest.fixture
async def bot(conversation: Conversation, db: Database) -> AsyncIterator[Bot]:
    async with serving(FakeTelegram()) as fake:
        settings = TelegramSettings.model_validate(
            {
                "token": TOKEN,
                "base_url": fake.base_url,
                "moderators_chat_id": MODERATORS,
                "announce_chat_id": ANNOUNCE,
                "poll_timeout": 1,
            }
        )
        front_end = TelegramFrontEnd(conversation, settings)
        await front_end.start()
        try:
            yield Bot(fake, front_end, Dispatcher(db, [front_end.notifier]))
        finally:
            await fake.close()
            await front_end.stop()
        assert fake.violations == [], "every payload idkarr sent fits Telegram's limits"


async def linked(bot: Bot, db: Database, name: str, role: UserRole, telegram_id: int) -> None:
    await add_user(db, name, role)
    code, _ = await issue_link_code(db, name, by=OPERATOR)
    before = len(bot.fake.sent)
    await bot.fake.say(telegram_id, f"/start {code}", name=name)
    welcome = await bot.fake.wait_for(lambda s: s.chat_id == telegram_id, after=before)
    assert welcome.text == f"This account is now linked to {name}. Welcome!"


def _to(chat: int, starts: str = "") -> Callable[[Sent], bool]:
    return lambda sent: sent.chat_id == chat and sent.text.startswith(starts)


async def posted(bot: Bot, command: str, requested: str) -> Sent:
    """Alice asks with `command`; the dispatcher posts the new request to the moderators' chat."""
    await bot.fake.say(ALICE, command)
    await bot.fake.wait_for(_to(ALICE, f"Requested {requested}"))
    mark = len(bot.fake.sent)
    await bot.deliver()
    return await bot.fake.wait_for(_to(MODERATORS), after=mark)


async def test_link_search_request_approve_and_hear_of_it(bot: Bot, db: Database) -> None:
    fake = bot.fake
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    await linked(bot, db, "mod", UserRole.MODERATOR, MOD)
    await linked(bot, db, "bob", UserRole.USER, BOB)
    assert {"", "es"} <= set(fake.commands)
    assert "search" in [command["command"] for command in fake.commands[""]]

    mark = len(fake.sent)
    await fake.say(ALICE, "/search the matrix")
    results = await fake.wait_for(_to(ALICE, "Results for “the matrix”"), after=mark)
    assert "1. The Matrix (1999 · movie · ★ 8.2)" in results.text
    assert "tmdb:603" in results.text
    assert results.labels[:3] == ["1 · Request", "1 · Add to watchlist", "1 · More like this"]

    mark = len(fake.sent)
    await fake.press(ALICE, results, "1 · Request")
    confirm = await fake.wait_for(_to(ALICE, "Request The Matrix (1999)?"), after=mark)
    assert confirm.labels == ["Confirm", "Cancel"]
    mark = len(fake.sent)
    await fake.press(ALICE, confirm, "Confirm")
    done = await fake.wait_for(lambda s: s.message_id == confirm.message_id, after=mark)
    assert done.method == "editMessageText"
    assert done.text == "Requested The Matrix (1999). A moderator will look at it."

    mark = len(fake.sent)
    await bot.deliver()
    posted = await fake.wait_for(_to(MODERATORS), after=mark)
    assert posted.text == "alice requested The Matrix (1999, movie)."
    assert posted.labels == ["Approve", "Deny"]
    notice = await fake.wait_for(_to(MOD, "New request from alice"), after=mark)
    assert notice.labels == ["Approve", "Deny"]
    told_everyone = await fake.wait_for(_to(ANNOUNCE), after=mark)
    assert told_everyone.text == "alice requested The Matrix (1999, movie)."
    assert told_everyone.labels == []

    # Bob may see the moderators' post but not decide: a short refusal, the post unchanged.
    query = await fake.press(BOB, posted, "Approve")
    refused = await fake.wait_answer(query)
    assert refused["text"] == "Sorry: bob (user) may not approve or deny requests."
    mark = len(fake.sent)
    query = await fake.press(MOD, posted, "Approve")
    assert "text" not in await fake.wait_answer(query)
    decided = await fake.wait_for(lambda s: s.message_id == posted.message_id, after=mark)
    assert re.fullmatch(
        r"Request #1, The Matrix \(1999\), approved by mod\. \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)", decided.text
    )
    assert decided.labels == []

    mark = len(fake.sent)
    await bot.deliver()
    told = await fake.wait_for(_to(ALICE), after=mark)
    assert told.text == "Your request for The Matrix (1999) was approved."


async def test_deny_asks_with_a_forced_reply_and_the_requester_hears_the_reason(bot: Bot, db: Database) -> None:
    fake = bot.fake
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    await linked(bot, db, "mod", UserRole.MODERATOR, MOD)
    post = await posted(bot, "/request series tvdb:81189 1", "Breaking Bad")
    mark = len(fake.sent)
    await fake.press(MOD, post, "Deny")
    question = await fake.wait_for(_to(MODERATORS, "Why deny request #1"), after=mark)
    assert question.force_reply
    # Talk in the group that answers nothing: no denial.
    await fake.say(MOD, "lol wrong chat", chat_id=MODERATORS)
    # A reason too long is refused and asked for again, with a new forced reply.
    mark = len(fake.sent)
    await fake.say(MOD, "x" * 600, chat_id=MODERATORS, reply_to=question)
    again = await fake.wait_for(_to(MODERATORS, "Sorry: a denial needs a reason of 1 to 500"), after=mark)
    assert again.force_reply
    mark = len(fake.sent)
    await fake.say(MOD, "Not in our region", chat_id=MODERATORS, reply_to=again)
    denied = await fake.wait_for(
        lambda s: (
            s.method == "sendMessage"
            and s.chat_id == MODERATORS
            and s.text.startswith("Request #1, Breaking Bad (2008), denied")
        ),
        after=mark,
    )
    assert denied.text == "Request #1, Breaking Bad (2008), denied by mod: Not in our region"
    cleared = await fake.wait_for(lambda s: s.message_id == post.message_id and s.labels == [], after=mark)
    assert cleared.method == "editMessageText"
    assert cleared.text.startswith("Request #1, Breaking Bad (2008), denied by mod: Not in our region (")
    mark = len(fake.sent)
    await bot.deliver()
    told = await fake.wait_for(_to(ALICE), after=mark)
    assert told.text == "Your request for Breaking Bad (2008) was denied: Not in our region"


async def test_two_moderators_pressing_approve_at_once_make_one_approval(bot: Bot, db: Database) -> None:
    fake = bot.fake
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    await linked(bot, db, "mod", UserRole.MODERATOR, MOD)
    await linked(bot, db, "mod2", UserRole.MODERATOR, MOD2)
    post = await posted(bot, "/request movie 550", "Fight Club")
    first, second = await asyncio.gather(fake.press(MOD, post, "Approve"), fake.press(MOD2, post, "Approve"))
    answers = [await fake.wait_answer(first), await fake.wait_answer(second)]
    refusals = [answer["text"] for answer in answers if answer.get("text")]
    assert len(refusals) == 1
    assert refusals[0].startswith("Sorry: request #1 was already approved by mod")


async def test_mistakes_strangers_and_other_bots_get_the_right_answer_or_none(bot: Bot, db: Database) -> None:
    fake = bot.fake
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    mark = len(fake.sent)
    await fake.say(STRANGER, "/search dune")
    unlinked = await fake.wait_for(_to(STRANGER), after=mark)
    assert unlinked.text.startswith("Sorry: this Telegram account is not linked to an idkarr user yet")
    assert "/link" in unlinked.text

    found = await fake.wait_for(_to(ALICE))  # the welcome
    query = await fake.press(ALICE, found, "", data="forged!!\x00")
    assert (await fake.wait_answer(query))["text"].startswith("That button no longer works")

    mark = len(fake.sent)
    await fake.say(ALICE, "x" * 5000)
    long = await fake.wait_for(_to(ALICE), after=mark)
    assert long.text == "That message is too long (5000 characters; the most is 2000)."

    # In a group, talk and commands for other bots are not for idkarr; a command addressed to it is.
    group = -100777
    mark = len(fake.sent)
    await fake.say(ALICE, "hello everyone", chat_id=group)
    await fake.say(ALICE, "/search@someotherbot dune", chat_id=group)
    await fake.say(ALICE, f"/quota@{BOT_USERNAME}", chat_id=group, thread_id=42)
    answered = await fake.wait_for(lambda s: s.chat_id in (group, ALICE), after=mark)
    assert answered.chat_id == ALICE  # /quota answers privately
    assert answered.text.startswith("What you may still request:")
    await asyncio.sleep(0.3)
    assert [s for s in fake.sent[mark:] if s.chat_id == group] == []


async def test_replies_in_a_forum_topic_go_to_that_topic(bot: Bot, db: Database) -> None:
    fake = bot.fake
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    group = -100888
    mark = len(fake.sent)
    await fake.say(ALICE, "/search breaking bad", chat_id=group, thread_id=7)
    sent: Sent = await fake.wait_for(_to(group), after=mark)
    assert sent.thread_id == 7
    assert sent.reply_to is not None


async def test_inline_mode_lists_titles_with_a_request_button(bot: Bot, db: Database) -> None:
    fake = bot.fake
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    query = await fake.inline(ALICE, "the")
    answer = await fake.wait_answer(query)
    results = answer["results"]
    assert 1 <= len(results) <= 10
    assert results[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Request"
    assert str(answer.get("next_offset")) == "2"
    later = await fake.wait_answer(await fake.inline(ALICE, "the", offset="2"))
    assert {r["id"] for r in later["results"]}.isdisjoint({r["id"] for r in results})
    stranger = await fake.wait_answer(await fake.inline(STRANGER, "the"))
    assert stranger["results"] == []
    assert stranger["button"]["start_parameter"] == "link"


async def test_a_blocked_bot_is_not_retried_a_429_delays_and_one_chat_gets_one_message_a_second(
    bot: Bot, db: Database
) -> None:
    from sqlalchemy import select

    from core.db.models import OutboxMessage
    from core.enums import OutboxStatus

    fake = bot.fake
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    await linked(bot, db, "mod", UserRole.MODERATOR, MOD)
    fake.blocked.add(MOD)  # the moderator blocked the bot
    await fake.say(ALICE, "/request movie 603")
    await fake.wait_for(_to(ALICE, "Requested The Matrix"))
    fake.faults.append(429)  # the first send is told to wait
    await bot.deliver()
    async with db.session() as session:
        rows = (await session.execute(select(OutboxMessage.event, OutboxMessage.status, OutboxMessage.attempts))).all()
    to_mod = [row for row in rows if row.event == "request_pending"]
    assert [(row.status, row.attempts) for row in to_mod] == [(OutboxStatus.FAILED, 1)], "unreachable: not retried"
    assert any(row.status == OutboxStatus.DELIVERED for row in rows), "the 429 delayed a message, never lost it"
    # Marked: the next notice for the moderator is not even tried, until they write to the bot again.
    calls = len(fake.arrivals)
    await fake.say(ALICE, "/request movie 27205")
    await fake.wait_for(_to(ALICE, "Requested Inception"))
    await bot.deliver()
    assert MOD not in [chat for _, chat in fake.arrivals[calls:]]
    fake.blocked.discard(MOD)
    await fake.say(MOD, "/quota")
    await fake.wait_for(_to(MOD, "What you may still request"))
    assert not await bot.front_end.sender.unreachable(MOD)

    for tmdb, title in ((550, "Fight Club"), (680, "Pulp Fiction"), (155, "The Dark Knight")):
        await fake.say(ALICE, f"/request movie {tmdb}")
        await fake.wait_for(_to(ALICE, f"Requested {title}"))
    mark = len(fake.arrivals)
    from core.services import requests

    for request_id in (2, 3, 4):
        await requests.deny(db, request_id, actor_id=2, reason="Not now")
    await bot.deliver()
    to_alice = [at for at, chat in fake.arrivals[mark:] if chat == ALICE]
    assert len(to_alice) == 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(to_alice)]
    assert min(gaps) >= 0.95, gaps


async def test_processes_sharing_a_bot_take_turns_polling_and_each_update_is_answered_once(
    conversation: Conversation, db: Database
) -> None:
    async with serving(FakeTelegram()) as fake:
        settings = TelegramSettings.model_validate({"token": TOKEN, "base_url": fake.base_url, "poll_timeout": 1})
        first = TelegramFrontEnd(conversation, settings, takeover_seconds=0.3)
        second = TelegramFrontEnd(conversation, settings, takeover_seconds=0.3)
        await first.start()
        await second.start()
        try:
            async with asyncio.timeout(10):
                while not (first.polling or second.polling):  # noqa: ASYNC110  (no event to wait on)
                    await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # the other has tried meanwhile, and waits
            assert [first.polling, second.polling].count(True) == 1
            bot = Bot(fake, first, Dispatcher(db, [first.notifier]))
            await linked(bot, db, "alice", UserRole.USER, ALICE)
            await asyncio.sleep(0.5)
            assert len(fake.to(ALICE)) == 1, "one welcome, from the one process polling"
            leader, standby = (first, second) if first.polling else (second, first)
            await leader.stop()  # as if its process ended
            async with asyncio.timeout(10):
                while not standby.polling:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            mark = len(fake.sent)
            await fake.say(ALICE, "/quota")
            answered = await fake.wait_for(_to(ALICE), after=mark)
            assert answered.text.startswith("What you may still request:")
        finally:
            await fake.close()
            for front_end in (first, second):
                await front_end.stop()


async def test_webhook_mode_takes_updates_only_with_the_secret_token(conversation: Conversation, db: Database) -> None:
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with serving(FakeTelegram()) as fake:
        settings = TelegramSettings.model_validate(
            {
                "token": TOKEN,
                "base_url": fake.base_url,
                "webhook_url": "https://idkarr.example.org/telegram",
                "webhook_secret": "s3cret_Token-1",
                "webhook_port": port,
            }
        )
        front_end = TelegramFrontEnd(conversation, settings)
        await front_end.start()
        try:
            assert fake.webhook is not None
            assert fake.webhook["url"] == "https://idkarr.example.org/telegram"
            assert fake.webhook["secret_token"] == "s3cret_Token-1"
            assert not front_end.polling
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 1,
                    "chat": {"id": STRANGER, "type": "private"},
                    "from": {"id": STRANGER, "is_bot": False, "first_name": "S"},
                    "text": "/help",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                },
            }
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                forged = await client.post("/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "no"})
                assert forged.status_code == 403
                assert (await client.post("/telegram", json=update)).status_code == 403
                secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret_Token-1"}
                junk = await client.post("/telegram", content=b"{", headers=secret)
                assert junk.status_code == 400
                taken = await client.post("/telegram", json=update, headers=secret)
                assert taken.status_code == 200
            helped = await fake.wait_for(_to(STRANGER))
            assert helped.text.startswith("What you can say:")
        finally:
            await front_end.stop()
    assert len(fake.to(STRANGER)) == 1


async def test_paging_edits_the_results_message_in_place(bot: Bot, db: Database) -> None:
    fake = bot.fake
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    mark = len(fake.sent)
    await fake.say(ALICE, "/discover trending movie")
    first = await fake.wait_for(_to(ALICE, "Trending movies:"), after=mark)
    assert "Page 1 of" in first.text
    assert first.labels[-1] == "More"
    mark = len(fake.sent)
    await fake.press(ALICE, first, "More")
    second = await fake.wait_for(lambda s: s.message_id == first.message_id, after=mark)
    assert second.method == "editMessageText"
    assert "Page 2 of" in second.text
    assert "1. " in second.text
    assert [s for s in fake.sent[mark:] if s.method == "sendMessage"] == []
