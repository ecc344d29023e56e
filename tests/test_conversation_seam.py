"""The conversation as the seam Discord and Telegram plug into: commands as data, typed options, questions
tied to their chat, action tokens owned by the core, notifications with buttons."""

from __future__ import annotations

import string
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select, update

from bots.conversation.commands import COMMANDS, usage
from bots.conversation.context import Actor
from bots.conversation.conversation import CONSOLE, Conversation
from bots.conversation.limits import violations
from bots.conversation.questions import Place
from bots.conversation.registry import Audience, Completion, OptionKind
from core.config import Settings
from core.db.models import ActionToken
from core.db.session import Database
from core.enums import ChatPlatform, ContentType, UserRole
from core.runtime import Runtime
from core.scheduler import build_scheduler
from core.services import action_tokens, requests
from core.services.access import set_limits
from core.services.dispatcher import Delivery, Dispatcher

from .chat import people

GROUP = Place(ChatPlatform.TELEGRAM, "-100200", private=False)
DM = Place(ChatPlatform.TELEGRAM, "7", private=True)

# --- commands as data ------------------------------------------------------------------------------------


def test_every_command_is_described_once_and_its_help_comes_from_the_description() -> None:
    names = [command.name for command in COMMANDS]
    assert len(names) == len(set(names))
    assert {"search", "request", "approve", "deny", "watchlist", "settings", "discover"} <= set(names)
    for command in COMMANDS:
        assert command.name.isascii()
        assert command.name.islower()
        assert len(command.name) <= 32
        assert len(command.options) <= 25
        for option in command.options:
            assert option.name.isascii()
            assert option.name.islower()
            if option.kind == OptionKind.CHOICE:
                assert 1 <= len(option.choices) <= 25  # Discord's choices
    assert usage(COMMANDS.get("request")) == "/request [movie|series|anime] TITLE [SEASONS]"  # type: ignore[arg-type]
    moderators = {command.name for command in COMMANDS.visible_to(Audience.MODERATOR)}
    members = {command.name for command in COMMANDS.visible_to(Audience.MEMBER)}
    guests = {command.name for command in COMMANDS.visible_to(Audience.ANYONE)}
    assert {"approve", "deny", "retry"} <= moderators - members
    assert guests == {"help", "start", "link", "register"}
    assert "link" not in members  # a linked person is not offered /link again
    title = COMMANDS.get("request").option("title")  # type: ignore[union-attr]
    assert title is not None
    assert title.completion == Completion.TITLE


@pytest.mark.parametrize(
    ("line", "options"),
    [
        ("series 1399 1-2", {"type": "series", "title": "1399", "seasons": "1-2"}),
        ("the last of us 1", {"title": "the last of us", "seasons": "1"}),
        ("tv breaking bad", {"type": "tv", "title": "breaking bad"}),
        ("1917", {"title": "1917"}),
    ],
)
def test_a_typed_line_is_parsed_once_into_the_commands_options(line: str, options: dict[str, str]) -> None:
    command = COMMANDS.get("request")
    assert command is not None
    assert COMMANDS.parse(command, line) == options


async def test_typed_options_and_a_typed_line_give_the_same_answer(conversation: Conversation, db: Database) -> None:
    who = await people(db, ("alice", UserRole.USER), ("bob", UserRole.USER))
    typed = await conversation.run("request", {"type": "movie", "title": "603"}, place=DM, actor=who["alice"])
    said = await conversation.say("/request movie 603", place=DM, actor=who["bob"])
    assert typed.text == "Requested The Matrix (1999). A moderator will look at it."
    assert said.text.startswith("The Matrix was already requested; you now follow request #1")
    wrong = await conversation.run("request", {"title": "603", "colour": "red"}, place=DM, actor=who["alice"])
    assert wrong.error
    assert "/request has no option 'colour'" in wrong.text
    missing = await conversation.run("approve", {}, place=DM, actor=who["alice"])
    assert missing.text.startswith("Sorry: /approve needs id.")
    huge = await conversation.run("search", {"query": "x" * 5000}, place=DM, actor=who["alice"])
    assert "query is too long (5000 characters; the most is 200)" in huge.text
    hostile = await conversation.run("approve", {"id": "1; DROP TABLE request"}, place=DM, actor=who["alice"])
    assert "is not a number for id" in hostile.text


