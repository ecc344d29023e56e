"""Every reply fits Discord and Telegram: a property test over generated worlds of titles (long names, many
seasons, many results) served by the fake TMDB, every command and the buttons they draw pressed, each reply
put through the checker of both platforms' limits, and rendered as the Discord message the fake Discord
checks."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bots.conversation.context import Actor
from bots.conversation.conversation import Conversation
from bots.conversation.limits import violations, violations_of_choices
from bots.conversation.questions import Place
from bots.conversation.replies import Reply
from bots.discord.render import render
from core.config import Settings
from core.db.session import Database
from core.dburl import DatabaseUrl
from core.enums import ChatPlatform, UserRole
from core.runtime import Runtime
from core.services.users import add_user

from .conftest import _TABLES
from .fake_discord import FakeDiscord
from .fake_tmdb import FakeTitle, FakeTmdb, serve_tmdb
from .metadata_helpers import discovery_service, tmdb_provider

PLACE = Place(ChatPlatform.DISCORD, "123", private=False)
# Words a search term is drawn from, so that searches find many generated titles.
WORD = "zork"
NAMES = st.text(
    alphabet=st.characters(categories=["L", "N", "P", "S", "Zs"], exclude_characters="\x00"),
    min_size=1,
    max_size=400,
)


@st.composite
def worlds(draw: st.DrawFn) -> list[FakeTitle]:
    count = draw(st.integers(min_value=1, max_value=40))
    titles = []
    for n in range(count):
        show = draw(st.booleans())
        name = f"{WORD} {draw(NAMES)}".strip()
        seasons = draw(st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=70)) if show else []
        titles.append(
            FakeTitle(
                "tv" if show else "movie",
                10_000 + n,
                name,
                f"{1950 + n % 70}-01-01",
                [18],
                float(count - n),
                tvdb_id=500_000 + n if show else None,
                seasons=seasons,
            )
        )
    return titles


_DISCORD = FakeDiscord()


def _check(reply: Reply, what: str) -> None:
    assert violations(reply) == [], f"{what}: {violations(reply)}"
    # As Discord receives it: the fake Discord's own checks of a message body.
    for shown in (render(reply), render(reply, question_button="Write the reason", target="1:2")):
        body = {
            "content": shown.content,
            "embeds": [embed.to_dict() for embed in shown.embeds],
            "components": shown.view.to_components() if shown.view else [],
        }
        assert _DISCORD.check_message(body, what) is None, f"{what}: {_DISCORD.check_message(body, what)}"


async def _exercise(url: DatabaseUrl, redis_url: str, titles: list[FakeTitle]) -> None:
    database = Database(url=url, pool_size=4)
    redis: aioredis.Redis = aioredis.Redis.from_url(redis_url)
    try:
        async with database.transaction() as session:
            await session.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
        await redis.flushdb()
        mod = await add_user(database, "mod", UserRole.MODERATOR)
        alice = await add_user(database, "alice", UserRole.USER)
        actors = {"mod": Actor(mod.id, "mod"), "alice": Actor(alice.id, "alice")}
        async with serve_tmdb(FakeTmdb(titles)) as fake, tmdb_provider(fake) as provider:
            runtime = Runtime(settings=Settings(), database=database, redis=redis, started_at=time.perf_counter())
            conversation = Conversation(runtime=runtime, discovery=discovery_service(database, redis, provider))
            alice_actor = actors["alice"]
            for line in ("/help", f"/search {WORD}", "/discover popular movie", "/discover trending series", "/quota"):
                reply = await conversation.say(line, place=PLACE, actor=alice_actor)
                _check(reply, line)
                for button in reply.all_buttons()[:6]:
                    pressed = await conversation.press(button.token, place=PLACE, actor=alice_actor)
                    _check(pressed, f"{line} -> {button.label}")
                    # One level further: the season picker's pages, Confirm.
                    for deeper in pressed.all_buttons()[-2:]:
                        _check(await conversation.press(deeper.token, place=PLACE, actor=alice_actor), "deeper")
            _check(await conversation.say(f"/request {WORD}", place=PLACE, actor=alice_actor), "/request by name")
            for title in titles[:3]:
                kind = "series" if title.media_type == "tv" else "movie"
                ref = f"tvdb:{title.tvdb_id}" if title.tvdb_id else f"tmdb:{title.id}"
                made = await conversation.say(f"/request {kind} {ref}", place=PLACE, actor=alice_actor)
                _check(made, "/request by id")
                _check(await conversation.say(f"/watchlist add {kind} {ref}", place=PLACE, actor=alice_actor), "wl")
            for line in ("/requests pending", "/requests all", "/watchlist", "/activity", "/settings"):
                listed = await conversation.say(line, place=PLACE, actor=actors["mod"])
                _check(listed, line)
                for button in listed.all_buttons()[:4]:
                    _check(await conversation.press(button.token, place=PLACE, actor=actors["mod"]), "list button")
            choices = await conversation.complete("request", "title", WORD, actor=alice_actor)
            assert violations_of_choices(choices) == []
    finally:
        await redis.aclose()
        await database.dispose()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(titles=worlds())
def _property(titles: list[FakeTitle], url: DatabaseUrl, redis_url: str) -> None:
    asyncio.run(_exercise(url, redis_url, titles))


def test_every_reply_fits_both_platforms_whatever_the_titles(db: Database, redis_url: str) -> None:
    _property(url=db.url, redis_url=redis_url)


def test_the_checker_names_what_a_platform_would_refuse() -> None:
    from bots.conversation.replies import Button, Card, Question

    fine = Reply(
        text="x" * 5000,  # cut where it is built
        cards=(Card(title="t" * 400, overview="o" * 900, buttons=(Button("l" * 200, "abc"),)),),
        question=Question(key="k", label="q" * 100),
    )
    assert len(fine.text) == 2000
    assert len(fine.cards[0].title) == 256
    assert len(fine.cards[0].buttons[0].label) == 80
    assert violations(fine) == []
    with pytest.raises(ValueError, match="at most 5 buttons"):
        Card(title="t", buttons=tuple(Button("b", f"t{n}") for n in range(6)))
    with pytest.raises(ValueError, match="at most 25 buttons"):
        Reply(buttons=tuple(Button("b", f"t{n}") for n in range(26)))
    # What bypasses construction is still caught by the checker.
    broken = Reply(text="ok", buttons=(Button("b", "abc"),))
    object.__setattr__(broken, "text", "x" * 4100)
    object.__setattr__(broken, "buttons", (Button("b", "bad token\x00"),))
    found = violations(broken)
    assert any("Discord: 2000" in line for line in found)
    assert any("Telegram: 4096" in line for line in found)
    assert any("not 1 to 16 token characters" in line for line in found)
