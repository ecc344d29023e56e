"""The conversation: a command, a button press or an answer from someone, turned into core calls and a Reply.

Front ends call five things: `say` (a line of text: console, Telegram), `run` (a command with typed
options: a Discord slash command), `press` (a button), `answer` (text tied to a question the conversation
asked) and `complete` (autocomplete); and `notification` turns an outbox delivery into a reply with the
buttons its recipient may press. Errors become replies written for people: a refused rule says why, an
unknown title says so, an unreachable upstream says to try again, anything else is logged and apologised
for; nobody ever sees a traceback.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bots.conversation import account_commands, discovery_commands, request_commands
from bots.conversation.catalog import Messages
from bots.conversation.commands import COMMANDS, usage
from bots.conversation.context import Actor, Context
from bots.conversation.notifications import announcement_text, notification_text
from bots.conversation.questions import Place, Questions
from bots.conversation.registry import Audience, Command, Completion
from bots.conversation.replies import Button, Choice, Question, Reply
from bots.conversation.tokens import ButtonMaker
from core.enums import ChatPlatform, ContentType
from core.errors import DomainError, InvalidInput
from core.metrics import INTERACTIONS
from core.runtime import Runtime
from core.services import action_tokens, identity, requests
from core.services.action_tokens import TokenRefused
from core.services.discovery import DiscoveryService
from core.services.dispatcher import Delivery
from core.services.users import UserSummary, find_user
from core.text import clean_text
from core.upstream_errors import UpstreamAuthFailed, UpstreamError, UpstreamNotFound

__all__ = ["CONSOLE", "MAX_MESSAGE", "Conversation", "Speaker", "clean"]

log = logging.getLogger(__name__)

MAX_MESSAGE = 2000
# Discord kills an autocomplete interaction after 3 s; what the cache cannot answer by then is not waited for.
COMPLETE_SECONDS = 2.0
CONSOLE = Place(ChatPlatform.CONSOLE, "console")

ACTIONS: dict[str, Callable[..., Awaitable[Reply]]] = {
    **request_commands.ACTIONS,
    **account_commands.ACTIONS,
    **discovery_commands.ACTIONS,
}


@dataclass(frozen=True)
class Speaker:
    """Who sent a message, as their platform knows them."""

    platform: ChatPlatform
    platform_user_id: str
    display_name: str | None = None


def clean(text: str) -> str:
    """The text without control characters (a terminal or chat client can send them)."""
    return clean_text(text, keep_newlines=True)


class Conversation:
    commands = COMMANDS

    def __init__(self, *, runtime: Runtime, discovery: DiscoveryService) -> None:
        self.runtime = runtime
        self.discovery = discovery
        self.questions = Questions(runtime.redis, runtime.settings.redis.key_prefix)

    async def actor_named(self, username: str) -> Actor:
        return _actor(await find_user(self.runtime.database, username))

    async def identify(self, speaker: Speaker) -> Actor | None:
        try:
            user = await identity.identify(
                self.runtime.database,
                speaker.platform,
                speaker.platform_user_id,
                display_name=speaker.display_name,
                registration=self.runtime.settings.users.registration,
            )
        except identity.NotLinked:
            return None
        return _actor(user)

    async def _who(self, actor: Actor | None, speaker: Speaker | None) -> Actor | None:
        if actor is None and speaker is not None:
            return await self.identify(speaker)
        return actor

    # --- what front ends call ------------------------------------------------------------------------

    async def say(
        self, text: str, *, place: Place = CONSOLE, actor: Actor | None = None, speaker: Speaker | None = None
    ) -> Reply:
        """Answer one typed line. Plain text never answers a question: only `answer` does."""
        INTERACTIONS.labels(place.platform.value, "message").inc()
        actor = await self._who(actor, speaker)
        t = Messages(actor.language if actor else "en")
        if len(text) > MAX_MESSAGE:
            return Reply(text=t("input.too_long", length=len(text), limit=MAX_MESSAGE), error=True)
        text = clean(text)
        if not text.startswith("/") or len(text) == 1:
            return Reply(text=t("help.not_command"), error=True)
        word, _, rest = text[1:].partition(" ")
        word, _, first_line = word.partition("\n")  # "/deny 3\nreason" keeps the newline's words
        rest = f"{first_line} {rest}".strip()
        name = word.split("@", 1)[0].lower()  # Telegram adds @botname in groups
        command = self.commands.get(name)
        if command is None:
            return Reply(text=t("help.unknown", command="/" + name[:40]), error=True)
        try:
            options = self.commands.parse(command, rest)
        except DomainError as error:
            return await self._dropping(place, actor, self._usage(t, command, error))
        return await self._command(command, options, place=place, actor=actor, speaker=speaker)

    async def run(
        self,
        name: str,
        options: Mapping[str, object],
        *,
        place: Place,
        actor: Actor | None = None,
        speaker: Speaker | None = None,
    ) -> Reply:
        """A command with options already typed by the platform (a Discord slash command)."""
        INTERACTIONS.labels(place.platform.value, "command").inc()
        actor = await self._who(actor, speaker)
        command = self.commands.get(name)
        if command is None:
            t = Messages(actor.language if actor else "en")
            return Reply(text=t("help.unknown", command="/" + name[:40]), error=True)
        return await self._command(command, options, place=place, actor=actor, speaker=speaker)

    async def press(
        self, token: str, *, place: Place = CONSOLE, actor: Actor | None = None, speaker: Speaker | None = None
    ) -> Reply:
        INTERACTIONS.labels(place.platform.value, "button").inc()
        actor = await self._who(actor, speaker)
        if actor is None:
            return self._not_linked(speaker)
        return await self._guarded(Messages(actor.language), self._pressed(actor, place, token))

    async def answer(
        self,
        key: str,
        text: str,
        *,
        place: Place = CONSOLE,
        actor: Actor | None = None,
        speaker: Speaker | None = None,
    ) -> Reply:
        """Text the platform tied to question `key` (a modal submit, a reply to the question message)."""
        INTERACTIONS.labels(place.platform.value, "answer").inc()
        actor = await self._who(actor, speaker)
        if actor is None:
            return self._not_linked(speaker)
        t = Messages(actor.language)
        pending = await self.questions.peek(place, actor.user_id, key)
        if pending is None or pending.action != "deny":
            return Reply(text=t("question.gone"), error=True, private=True)
        if len(text) > MAX_MESSAGE:
            return Reply(text=t("input.too_long", length=len(text), limit=MAX_MESSAGE), error=True)
        request_id = int(pending.arguments["id"])
        try:
            work = self._run(actor, place, lambda ctx: request_commands.deny_reason(ctx, clean(text), id=request_id))
            reply = await self._guarded(t, work, passing=(InvalidInput,))
        except InvalidInput as error:
            # A reason that cannot be taken (empty, too long): the question stays open, and is asked again.
            again = Question(key=key, label=t("request.reason_label", id=request_id), max_length=requests.MAX_REASON)
            return Reply(text=t.refusal(error), error=True, question=again)
        await self.questions.close(place, actor.user_id, key)
        return reply

    async def complete(
        self,
        name: str,
        option: str,
        partial: str,
        *,
        options: Mapping[str, object] | None = None,
        actor: Actor | None = None,
        speaker: Speaker | None = None,
    ) -> list[Choice]:
        """Autocomplete for one option: at most 25 choices, from the shared cache, within the platform's deadline."""
        actor = await self._who(actor, speaker)
        command = self.commands.get(name)
        described = command.option(option) if command else None
        if actor is None or described is None or described.completion is None:
            return []
        typed = clean_text(partial)[:200]
        given = options or {}
        kind = given.get("type") or given.get("content")
        ctx = self._context(actor, CONSOLE)
        try:
            if described.completion == Completion.TITLE:
                work = discovery_commands.complete_titles(ctx, typed, str(kind) if kind else None)
            else:
                work = request_commands.complete_requests(ctx, typed, name)
            return (await asyncio.wait_for(work, COMPLETE_SECONDS))[:25]
        except TimeoutError:
            t = Messages(actor.language)
            return [Choice(name=t("complete.keep_typing"), value=typed or "?")]
        except (DomainError, UpstreamError):
            return []

    async def notification(self, delivery: Delivery, *, place: Place = CONSOLE) -> Reply:
        """An outbox delivery as a reply: the text in the recipient's language, with the buttons they may
        press (a moderator's new request: Approve and Deny; an arrival: Add to watchlist)."""
        if delivery.recipient_id is None or delivery.recipient is None:
            return Reply(text=announcement_text(delivery))
        text = notification_text(delivery)
        actor = Actor(user_id=delivery.recipient_id, username=delivery.recipient, language=delivery.language)
        try:
            return await self._run(actor, place, lambda ctx: _acting(ctx, delivery, text))
        except Exception:
            # The message matters more than its buttons: deliver it plain rather than not at all.
            log.exception("event=notification_buttons_failed outbox_id=%d", delivery.id)
            return Reply(text=text)

    async def moderation(self, delivery: Delivery) -> Reply | None:
        """A new request as posted to a moderators' chat: its announcement with Approve and Deny, which anyone
        there may press and only those whose idkarr role allows may use. None for any other announcement."""
        request_id = delivery.payload.get("request_id")
        if delivery.event != "request_created" or not isinstance(request_id, int):
            return None
        t = Messages(delivery.language)
        buttons = ButtonMaker(None)
        approve = buttons.make(
            t("button.approve"), "request.approve", "success", open_to_moderators=True, id=request_id
        )
        deny = buttons.make(t("button.deny"), "request.deny", "danger", open_to_moderators=True, id=request_id)
        more: tuple[Button, ...] = ()
        kind = _content_type(delivery.payload.get("content_type"))
        if kind is not None and await request_commands.offers_choice(self.runtime.database, kind):
            more = (buttons.make(t("button.approve_in"), "request.place", open_to_moderators=True, id=request_id),)
        await buttons.save(self.runtime.database)
        return Reply(text=announcement_text(delivery), buttons=(approve, deny, *more))

    async def titles(self, term: str, page: int, *, speaker: Speaker, page_size: int = 10) -> Reply | None:
        """A page of title cards for `term`, for a front end that lists titles its own way (Telegram's inline
        mode); None when the speaker is not linked."""
        actor = await self.identify(speaker)
        if actor is None:
            return None
        work = self._run(actor, CONSOLE, lambda ctx: discovery_commands.titles_page(ctx, term, page, page_size))
        return await self._guarded(Messages(actor.language), work)

    def help(self, language: str, audience: Audience) -> str:
        t = Messages(language)
        lines = [t("help.title")]
        for command in self.commands.visible_to(audience):
            lines.append(f"{usage(command)}: {t(f'command.{command.name}')}")
        return "\n".join(lines)

    # --- inside ----------------------------------------------------------------------------------------

    async def _command(
        self,
        command: Command,
        options: Mapping[str, object],
        *,
        place: Place,
        actor: Actor | None,
        speaker: Speaker | None,
    ) -> Reply:
        t = Messages(actor.language if actor else "en")
        if command.name == "help" or (command.name == "start" and not options.get("code")):
            audience = await self._audience(actor)
            return await self._dropping(place, actor, Reply(text=self.help(t.language, audience), private=True))
        try:
            arguments = self.commands.arguments(command, options)
        except DomainError as error:
            return await self._dropping(place, actor, self._usage(t, command, error))
        if actor is None:
            return await self._guarded(t, self._unlinked(speaker, command.name, arguments.text("code") or ""))
        if command.name in ("link", "start", "register"):
            return await self._dropping(place, actor, Reply(text=t("account.already_linked", username=actor.username)))
        handler = command.run
        assert handler is not None
        reply = await self._guarded(t, self._run(actor, place, lambda ctx: handler(ctx, arguments)))
        return await self._dropping(place, actor, reply)

    async def _dropping(self, place: Place, actor: Actor | None, reply: Reply) -> Reply:
        """Any command drops a question left unanswered in this chat, and says so."""
        if actor is None or reply.question is not None:
            return reply
        dropped = await self.questions.drop(place, actor.user_id)
        if dropped is None:
            return reply
        t = Messages(actor.language)
        notice = t(f"question.dropped.{dropped.action}", **dropped.arguments)
        return replace(reply, text=f"{notice}\n{reply.text}" if reply.text else notice)

    async def _audience(self, actor: Actor | None) -> Audience:
        if actor is None:
            return Audience.ANYONE
        decides = (await requests.abilities(self.runtime.database, actor.user_id)).decide
        return Audience.MODERATOR if decides else Audience.MEMBER

    def _usage(self, t: Messages, command: Command, error: DomainError) -> Reply:
        return Reply(text=t("input.usage", reason=t.reason(error).rstrip("."), usage=usage(command)), error=True)

    def _not_linked(self, speaker: Speaker | None) -> Reply:
        platform = speaker.platform if speaker else ChatPlatform.CONSOLE
        refusal = identity.NotLinked(platform, self.runtime.settings.users.registration)
        return Reply(text=Messages("en").refusal(refusal), error=True, private=True)

    async def _pressed(self, actor: Actor, place: Place, token: str) -> Reply:
        t = Messages(actor.language)
        try:
            pressed = await action_tokens.redeem(self.runtime.database, token, actor.user_id)
        except TokenRefused as refused:
            return Reply(text=t(refused.reason), error=True, private=True)
        action = ACTIONS.get(pressed.action)
        if action is None:
            return Reply(text=t("token.unknown"), error=True, private=True)
        accepted = inspect.signature(action).parameters
        arguments = {key: value for key, value in pressed.arguments.items() if key in accepted}
        return await self._run(actor, place, lambda ctx: action(ctx, **arguments))

    def _context(self, actor: Actor, place: Place) -> Context:
        return Context(
            runtime=self.runtime,
            discovery=self.discovery,
            actor=actor,
            place=place,
            t=Messages(actor.language),
            buttons=ButtonMaker(actor.user_id),
            questions=self.questions,
        )

    async def _run(self, actor: Actor, place: Place, step: Callable[[Context], Awaitable[Reply]]) -> Reply:
        ctx = self._context(actor, place)
        reply = await step(ctx)
        await ctx.buttons.save(self.runtime.database)
        return reply

    async def _unlinked(self, speaker: Speaker | None, name: str, code: str) -> Reply:
        t = Messages("en")
        if speaker is None or name not in ("link", "start", "register"):
            return self._not_linked(speaker)
        database = self.runtime.database
        if name in ("link", "start"):
            user = await identity.redeem_link_code(
                database, code, speaker.platform, speaker.platform_user_id, display_name=speaker.display_name
            )
            return Reply(text=t("account.linked", username=user.username), private=True)
        user = await identity.register(
            database,
            speaker.platform,
            speaker.platform_user_id,
            display_name=speaker.display_name,
            registration=self.runtime.settings.users.registration,
        )
        key = "account.registered" if user.status.value == "active" else "account.pending"
        return Reply(text=t(key, username=user.username), private=True)

    async def _guarded(
        self, t: Messages, work: Awaitable[Reply], *, passing: tuple[type[Exception], ...] = ()
    ) -> Reply:
        """`work`'s reply, or what went wrong said for people; `passing` errors are the caller's to say."""
        try:
            return await work
        except passing:
            raise
        except UpstreamNotFound as missing:
            return Reply(text=t("error.not_found", reason=missing.reason), error=True)
        except UpstreamAuthFailed as refused:
            log.warning("event=upstream_auth_failed service=%s reason=%s", refused.service, refused.reason)
            return Reply(text=t("error.upstream_auth", service=refused.service), error=True)
        except UpstreamError as failed:
            return Reply(text=t("error.upstream", service=failed.service), error=True)
        except DomainError as error:
            return Reply(text=t.refusal(error), error=True)
        except Exception:
            log.exception("event=conversation_failed")
            return Reply(text=t("error.internal"), error=True)