async def test_autocomplete_answers_titles_and_requests_within_discords_limits(
    conversation: Conversation, db: Database
) -> None:
    who = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    titles = await conversation.complete("request", "title", "the", actor=who["alice"])
    assert 1 <= len(titles) <= 25
    assert all(len(choice.name) <= 100 and len(choice.value) <= 100 for choice in titles)
    matrix = await conversation.complete("request", "title", "matrix", actor=who["alice"])
    assert matrix[0].name == "The Matrix (1999, movie)"
    assert matrix[0].value == "tmdb:603"
    # The value goes back as the title option and names exactly that title.
    done = await conversation.run("request", {"title": matrix[0].value}, place=DM, actor=who["alice"])
    assert done.text == "Requested The Matrix (1999). A moderator will look at it."
    pending = await conversation.complete("approve", "id", "", actor=who["mod"])
    assert [choice.value for choice in pending] == ["1"]
    assert pending[0].name.startswith("#1 The Matrix (1999)")
    assert await conversation.complete("approve", "id", "", actor=who["alice"]) == []  # she decides nothing
    assert await conversation.complete("request", "seasons", "1", actor=who["alice"]) == []  # no completion there


# --- questions tied to where they were asked --------------------------------------------------------------


async def test_a_casual_message_after_deny_never_denies_and_a_command_drops_the_question(
    conversation: Conversation, db: Database
) -> None:
    who = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    await conversation.say("/request movie 603", place=DM, actor=who["alice"])
    asked = await conversation.say("/deny 1", place=GROUP, actor=who["mod"])
    assert asked.question is not None
    # Minutes later, in any chat: plain text is not an answer.
    for place in (GROUP, DM):
        casual = await conversation.say("lol wrong chat", place=place, actor=who["mod"])
        assert casual.error
        assert casual.text == "Commands start with /. Send /help to see them."
    # The answer is tied to the chat it was asked in.
    elsewhere = await conversation.answer(asked.question.key, "Not here", place=DM, actor=who["mod"])
    assert "no longer open" in elsewhere.text
    # A command in between drops it, with a word.
    listed = await conversation.say("/requests pending", place=GROUP, actor=who["mod"])
    assert listed.text.startswith("(I stopped waiting for your reason to deny request #1; it was not denied.)")
    late = await conversation.answer(asked.question.key, "Not this month", place=GROUP, actor=who["mod"])
    assert late.error
    state = await conversation.say("/requests pending", place=GROUP, actor=who["mod"])
    assert "Pending" in state.cards[0].subtitle


async def test_a_question_outlives_no_restart_and_no_ten_minutes(
    conversation: Conversation, db: Database, redis_client: aioredis.Redis
) -> None:
    who = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    await conversation.say("/request movie 603", place=DM, actor=who["alice"])
    asked = await conversation.say("/deny 1", place=GROUP, actor=who["mod"])
    assert asked.question is not None
    keys = [key async for key in redis_client.scan_iter(match="*question:*")]
    assert len(keys) == 1
    assert 0 < await redis_client.ttl(keys[0]) <= 600
    # Another process (or the same one after a restart) takes the answer only with the question's key.
    again = Conversation(runtime=conversation.runtime, discovery=conversation.discovery)
    assert (await again.say("sure, whatever", place=GROUP, actor=who["mod"])).error
    other = await again.answer("not-the-key", "Not in our region", place=GROUP, actor=who["mod"])
    assert other.error
    denied = await again.answer(asked.question.key, "Not in our region", place=GROUP, actor=who["mod"])
    assert denied.text == "Request #1, The Matrix (1999), denied by mod: Not in our region"


# --- action tokens belong to the core ----------------------------------------------------------------------


