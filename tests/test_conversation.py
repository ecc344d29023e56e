"""The conversation layer against the real core: buttons as action tokens, the season picker, the catalog."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from bots.conversation.catalog import CATALOGS, ENGLISH, Messages
from bots.conversation.conversation import Conversation
from core.db.models import ActionToken
from core.db.session import Database
from core.enums import UserRole
from core.services.operator import OPERATOR
from core.services.users import add_user

from .chat import people


async def test_a_button_pressed_by_someone_else_is_refused_politely(conversation: Conversation, db: Database) -> None:
    who = await people(db, ("alice", UserRole.USER), ("bob", UserRole.USER))
    found = await conversation.say("/search the matrix", actor=who["alice"])
    request_button = found.cards[0].buttons[0]
    assert request_button.label == "Request"
    assert len(request_button.token) <= 16
    refused = await conversation.press(request_button.token, actor=who["bob"])
    assert refused.text == "That button belongs to someone else's conversation."
    confirm = await conversation.press(request_button.token, actor=who["alice"])
    assert confirm.buttons[0].label == "Confirm"


async def test_moderation_buttons_work_for_any_moderator_checked_at_press_time(
    conversation: Conversation, db: Database
) -> None:
    who = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR), ("mod2", UserRole.MODERATOR))
    await conversation.say("/request movie 603", actor=who["alice"])
    listed = await conversation.say("/requests pending", actor=who["mod"])
    approve = listed.cards[0].buttons[0]
    assert approve.label == "Approve"
    theirs = await conversation.say("/requests", actor=who["alice"])
    assert [button.label for button in theirs.cards[0].buttons] == ["Cancel request"]  # no deciding for her
    # The moderator who drew the button loses the role before anyone presses it.
    await conversation.say("/requests pending", actor=who["mod2"])
    from core.services.users import set_role

    await set_role(db, "mod", UserRole.USER)
    demoted = await conversation.press(approve.token, actor=who["mod"])
    assert demoted.error
    assert "may not approve or deny" in demoted.text
    pressed = await conversation.press(approve.token, actor=who["mod2"])
    assert pressed.text == "Request #1, The Matrix (1999), approved by mod2."
    assert pressed.edit  # the moderation message is edited to show who decided
    again = await conversation.press(approve.token, actor=who["mod2"])
    assert again.text == "Sorry: request #1 was already approved by mod2; it cannot be approved."


async def test_expired_and_unknown_tokens_say_so_and_tokens_survive_a_restart(
    conversation: Conversation, db: Database
) -> None:
    who = await people(db, ("alice", UserRole.USER))
    found = await conversation.say("/search fight club", actor=who["alice"])
    token = found.cards[0].buttons[0].token
    restarted = Conversation(runtime=conversation.runtime, discovery=conversation.discovery)
    assert (await restarted.press(token, actor=who["alice"])).text.startswith("Request Fight Club (1999)?")
    async with db.transaction() as session:
        await session.execute(update(ActionToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert (await restarted.press(token, actor=who["alice"])).text == (
        "That button has expired. Send the command again for fresh buttons."
    )
    for garbage in ("nope", "", "x" * 100, "🙂🙂🙂"):
        assert (await restarted.press(garbage, actor=who["alice"])).text.startswith("That button no longer works")


async def test_the_season_picker_pages_past_25_seasons_keeping_all_seasons(
    conversation: Conversation, db: Database
) -> None:
    who = await people(db, ("alice", UserRole.USER))
    found = await conversation.say("/search tvdb:71663", actor=who["alice"])
    assert found.cards[0].title == "The Simpsons"
    first = await conversation.press(found.cards[0].buttons[0].token, actor=who["alice"])
    labels = [button.label for button in first.buttons]
    assert len(labels) <= 25
    assert labels[0] == "All seasons"
    assert labels[-1] == "More"
    second = await conversation.press(first.buttons[-1].token, actor=who["alice"])
    later = [button.label for button in second.buttons]
    assert later[0] == "All seasons"
    assert "Back" in later
    assert f"Season {max(int(x.split()[-1]) for x in later if x.startswith('Season'))}" in later
    season = next(button for button in second.buttons if button.label.startswith("Season"))
    confirm = await conversation.press(season.token, actor=who["alice"])
    assert re.fullmatch(r"Request season \d+ of The Simpsons \(1989\)\?", confirm.text)
    done = await conversation.press(confirm.buttons[0].token, actor=who["alice"])
    assert done.text.startswith("Requested The Simpsons")


async def test_a_deny_reason_answers_its_question_and_only_a_decider_is_asked(
    conversation: Conversation, db: Database
) -> None:
    who = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    await conversation.say("/request movie 603", actor=who["alice"])
    refused = await conversation.say("/deny 1", actor=who["alice"])
    assert "may not approve or deny" in refused.text
    assert refused.question is None
    asked = await conversation.say("/deny 1", actor=who["mod"])
    assert asked.text == "Why deny request #1 (The Matrix)? Answer this message with the reason."
    assert asked.question is not None
    assert asked.question.label == "Reason to deny request #1"
    denied = await conversation.answer(asked.question.key, "Not in our region.", actor=who["mod"])
    assert denied.text == "Request #1, The Matrix (1999), denied by mod: Not in our region."
    again = await conversation.answer(asked.question.key, "twice", actor=who["mod"])
    assert again.error
    assert "no longer open" in again.text
    assert (await conversation.say("stray text", actor=who["mod"])).error


async def test_the_users_language_chooses_the_catalog(conversation: Conversation, db: Database) -> None:
    who = await people(db, ("ana", UserRole.USER))
    saved = await conversation.say("/settings language es", actor=who["ana"])
    assert "Idioma: es" in saved.text  # confirmed in the language just chosen
    spanish = await conversation.actor_named("ana")
    found = await conversation.say("/search the matrix", actor=spanish)
    assert found.text == "Resultados para “the matrix”:"
    assert found.cards[0].buttons[0].label == "Pedir"
    assert (await conversation.say("/settings language xx", actor=spanish)).error
    # Refusals from core are said in her language too.
    refused = await conversation.say("/approve 999", actor=spanish)
    assert refused.text == "Lo siento: ana (user) no tiene permiso para esto."


def test_english_is_complete_and_names_the_buttons_as_asked() -> None:
    assert ENGLISH["button.request"] == "Request"
    assert ENGLISH["button.confirm"] == "Confirm"
    for language, catalog in CATALOGS.items():
        own = {key for key in catalog if not key.startswith("refusal.")}
        assert own <= set(ENGLISH), f"{language} has keys English lacks"
    used: set[str] = set()
    for source in Path("bots").rglob("*.py"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", source.read_text()))
        used |= set(re.findall(r"""ctx\.t\(\s*f?["']([a-z_]+\.[a-z_]+)["']""", source.read_text()))
    missing = sorted(key for key in used if key not in ENGLISH)
    assert not missing
    assert len(used) > 40
    assert Messages("pt-BR").language == "en"
    assert Messages("es-MX")("button.request") == "Pedir"


async def test_an_unknown_chat_account_links_with_a_code_or_registers(conversation: Conversation, db: Database) -> None:
    from bots.conversation.conversation import Speaker
    from core.enums import ChatPlatform
    from core.services import identity

    await add_user(db, "alice", UserRole.USER)
    stranger = Speaker(ChatPlatform.TELEGRAM, "4242", "Alice A")
    told = await conversation.say("/search the matrix", speaker=stranger)
    assert told.text.startswith("Sorry: this Telegram account is not linked to an idkarr user yet")
    assert "/link CODE" in told.text
    bad = await conversation.say("/link NOPE", speaker=stranger)
    assert bad.error
    code, _ = await identity.issue_link_code(db, "alice", by=OPERATOR)
    linked = await conversation.say(f"/link {code}", speaker=stranger)
    assert linked.text == "This account is now linked to alice. Welcome!"
    found = await conversation.say("/search the matrix", speaker=stranger)
    assert found.cards[0].title == "The Matrix"
    newcomer = Speaker(ChatPlatform.DISCORD, "77", "Newbie")
    pending = await conversation.say("/register", speaker=newcomer)
    assert pending.text == "Thanks, Newbie. An admin will approve your account soon; you'll hear from me then."


async def test_seasons_are_edited_while_pending_and_a_failed_request_is_retried_by_a_moderator(
    conversation: Conversation, db: Database
) -> None:
    from core.services import requests

    who = await people(db, ("alice", UserRole.USER), ("bob", UserRole.USER), ("mod", UserRole.MODERATOR))
    await conversation.say("/request series 81189 1", actor=who["alice"])
    assert "/edit ID SEASONS" in (await conversation.say("/edit 1", actor=who["alice"])).text
    assert "only the person who made request #1" in (await conversation.say("/edit 1 1-2", actor=who["bob"])).text
    assert "has no season 9" in (await conversation.say("/edit 1 9", actor=who["alice"])).text
    edited = await conversation.say("/edit 1 1-2", actor=who["alice"])
    assert edited.text == "Request #1 for Breaking Bad now asks for seasons 1, 2."
    await conversation.say("/request movie 603", actor=who["alice"])
    film = await conversation.say("/edit 2 1", actor=who["alice"])
    assert film.error
    assert "it has no seasons to change" in film.text

    await conversation.say("/approve 2", actor=who["mod"])
    await requests.mark_failed(db, 2, reason="Radarr: disk full")
    hers = await conversation.say("/requests failed", actor=who["alice"])
    assert hers.cards[0].title == "The Matrix (1999)"
    assert hers.cards[0].buttons == ()  # only those who may retry are offered Retry
    refused = await conversation.say("/retry 2", actor=who["alice"])
    assert refused.error
    assert "may not approve or deny" in refused.text
    retry = (await conversation.say("/requests failed", actor=who["mod"])).cards[0].buttons[0]
    assert retry.label == "Retry"
    assert (await conversation.press(retry.token, actor=who["alice"])).text == (
        "That button belongs to someone else's conversation."
    )
    assert (await conversation.press(retry.token, actor=who["mod"])).text == "Sent request #2 again: The Matrix (1999)."
    again = await conversation.say("/retry 2", actor=who["mod"])
    assert again.text == "Sorry: request #2 was already approved by mod; it cannot be retried."


async def test_privacy_is_set_from_chat_and_keeps_lists_and_history_from_others(
    conversation: Conversation, db: Database
) -> None:
    who = await people(db, ("alice", UserRole.USER), ("bob", UserRole.USER))
    added = await conversation.say("/watchlist add series 81189 watching", actor=who["alice"])
    assert added.text == "Added Breaking Bad to your watching list."
    moved = await conversation.say("/watchlist set series 81189 progress 1 2", actor=who["alice"])
    assert moved.text == "Breaking Bad is on your watching list at S01E02."
    await conversation.say("/request movie 603", actor=who["alice"])
    theirs = await conversation.say("/watchlist list @alice", actor=who["bob"])
    assert theirs.text.splitlines() == ["alice's list:", "watching: Breaking Bad (2008) at S01E02"]
    shown = await conversation.say("/settings", actor=who["alice"])
    assert "Others may see my watchlist: on" in shown.text
    seen = await conversation.say("/activity", actor=who["bob"])
    assert "watched an episode · alice" in seen.text
    assert "requested · alice" in seen.text

    for what in ("watchlist", "watched", "requests"):
        saved = await conversation.say(f"/settings show {what} off", actor=who["alice"])
        assert saved.text.startswith("Saved.")
    assert "Others may see what I watched: off" in saved.text
    hidden = await conversation.say("/activity", actor=who["bob"])
    assert "alice" not in hidden.text.replace("joined idkarr · alice", "")
    refused = await conversation.say("/watchlist list alice", actor=who["bob"])
    assert "keeps their watchlist private" in refused.text
    assert "watched an episode · alice" in (await conversation.say("/activity", actor=who["alice"])).text
    for wrong in ("/settings show everything off", "/settings show watchlist maybe", "/settings show"):
        assert (await conversation.say(wrong, actor=who["alice"])).error


async def test_a_moderator_approves_into_a_chosen_instance_profile_and_folder(
    conversation: Conversation, db: Database
) -> None:
    from .test_placement import libraries, placed

    ids = await libraries(db)
    who = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    await conversation.say("/request movie 603", actor=who["alice"])
    await conversation.say("/request movie 550", actor=who["alice"])
    for wrong, answer in (
        ("/approve 1 shelf:top", "'shelf:top' is more than /approve takes"),
        ("/approve 1 profile:", "profile: needs a value"),
        ("/approve 1 profile:UHD profile:Any", "profile: is given twice"),
        ('/approve 1 instance:"Movies 4K', "a quote is not closed"),
        ("/approve 1 instance:Nope", "there is no instance 'Nope'"),
        ('/approve 1 instance:"Movies 4K" profile:Any', "instance Movies 4K has no quality profile 'Any'"),
    ):
        refused = await conversation.say(wrong, actor=who["mod"])
        assert refused.error, wrong
        assert answer in refused.text, (wrong, refused.text)
    approved = await conversation.say('/approve 1 instance:"Movies 4K" profile:UHD', actor=who["mod"])
    assert approved.text == "Request #1, The Matrix (1999), approved by mod."
    assert await placed(db, 1) == (ids["Movies 4K"], ids["Movies 4K:UHD"], ids["Movies 4K:/movies-4k"])
    assert (await conversation.say("/approve 2 folder:/movies-kids", actor=who["mod"])).error is False
    assert await placed(db, 2) == (ids["Movies"], ids["Movies:HD-1080p"], ids["Movies:/movies-kids"])