async def _acting(ctx: Context, delivery: Delivery, text: str) -> Reply:
    payload = delivery.payload
    request_id = payload.get("request_id")
    buttons = []
    if delivery.event == "request_pending" and isinstance(request_id, int) and (await ctx.abilities()).decide:
        t = ctx.t
        make = ctx.buttons.make
        buttons.append(make(t("button.approve"), "request.approve", "success", open_to_moderators=True, id=request_id))
        buttons.append(make(t("button.deny"), "request.deny", "danger", open_to_moderators=True, id=request_id))
        kind = _content_type(payload.get("content_type"))
        if kind is not None and await request_commands.offers_choice(ctx.runtime.database, kind):
            buttons.append(request_commands.approve_in(ctx, request_id))
    elif delivery.event in ("request_available", "request_partial") and payload.get("content_type"):
        tmdb, tvdb = payload.get("tmdb_id"), payload.get("tvdb_id")
        if isinstance(tmdb, int) or isinstance(tvdb, int):
            arguments: dict[str, Any] = {"type": payload["content_type"], "tmdb": tmdb, "tvdb": tvdb}
            buttons.append(ctx.buttons.make(ctx.t("button.watchlist"), "watchlist.add", **arguments))
    return Reply(text=text, buttons=tuple(buttons), private=True)


def _actor(user: UserSummary) -> Actor:
    return Actor(user_id=user.id, username=user.username, language=user.language)


def _content_type(value: object) -> ContentType | None:
    """A notification's content type, if it names one."""
    try:
        return ContentType(value) if isinstance(value, str) else None
    except ValueError:
        return None