@pytest.mark.parametrize("token", ["\x00", "abc\x00def", "x" * 10_000, "../../etc", "ä" * 5, "", "a b"])
async def test_a_malformed_token_is_refused_before_the_database(
    conversation: Conversation, db: Database, token: str
) -> None:
    who = await people(db, ("alice", UserRole.USER))
    pressed = await conversation.press(token, place=DM, actor=who["alice"])
    assert pressed.text == "That button no longer works. Send the command again for fresh buttons."
    assert not action_tokens.well_formed(token)


async def test_expired_tokens_are_purged_by_a_scheduled_job(conversation: Conversation, db: Database) -> None:
    who = await people(db, ("alice", UserRole.USER))
    found = await conversation.say("/search the matrix", place=DM, actor=who["alice"])
    live = found.cards[0].buttons[0].token
    async with db.transaction() as session:
        total = (await session.execute(select(func.count()).select_from(ActionToken))).scalar_one()
        await session.execute(
            update(ActionToken)
            .where(ActionToken.id != live)
            .values(expires_at=datetime.now(UTC) - action_tokens.PURGE_AFTER - timedelta(minutes=1))
        )
    assert await action_tokens.purge_expired(db) == total - 1
    async with db.session() as session:
        left = (await session.execute(select(ActionToken.id))).scalars().all()
    assert left == [live]
    scheduler = build_scheduler(Settings(), db)
    assert {job.id for job in scheduler.get_jobs()} >= {"expire_requests", "purge_action_tokens"}


# --- notifications that act ---------------------------------------------------------------------------------


def _delivery(event: str, recipient: Actor, **payload: object) -> Delivery:
    return Delivery(
        id=1,
        dedup_key=f"k-{event}",
        event=event,
        payload={"title": "The Matrix", "year": 1999, "content_type": "movie", **payload},
        attempt=1,
        recipient_id=recipient.user_id,
        recipient=recipient.username,
    )


async def test_a_moderators_new_request_notice_carries_approve_and_deny(
    conversation: Conversation, db: Database
) -> None:
    who = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    await conversation.say("/request movie 603", place=DM, actor=who["alice"])
    notice = await conversation.notification(
        _delivery("request_pending", who["mod"], request_id=1, requested_by="alice")
    )
    assert notice.text == "New request from alice: The Matrix (1999)."
    assert [button.label for button in notice.buttons] == ["Approve", "Deny"]
    approved = await conversation.press(notice.buttons[0].token, place=DM, actor=who["mod"])
    assert approved.text == "Request #1, The Matrix (1999), approved by mod."
    # Someone who may not decide gets the words without the buttons.
    plain = await conversation.notification(_delivery("request_pending", who["alice"], request_id=1))
    assert plain.buttons == ()


async def test_an_arrival_notice_offers_the_watchlist_and_an_announcement_offers_nothing(
    conversation: Conversation, db: Database
) -> None:
    who = await people(db, ("alice", UserRole.USER))
    notice = await conversation.notification(_delivery("request_available", who["alice"], tmdb_id=603))
    assert notice.text == "The Matrix (1999) is available now. Enjoy!"
    assert [button.label for button in notice.buttons] == ["Add to watchlist"]
    added = await conversation.press(notice.buttons[0].token, place=DM, actor=who["alice"])
    assert added.text == "Added The Matrix to your watchlist."
    announcement = Delivery(
        id=2, dedup_key="a", event="request_available", payload={"title": "The Matrix", "year": 1999}, attempt=1
    )
    told = await conversation.notification(announcement)
    assert told.text == "The Matrix (1999) is available now."
    assert told.buttons == ()
    assert violations(told) == violations(notice) == []


# --- what a person reads -----------------------------------------------------------------------------------


async def test_an_unknown_id_is_no_such_title_not_an_outage(conversation: Conversation, db: Database) -> None:
    who = await people(db, ("alice", UserRole.USER))
    reply = await conversation.say("/request series 1399 1-2", place=CONSOLE, actor=who["alice"])
    assert reply.text == (
        "Sorry: there is no series with TheTVDB id 1399 (a bare number is read as TheTVDB's for a series;"
        " write tmdb:1399 for the other)."
    )
    prefixed = await conversation.say("/request movie tmdb:99999999", place=CONSOLE, actor=who["alice"])
    assert prefixed.text == "Sorry: there is no movie with TMDB id 99999999."
    assert "can't be reached" not in reply.text + prefixed.text


