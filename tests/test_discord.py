"""The Discord front end end to end: the real discord.py against a fake Discord (REST and gateway) on
127.0.0.1, the real conversation and core behind it, the real dispatcher delivering notifications."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from bots.conversation.conversation import Conversation
from bots.discord.app import DiscordFrontEnd
from core.config import DiscordSettings, Settings
from core.db.session import Database
from core.enums import UserRole
from core.runtime import Runtime
from core.services.dispatcher import Dispatcher
from core.services.identity import issue_link_code
from core.services.operator import OPERATOR
from core.services.users import add_user, find_user

from .fake_discord import (
    ANNOUNCE,
    FALLBACK,
    GENERAL,
    GUILD,
    MOD_ROLE,
    MODERATORS,
    MOVIES,
    TOKEN,
    Callback,
    FakeDiscord,
    Posted,
)
from .fake_tmdb import DEFAULT_TITLES, FakeTitle, FakeTmdb, serve_tmdb
from .fakes import serving
from .metadata_helpers import discovery_service, tmdb_provider

ALICE, BOB, MOD = 7001, 7002, 7003


@dataclass
class Bot:
    fake: FakeDiscord
    front_end: DiscordFrontEnd
    dispatcher: Dispatcher

    async def deliver(self) -> None:
        await self.dispatcher.drain()


def settings_for(fake: FakeDiscord, **extra: object) -> DiscordSettings:
    return DiscordSettings.model_validate(
        {
            "token": TOKEN,
            "api_base_url": fake.api_base_url,
            "gateway_url": fake.gateway_url,
            "guild_ids": [GUILD],
            "moderators_channel_id": MODERATORS,
            "announce_channel_id": ANNOUNCE,
            "fallback_channel_id": FALLBACK,
            **extra,
        }
    )


async def started(conversation: Conversation, db: Database, fake: FakeDiscord, **extra: object) -> Bot:
    front_end = DiscordFrontEnd(conversation, settings_for(fake, **extra), ready_timeout=0.05)
    await front_end.start()
    async with asyncio.timeout(15):
        await front_end.wait_connected()
    return Bot(fake, front_end, Dispatcher(db, [front_end.notifier]))


@pytest.fixture
async def bot(conversation: Conversation, db: Database) -> AsyncIterator[Bot]:
    async with serving(FakeDiscord()) as fake:
        running = await started(conversation, db, fake)
        try:
            yield running
        finally:
            await running.front_end.stop()
        assert fake.violations == [], "every payload idkarr sent fits Discord's limits"


async def linked(bot: Bot, db: Database, name: str, role: UserRole, discord_id: int) -> None:
    await add_user(db, name, role)
    code, _ = await issue_link_code(db, name, by=OPERATOR)
    asked = await bot.fake.command(discord_id, "link", {"code": code}, channel=None, person=name)
    welcome = await bot.fake.reply_to(asked)
    assert welcome.content == f"This account is now linked to {name}. Welcome!"


async def requested_matrix(bot: Bot) -> Posted:
    """Alice searches and requests The Matrix; the answer she sees."""
    fake = bot.fake
    asked = await fake.command(ALICE, "search", {"query": "the matrix"}, person="alice")
    first = await fake.callback(asked)
    assert first.type == 5, "deferred before anything else"
    assert first.data["flags"] == 64, "only she sees it"
    results = await fake.reply_to(asked)
    assert results.content == "Results for “the matrix”:"
    assert results.embeds[0]["title"] == "1. The Matrix"
    assert results.embeds[0]["url"] == "https://www.themoviedb.org/movie/603"
    assert "tmdb:603" in results.embeds[0]["description"]
    assert results.labels[:3] == ["1 · Request", "1 · Add to watchlist", "1 · More like this"]
    pressed = await fake.press(ALICE, results, "1 · Request", person="alice")
    assert (await fake.callback(pressed)).type == 6
    confirm = await fake.reply_to(pressed)
    assert confirm.content == "Request The Matrix (1999)?"
    assert confirm.ephemeral
    assert confirm.labels == ["Confirm", "Cancel"]
    pressed = await fake.press(ALICE, confirm, "Confirm", person="alice")
    done = await fake.reply_to(pressed)
    assert done.message_id == confirm.message_id
    assert done.via == "original"
    return done


async def test_link_search_request_approve_in_the_channel_and_hear_of_it(bot: Bot, db: Database) -> None:
    fake = bot.fake
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    await linked(bot, db, "mod", UserRole.MODERATOR, MOD)
    assert "search" in [command["name"] for command in fake.commands[f"guild:{GUILD}"]]

    done = await requested_matrix(bot)
    assert done.content == "Requested The Matrix (1999). A moderator will look at it."

    mark = len(fake.messages)
    await bot.deliver()
    post = await fake.wait_for(lambda p: p.channel_id == MODERATORS, after=mark)
    assert post.content == "alice requested The Matrix (1999, movie)."
    assert post.labels == ["Approve", "Deny"]
    told_everyone = await fake.wait_for(lambda p: p.channel_id == ANNOUNCE, after=mark)
    assert told_everyone.labels == []
    mod_dm = await fake.wait_for(lambda p: p.channel_id == fake.dm_channel(MOD), after=mark)
    assert mod_dm.content.startswith("New request from alice")

    pressed = await fake.press(MOD, post, "Approve", person="mod")
    assert (await fake.callback(pressed)).type == 6
    decided = await fake.reply_to(pressed)
    assert decided.message_id == post.message_id
    assert decided.components == []
    assert decided.content.startswith("Request #1, The Matrix (1999), approved by mod. (")
    assert decided.content.endswith(" UTC)")

    mark = len(fake.messages)
    await bot.deliver()
    told = await fake.wait_for(lambda p: p.channel_id == fake.dm_channel(ALICE), after=mark)
    assert told.content == "Your request for The Matrix (1999) was approved."


async def posted(bot: Bot, db: Database) -> Posted:
    """Alice linked, Mod linked; Alice's request for The Matrix posted to the moderators' channel."""
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    await linked(bot, db, "mod", UserRole.MODERATOR, MOD)
    await requested_matrix(bot)
    mark = len(bot.fake.messages)
    await bot.deliver()
    return await bot.fake.wait_for(lambda p: p.channel_id == MODERATORS, after=mark)


async def test_a_member_may_not_decide_and_is_told_only_that(bot: Bot, db: Database) -> None:
    post = await posted(bot, db)
    await linked(bot, db, "bob", UserRole.USER, BOB)
    fake = bot.fake

    pressed = await fake.press(BOB, post, "Approve", person="bob")
    refusal = await fake.reply_to(pressed)
    assert refusal.via == "followup"
    assert refusal.ephemeral, "only Bob sees it"
    assert refusal.content == "Sorry: bob (user) may not approve or deny requests."
    # Deny opens no form for someone who may not use it: the refusal is the first and only answer.
    pressed = await fake.press(BOB, post, "Deny", person="bob")
    first = await fake.callback(pressed)
    assert first.type == 4
    assert first.data["flags"] == 64
    assert first.data["content"] == "Sorry: bob (user) may not approve or deny requests."
    assert [p for p in fake.messages if p.message_id == post.message_id] == [post], "the post is unchanged"


async def test_deny_asks_the_reason_in_a_modal_and_tells_the_requester(bot: Bot, db: Database) -> None:
    post = await posted(bot, db)
    fake = bot.fake

    pressed = await fake.press(MOD, post, "Deny", person="mod")
    form = await fake.callback(pressed)
    assert form.type == 9, "the modal is the first answer to the press"
    assert form.data["title"] == "Reason to deny request #1"

    # Blank is no reason: asked again, with a button that opens the form once more.
    submitted = await fake.submit(MOD, form, "   ", message=post, person="mod")
    again = await fake.reply_to(submitted)
    assert again.ephemeral
    assert "reason" in again.content.lower()
    assert again.labels == ["Write the reason"]
    reopened = await fake.press(MOD, again, "Write the reason", person="mod")
    second_form = await fake.callback(reopened)
    assert second_form.type == 9

    submitted = await fake.submit(MOD, second_form, "Not this month", message=again, person="mod")
    decided = await fake.wait_for(lambda p: p.message_id == post.message_id and p.via == "edit")
    assert decided.content.startswith("Request #1, The Matrix (1999), denied by mod: Not this month (")
    assert decided.components == []
    mark = len(fake.messages)
    await bot.deliver()
    told = await fake.wait_for(lambda p: p.channel_id == fake.dm_channel(ALICE), after=mark)
    assert told.content == "Your request for The Matrix (1999) was denied: Not this month"


async def test_two_moderators_pressing_approve_at_once_approve_once(bot: Bot, db: Database) -> None:
    post = await posted(bot, db)
    await linked(bot, db, "mod2", UserRole.MODERATOR, BOB)
    fake = bot.fake
    first, second = await asyncio.gather(
        fake.press(MOD, post, "Approve", person="mod"), fake.press(BOB, post, "Approve", person="mod2")
    )
    answers = sorted([(await fake.reply_to(first)).content, (await fake.reply_to(second)).content])
    assert sum(answer.startswith("Request #1, The Matrix (1999), approved by") for answer in answers) == 1, answers
    assert sum("was already approved" in answer for answer in answers) == 1, answers
    mark = len(fake.messages)
    await bot.deliver()
    await asyncio.sleep(0.2)
    approvals = [p for p in fake.messages[mark:] if p.channel_id == fake.dm_channel(ALICE)]
    assert [p.content for p in approvals] == ["Your request for The Matrix (1999) was approved."]


async def test_buttons_sent_before_a_restart_still_work(conversation: Conversation, db: Database) -> None:
    async with serving(FakeDiscord()) as fake:
        bot = await started(conversation, db, fake)
        try:
            post = await posted(bot, db)
        finally:
            await bot.front_end.stop()
        assert fake.connected == 0
        again = await started(conversation, db, fake)
        try:
            assert fake.command_puts == 1, "the same commands are not registered again"
            pressed = await fake.press(MOD, post, "Approve", person="mod")
            decided = await fake.reply_to(pressed)
            assert decided.content.startswith("Request #1, The Matrix (1999), approved by mod.")
        finally:
            await again.front_end.stop()
        assert fake.violations == []


async def test_discord_roles_decide_at_the_moment_of_the_press(conversation: Conversation, db: Database) -> None:
    async with serving(FakeDiscord()) as fake:
        bot = await started(conversation, db, fake, role_map={str(MOD_ROLE): "moderator"})
        try:
            post = await posted(bot, db)
            await linked(bot, db, "bob", UserRole.USER, BOB)
            pressed = await fake.press(BOB, post, "Approve", person="bob", roles=[])
            assert (await fake.reply_to(pressed)).content == "Sorry: bob (user) may not approve or deny requests."
            pressed = await fake.press(BOB, post, "Approve", person="bob", roles=[MOD_ROLE])
            assert (await fake.reply_to(pressed)).content.startswith("Request #1, The Matrix (1999), approved by bob.")
            assert (await find_user(db, "bob")).role == UserRole.MODERATOR
            # The role taken away in Discord is taken away in idkarr at the next press; admins are never touched.
            asked = await fake.command(BOB, "requests", {}, person="bob", roles=[])
            await fake.reply_to(asked)
            assert (await find_user(db, "bob")).role == UserRole.USER
        finally:
            await bot.front_end.stop()
        assert fake.violations == []


async def test_someone_not_linked_is_told_how_to_link(bot: Bot) -> None:
    asked = await bot.fake.command(9999, "search", {"query": "dune"}, person="stranger")
    told = await bot.fake.reply_to(asked)
    assert told.content == (
        "Sorry: this Discord account is not linked to an idkarr user yet: ask an admin for a link code and send"
        " it with /link CODE, or send /register to sign up (an admin then approves you)."
    )
    registered = [command["name"] for command in bot.fake.commands[f"guild:{GUILD}"]]
    assert {"link", "register"} <= set(registered)
    assert "start" not in registered


async def test_closed_dms_fall_back_to_a_mention_in_the_channel(bot: Bot, db: Database) -> None:
    post = await posted(bot, db)
    fake = bot.fake
    fake.closed_dms.add(ALICE)
    pressed = await fake.press(MOD, post, "Approve", person="mod")
    await fake.reply_to(pressed)
    mark = len(fake.messages)
    await bot.deliver()
    mention = await fake.wait_for(lambda p: p.channel_id == FALLBACK, after=mark)
    assert mention.content == f"<@{ALICE}> Your request for The Matrix (1999) was approved."
    assert mention.mentions == [str(ALICE)]
    assert mention.labels == []


async def test_a_429_delays_a_post_and_loses_nothing(bot: Bot, db: Database) -> None:
    fake = bot.fake
    fake.rate_limits.append((f"/channels/{MODERATORS}/messages", 0.3, False))
    fake.rate_limits.append((f"/channels/{ANNOUNCE}/messages", 0.2, True))
    post = await posted(bot, db)
    assert post.labels == ["Approve", "Deny"]
    assert fake.limited == [f"/channels/{MODERATORS}/messages", f"/channels/{ANNOUNCE}/messages"]
    await asyncio.sleep(0.3)
    assert len(fake.to(MODERATORS)) == 1
    assert len(fake.to(ANNOUNCE)) == 1


async def test_announcements_go_to_the_channel_of_their_content_type(conversation: Conversation, db: Database) -> None:
    async with serving(FakeDiscord()) as fake:
        bot = await started(conversation, db, fake, announce_channel_ids={"movie": MOVIES})
        try:
            await posted(bot, db)
            announced = await fake.wait_for(lambda p: p.channel_id == MOVIES)
            assert announced.content == "alice requested The Matrix (1999, movie)."
            assert fake.to(ANNOUNCE) == []
        finally:
            await bot.front_end.stop()


async def test_a_page_of_cards_too_big_for_buttons_is_picked_from_a_list(bot: Bot, db: Database) -> None:
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    fake = bot.fake
    asked = await fake.command(ALICE, "discover", {"kind": "popular", "content": "movie"}, person="alice")
    page = await fake.reply_to(asked)
    assert len(page.embeds) == 5
    assert page.options[:2] == [
        f"1. {page.embeds[0]['title'][3:]}: Request",
        f"1. {page.embeds[0]['title'][3:]}: Add to watchlist",
    ]
    assert page.labels == ["More"]
    pressed = await fake.pick(ALICE, page, page.options[0], person="alice")
    confirm = await fake.reply_to(pressed)
    assert confirm.content.startswith("Request ")
    assert confirm.labels == ["Confirm", "Cancel"]


@asynccontextmanager
async def on_tmdb(db: Database, redis_client: aioredis.Redis, tmdb: FakeTmdb) -> AsyncIterator[Conversation]:
    """The conversation with discovery from the fake TMDB (which a test can stall) instead of the catalog."""
    async with tmdb_provider(tmdb, client_timeout=30) as provider:
        runtime = Runtime(settings=Settings(), database=db, redis=redis_client, started_at=time.perf_counter())
        yield Conversation(runtime=runtime, discovery=discovery_service(db, redis_client, provider))


async def test_a_command_is_deferred_before_the_core_is_asked_anything(
    db: Database, redis_client: aioredis.Redis
) -> None:
    tmdb = FakeTmdb()
    tmdb.hold = asyncio.Event()  # TMDB answers nothing until released: as slow as it likes
    async with serve_tmdb(tmdb), on_tmdb(db, redis_client, tmdb) as conversation, serving(FakeDiscord()) as fake:
        bot = await started(conversation, db, fake)
        try:
            await linked(bot, db, "alice", UserRole.USER, ALICE)
            asked = await fake.command(ALICE, "search", {"query": "the matrix"}, person="alice")
            first = await fake.callback(asked)
            assert first.type == 5
            assert not first.late
            await asyncio.sleep(3.2)  # past Discord's deadline: only a deferred interaction can still be answered
            assert tmdb.arrivals, "the search reached TMDB"
            assert first.at < tmdb.arrivals[0], "the defer went out before the core asked TMDB anything"
            tmdb.hold.set()
            results = await fake.reply_to(asked)
            assert results.content == "Results for “the matrix”:"
        finally:
            await bot.front_end.stop()
        assert fake.violations == []


async def test_autocomplete_answers_in_time_while_tmdb_stalls(db: Database, redis_client: aioredis.Redis) -> None:
    tmdb = FakeTmdb()
    async with serve_tmdb(tmdb), on_tmdb(db, redis_client, tmdb) as conversation, serving(FakeDiscord()) as fake:
        bot = await started(conversation, db, fake)
        try:
            await linked(bot, db, "alice", UserRole.USER, ALICE)
            # Answered from TMDB when it answers...
            asked = await fake.autocomplete(ALICE, "request", "title", "fight", person="alice")
            answer = await fake.callback(asked)
            assert answer.type == 8
            assert [choice["name"] for choice in answer.data["choices"]][:1] == ["Fight Club (1999, movie)"]
            # ... and when it stalls for 10 s, in time all the same, honestly.
            tmdb.hold = asyncio.Event()
            asked = await fake.autocomplete(ALICE, "request", "title", "matrix rel", person="alice")
            answer = await fake.callback(asked, within=5)
            assert answer.type == 8
            assert answer.seconds < 2.5
            assert answer.data["choices"] == [{"name": "Still looking… keep typing", "value": "matrix rel"}]
            tmdb.hold.set()
        finally:
            await bot.front_end.stop()
        assert fake.violations == []


async def test_the_season_picker_is_a_select_that_pages_past_25_seasons(
    db: Database, redis_client: aioredis.Redis
) -> None:
    long_runner = FakeTitle("tv", 4000, "Long Runner", "1990-01-01", [18], 50.0, tvdb_id=94000, seasons=[10] * 30)
    tmdb = FakeTmdb([*DEFAULT_TITLES, long_runner])
    async with serve_tmdb(tmdb), on_tmdb(db, redis_client, tmdb) as conversation, serving(FakeDiscord()) as fake:
        bot = await started(conversation, db, fake)
        try:
            await linked(bot, db, "alice", UserRole.USER, ALICE)
            asked = await fake.command(ALICE, "search", {"query": "long runner"}, person="alice")
            found = await fake.reply_to(asked)
            pressed = await fake.press(ALICE, found, "Request", person="alice")
            picker = await fake.reply_to(pressed)
            assert picker.content == "Which seasons of Long Runner?\nPage 1 of 2"
            assert picker.options[0] == "All seasons"
            assert picker.options[1:3] == ["Season 1", "Season 2"]
            assert len(picker.options) == 23
            assert picker.labels == ["More"]
            pressed = await fake.press(ALICE, picker, "More", person="alice")
            second = await fake.reply_to(pressed)
            assert second.message_id == picker.message_id, "paging edits the picker in place"
            assert second.options == ["All seasons", *(f"Season {n}" for n in range(23, 31))]
            assert second.labels == ["Back"]
            pressed = await fake.pick(ALICE, second, "Season 25", person="alice")
            confirm = await fake.reply_to(pressed)
            assert confirm.content == "Request season 25 of Long Runner (1990)?"
        finally:
            await bot.front_end.stop()
        assert fake.violations == []


async def test_wrong_and_hostile_input_gets_a_clear_answer(bot: Bot, db: Database) -> None:
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    fake = bot.fake
    # A search longer than any title: refused with the usage, nothing asked of the catalog.
    asked = await fake.command(ALICE, "search", {"query": "x" * 6000}, person="alice")
    told = await fake.reply_to(asked)
    assert told.content == "Sorry: query is too long (6000 characters; the most is 200). Write it as: /search QUERY"
    # A command Discord has never heard of from idkarr (an old registration, a forged payload).
    asked = await fake.command(ALICE, "rm-rf", {}, person="alice")
    assert (await fake.reply_to(asked)).content == "I don't know /rm-rf. Send /help to see what I understand."
    # A request id that is not a number, or of a request that does not exist.
    asked = await fake.command(ALICE, "cancel", {"id": "1; DROP TABLE request"}, person="alice")
    assert (
        await fake.reply_to(asked)
    ).content == "Sorry: '1; DROP TABLE reques' is not a number for id. Write it as: /cancel ID"
    asked = await fake.command(ALICE, "cancel", {"id": 424242}, person="alice")
    assert (await fake.reply_to(asked)).content == "Sorry: there is no request #424242."
    # A button that is not idkarr's, or whose token was never issued.
    for custom_id in ("../../etc/passwd", "t:" + "A" * 90, "t:nosuchtoken", "q:\x00"):
        forged = await fake.forge(
            GENERAL, [{"type": 1, "components": [{"type": 2, "label": "go", "custom_id": custom_id}]}]
        )
        pressed = await fake.press(ALICE, forged, "go", person="alice")
        answer = await fake.reply_to(pressed)
        assert answer.ephemeral
        assert answer.content == "That button no longer works. Send the command again for fresh buttons."
    # A form submitted for a question nobody asked.
    pressed = await fake.submit(
        ALICE,
        Callback(
            0,
            9,
            {"custom_id": "m:nokey", "components": [{"type": 1, "components": [{"type": 4, "custom_id": "answer"}]}]},
            False,
            0,
            0,
        ),
        "because",
        message=None,
        person="alice",
    )
    gone = await fake.reply_to(pressed)
    assert gone.content == "That question is no longer open (it expired, or you moved on). Press the button again."


async def test_the_activity_says_a_link_was_a_link(bot: Bot, db: Database) -> None:
    await linked(bot, db, "alice", UserRole.USER, ALICE)
    asked = await bot.fake.command(ALICE, "activity", {}, person="alice")
    lines = (await bot.fake.reply_to(asked)).content.splitlines()
    assert lines[0] == "Latest activity:"
    assert lines[1].endswith(" · linked a Discord account · alice")
    assert lines[2].endswith(" · joined idkarr · alice")


def test_the_invite_link_asks_for_what_the_bot_uses() -> None:
    from bots.discord.app import invite_url

    link = invite_url(4242)
    assert link.startswith("https://discord.com/oauth2/authorize?client_id=4242&")
    assert "scope=bot+applications.commands" in link
    permissions = int(link.rsplit("permissions=", 1)[1])
    assert permissions == 1024 | 2048 | 16384 | 65536  # view, send, embed links, read history: nothing more