async def test_a_title_is_requested_by_name_or_offered_as_a_choice(conversation: Conversation, db: Database) -> None:
    who = await people(db, ("alice", UserRole.USER))
    one = await conversation.say("/request the last of us 1", place=CONSOLE, actor=who["alice"])
    assert one.text == "Requested The Last of Us (2023). A moderator will look at it."
    film = await conversation.say("/request blade runner 2049", place=CONSOLE, actor=who["alice"])
    assert film.text == "Requested Blade Runner 2049 (2017). A moderator will look at it."
    several = await conversation.say("/request avengers", place=CONSOLE, actor=who["alice"])
    assert several.text == "Which one do you mean by “avengers”?"
    assert len(several.cards) > 1
    assert all(card.reference.startswith(("tmdb:", "tvdb:")) for card in several.cards)
    picked = await conversation.press(several.cards[0].buttons[0].token, place=CONSOLE, actor=who["alice"])
    assert picked.text.startswith("Request ")
    none = await conversation.say("/request zzzzqqqq", place=CONSOLE, actor=who["alice"])
    assert none.text == "Sorry: nothing is called “zzzzqqqq”."
    added = await conversation.say("/watchlist add frieren", place=CONSOLE, actor=who["alice"])
    assert added.text == "Added Frieren: Beyond Journey's End to your watchlist."
    progress = await conversation.say("/watchlist set frieren progress 1 5", place=CONSOLE, actor=who["alice"])
    assert progress.text == "Frieren: Beyond Journey's End is on your watchlist at S01E05."


async def test_a_viewer_is_drawn_no_request_button_and_told_by_quota(conversation: Conversation, db: Database) -> None:
    who = await people(db, ("vera", UserRole.VIEWER), ("alice", UserRole.USER))
    found = await conversation.say("/search the matrix", place=CONSOLE, actor=who["vera"])
    assert [button.label for button in found.cards[0].buttons] == ["Add to watchlist", "More like this"]
    quota = await conversation.say("/quota", place=CONSOLE, actor=who["vera"])
    assert "Your account may not request titles" in quota.text
    theirs = await conversation.say("/search the matrix", place=CONSOLE, actor=who["alice"])
    assert [button.label for button in theirs.cards[0].buttons] == ["Request", "Add to watchlist", "More like this"]


async def test_similar_and_recommended_titles_reach_people(conversation: Conversation, db: Database) -> None:
    who = await people(db, ("alice", UserRole.USER))
    similar = await conversation.say("/discover similar the matrix", place=CONSOLE, actor=who["alice"])
    assert similar.text == "Titles similar to The Matrix:"
    assert similar.cards
    assert all(card.title != "The Matrix" for card in similar.cards)
    recommended = await conversation.say("/discover recommended tmdb:603", place=CONSOLE, actor=who["alice"])
    assert recommended.text == "Recommended if you liked The Matrix:"
    found = await conversation.say("/search the matrix", place=CONSOLE, actor=who["alice"])
    more_like = found.cards[0].buttons[-1]
    assert more_like.label == "More like this"
    pressed = await conversation.press(more_like.token, place=CONSOLE, actor=who["alice"])
    assert pressed.text == "Titles similar to The Matrix:"
    assert (await conversation.say("/discover similar", place=CONSOLE, actor=who["alice"])).error
    headed = await conversation.say("/discover trending movie", place=CONSOLE, actor=who["alice"])
    assert headed.text == "Trending movies:"


async def test_quota_and_the_quota_check_agree_step_by_step(conversation: Conversation, db: Database) -> None:
    who = await people(db, ("qq", UserRole.USER), ("bob", UserRole.USER))
    await set_limits(db, "qq", quotas={ContentType.MOVIE: (1, 7), ContentType.SERIES: (2, 7)})
    before = await conversation.say("/quota", place=CONSOLE, actor=who["qq"])
    assert "movie: 0 of 1 requests used in the last 7 days" in before.text
    assert "series: 0 of 2 seasons used in the last 7 days" in before.text
    assert not (await conversation.say("/request movie 603", place=CONSOLE, actor=who["qq"])).error
    assert not (await conversation.say("/request series tvdb:81189 1", place=CONSOLE, actor=who["qq"])).error
    after = await conversation.say("/quota", place=CONSOLE, actor=who["qq"])
    assert "movie: 1 of 1 requests used in the last 7 days" in after.text
    assert "series: 1 of 2 seasons used in the last 7 days" in after.text
    refused = await conversation.say("/request movie 550", place=CONSOLE, actor=who["qq"])
    assert refused.text == (
        "Sorry: qq has used 1 of the 1 movie requests allowed every 7 days; this would need 1 more."
    )
    # Widening her own pending request by joining it asks for seasons too, and is counted.
    widened = await conversation.say("/request series tvdb:81189 2,3", place=CONSOLE, actor=who["qq"])
    assert widened.error
    assert "has used 1 of the 2 series seasons" in widened.text
    assert not (await conversation.say("/request series tvdb:81189 2", place=CONSOLE, actor=who["qq"])).error
    full = await conversation.say("/quota", place=CONSOLE, actor=who["qq"])
    assert "series: 2 of 2 seasons used in the last 7 days" in full.text


async def test_an_approved_title_reads_as_approved_until_it_arrives(conversation: Conversation, db: Database) -> None:
    who = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    await conversation.say("/request movie 603", place=CONSOLE, actor=who["alice"])
    await conversation.say("/approve 1", place=CONSOLE, actor=who["mod"])
    found = await conversation.discovery.search("tmdb:603")
    assert found.items[0].exists_in_library is False
    assert found.items[0].media_id is not None
    shown = await conversation.say("/search the matrix", place=CONSOLE, actor=who["alice"])
    assert shown.cards[0].badges[0] == "Approved"
    assert "In library" not in shown.cards[0].badges
    await requests.mark_available(db, 1)
    arrived = await conversation.discovery.search("tmdb:603")
    assert arrived.items[0].exists_in_library is True
    again = await conversation.say("/search the matrix", place=CONSOLE, actor=who["alice"])
    assert again.cards[0].badges[0] == "Available"


async def test_a_requester_hears_when_a_moderator_changes_their_seasons(
    conversation: Conversation, db: Database
) -> None:

    who = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    await conversation.say("/request series tvdb:81189 1", place=CONSOLE, actor=who["alice"])
    edited = await conversation.say("/edit 1 1-3", place=CONSOLE, actor=who["mod"])
    assert edited.text == "Request #1 for Breaking Bad now asks for seasons 1, 2, 3."
    await conversation.say("/edit 1 1,2", place=CONSOLE, actor=who["alice"])  # her own change: no notice

    class Inbox:
        name = "console"

        def __init__(self) -> None:
            self.got: list[Delivery] = []

        async def deliver(self, delivery: Delivery) -> bool:
            self.got.append(delivery)
            return True

    inbox = Inbox()
    await Dispatcher(db, [inbox]).drain()
    to_alice = [d for d in inbox.got if d.recipient == "alice"]
    assert [d.event for d in to_alice] == ["request_edited"]
    notice = await conversation.notification(to_alice[0])
    assert notice.text == "mod changed your request for Breaking Bad (2008): it now asks for seasons 1, 2, 3."


def test_discord_and_telegram_menus_are_generated_from_the_registry_within_their_rules() -> None:
    import re

    from bots.conversation.menus import discord_commands, telegram_commands

    slash = discord_commands()
    # /register is what the refusal to someone unlinked offers; /start is Telegram's.
    assert {command["name"] for command in slash} == {c.name for c in COMMANDS} - {"start"}
    for command in slash:
        assert re.fullmatch(r"[a-z0-9_-]{1,32}", command["name"])
        assert 1 <= len(command["description"]) <= 100
        assert command["description_localizations"]["es-ES"]
        assert len(command["options"]) <= 25
        required = [option["required"] for option in command["options"]]
        assert required == sorted(required, reverse=True), f"/{command['name']}: required options come first"
        for option in command["options"]:
            assert re.fullmatch(r"[a-z0-9_-]{1,32}", option["name"])
            assert 1 <= len(option["description"]) <= 100
            assert len(option.get("choices", [])) <= 25
            assert not (option.get("choices") and option.get("autocomplete"))
    request = next(command for command in slash if command["name"] == "request")
    assert [(o["name"], o["required"], o.get("autocomplete", False)) for o in request["options"]] == [
        ("title", True, True),
        ("type", False, False),
        ("seasons", False, False),
    ]
    for language in ("en", "es"):
        for audience in (Audience.ANYONE, Audience.MEMBER, Audience.MODERATOR):
            listed = telegram_commands(language, audience)
            assert listed
            for entry in listed:
                assert re.fullmatch(r"[a-z0-9_]{1,32}", entry["command"])
                assert 1 <= len(entry["description"]) <= 256
    assert telegram_commands("es", Audience.MEMBER)[0]["description"] == "esta lista"


def test_every_shipped_language_says_everything_english_says() -> None:
    from bots.conversation.catalog import CATALOGS, ENGLISH

    for language, catalog in CATALOGS.items():
        missing = sorted(set(ENGLISH) - set(catalog))
        assert not missing, f"{language} lacks {missing}"
        for key, template in catalog.items():
            if key in ENGLISH:
                english = {field for _, field, _, _ in string.Formatter().parse(ENGLISH[key]) if field}
                own = {field for _, field, _, _ in string.Formatter().parse(template) if field}
                assert own <= english, f"{language}: {key} names {own - english}"


async def test_a_refused_key_is_said_as_a_configuration_problem_not_a_passing_outage(
    db: Database, redis_client: aioredis.Redis
) -> None:
    from .fake_tmdb import serve_tmdb
    from .metadata_helpers import discovery_service, tmdb_provider

    who = await people(db, ("alice", UserRole.USER))
    async with serve_tmdb() as fake, tmdb_provider(fake) as provider:
        fake.faults.extend([401] * 5)
        runtime = Runtime(settings=Settings(), database=db, redis=redis_client, started_at=time.perf_counter())
        talk = Conversation(runtime=runtime, discovery=discovery_service(db, redis_client, provider))
        refused = await talk.say("/search dune", place=DM, actor=who["alice"])
    assert refused.error
    assert refused.text == "TMDB refused idkarr's key; an admin needs to fix idkarr's configuration."


async def test_a_reason_that_cannot_be_taken_leaves_the_question_open(conversation: Conversation, db: Database) -> None:
    who = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    await conversation.say("/request movie 603", place=DM, actor=who["alice"])
    asked = await conversation.say("/deny 1", place=GROUP, actor=who["mod"])
    assert asked.question is not None
    too_long = await conversation.answer(asked.question.key, "x" * 600, place=GROUP, actor=who["mod"])
    assert too_long.text == "Sorry: a denial needs a reason of 1 to 500 characters."
    assert too_long.question is not None
    assert too_long.question.key == asked.question.key  # asked again
    denied = await conversation.answer(asked.question.key, "Not this month", place=GROUP, actor=who["mod"])
    assert denied.text == "Request #1, The Matrix (1999), denied by mod: Not this month"
    again = await conversation.answer(asked.question.key, "twice", place=GROUP, actor=who["mod"])
    assert "no longer open" in again.text


async def test_notifications_are_switched_by_the_words_people_type(conversation: Conversation, db: Database) -> None:
    from core.services.outbox import wants
    from core.services.users import update_preferences

    who = await people(db, ("alice", UserRole.USER))
    saved = await conversation.say("/settings notify failed off", place=DM, actor=who["alice"])
    assert "Tell me when a download fails: off" in saved.text
    assert "Tell me when my request is approved: on" in saved.text
    prefs = await update_preferences(db, who["alice"].user_id)
    assert not wants(prefs.notifications, "request_failed")
    assert wants(prefs.notifications, "request_approved")
    for wrong in ("/settings notify failed maybe", "/settings notify exploded off", "/settings notify"):
        assert (await conversation.say(wrong, place=DM, actor=who["alice"])).error, wrong
