"""The conversation: a line of text or a button press from someone, turned into core calls and a Reply.

All commands and button actions are registered here, in one place. Errors become replies written for people:
a refused rule says why, an unreachable upstream says to try again, anything else is logged and apologised
for; nobody ever sees a traceback.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bots.conversation import account_commands, discovery_commands, request_commands
from bots.conversation.catalog import Messages
from bots.conversation.context import Actor, Context, Handler, Prompts
from bots.conversation.replies import Reply
from bots.conversation.tokens import ButtonMaker, TokenRefused, redeem
from core.enums import ChatPlatform
from core.errors import DomainError, InvalidInput
from core.runtime import Runtime
from core.services import identity
from core.services.discovery import DiscoveryService
from core.services.users import UserSummary, find_user
from core.text import clean_text
from core.upstream_errors import UpstreamError

__all__ = ["MAX_MESSAGE", "Conversation", "Speaker"]

log = logging.getLogger(__name__)

MAX_MESSAGE = 2000

COMMANDS: dict[str, Handler] = {
    "search": discovery_commands.search,
    "discover": discovery_commands.discover,
    "request": request_commands.request,
    "requests": request_commands.list_,
    "approve": request_commands.approve,
    "deny": request_commands.deny,
    "cancel": request_commands.cancel,
    "edit": request_commands.edit,
    "retry": request_commands.retry,
    "watchlist": account_commands.watchlist,
    "activity": account_commands.activity,
    "quota": account_commands.quota,
    "settings": account_commands.settings,
}
ACTIONS: dict[str, Callable[..., Awaitable[Reply]]] = {
    **request_commands.ACTIONS,
    **account_commands.ACTIONS,
    "search.page": discovery_commands.search_page,
    "discover.page": discovery_commands.discover_page,
}
# What someone not linked yet may say.
_UNLINKED = {"help", "start", "link", "register"}


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
    def __init__(self, *, runtime: Runtime, discovery: DiscoveryService) -> None:
        self.runtime = runtime
        self.discovery = discovery
        self.prompts = Prompts(runtime)

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

    async def say(self, text: str, *, actor: Actor | None = None, speaker: Speaker | None = None) -> Reply:
        """Answer one message. Front ends pass the speaker (the conversation identifies them) or the actor."""
        if actor is None and speaker is not None:
            actor = await self.identify(speaker)
        t = Messages(actor.language if actor else "en")
        if len(text) > MAX_MESSAGE:
            return Reply(text=t("input.too_long", length=len(text), limit=MAX_MESSAGE), error=True)
        text = clean(text)
        if not text:
            return Reply(text=t("help.not_command"), error=True)
        if not text.startswith("/"):
            if actor is not None and (prompt := await self.prompts.take(actor.user_id)) is not None:
                return await self._guarded(t, self._answer(actor, prompt, text))
            return Reply(text=t("help.not_command"), error=True)
        word, _, args = text[1:].partition(" ")
        name = word.split("@", 1)[0].lower()  # Telegram adds @botname in groups
        if name in ("help", "start"):
            return Reply(text=t("help.text"))
        if actor is None:
            return await self._guarded(t, self._unlinked(speaker, name, args))
        if name == "link":
            return Reply(text=t("account.already_linked", username=actor.username))
        handler = COMMANDS.get(name)
        if handler is None:
            return Reply(text=t("help.unknown", command="/" + name[:40]), error=True)
        return await self._guarded(t, self._run(actor, lambda ctx: handler(ctx, args)))

    async def press(self, token: str, *, actor: Actor | None = None, speaker: Speaker | None = None) -> Reply:
        if actor is None and speaker is not None:
            actor = await self.identify(speaker)
        t = Messages(actor.language if actor else "en")
        if actor is None:
            assert speaker is not None
            return Reply(text=t.reason(identity.NotLinked(speaker.platform, self.runtime.settings.users.registration)))
        return await self._guarded(t, self._pressed(actor, token))

    async def _pressed(self, actor: Actor, token: str) -> Reply:
        try:
            pressed = await redeem(self.runtime.database, token, actor.user_id)
        except TokenRefused as refused:
            return Reply(text=Messages(actor.language)(refused.reason), error=True)
        action = ACTIONS.get(pressed.action)
        if action is None:
            return Reply(text=Messages(actor.language)("token.unknown"), error=True)
        accepted = inspect.signature(action).parameters
        arguments = {key: value for key, value in pressed.arguments.items() if key in accepted}
        return await self._run(actor, lambda ctx: action(ctx, **arguments))

    async def _answer(self, actor: Actor, prompt: dict[str, Any], text: str) -> Reply:
        if prompt.get("action") == "deny":
            return await self._run(actor, lambda ctx: request_commands.deny_reason(ctx, text, id=int(prompt["id"])))
        raise InvalidInput("that answer is no longer expected", code="prompt.stale")

    async def _run(self, actor: Actor, step: Callable[[Context], Awaitable[Reply]]) -> Reply:
        ctx = Context(
            runtime=self.runtime,
            discovery=self.discovery,
            actor=actor,
            t=Messages(actor.language),
            buttons=ButtonMaker(actor.user_id),
            prompts=self.prompts,
        )
        reply = await step(ctx)
        await ctx.buttons.save(self.runtime.database)
        return reply

    async def _unlinked(self, speaker: Speaker | None, name: str, args: str) -> Reply:
        t = Messages("en")
        if speaker is None or name not in _UNLINKED:
            platform = speaker.platform if speaker else ChatPlatform.CONSOLE
            refusal = identity.NotLinked(platform, self.runtime.settings.users.registration)
            return Reply(text=t.reason(refusal), error=True)
        database = self.runtime.database
        if name == "link":
            code = args.strip()
            if not code:
                return Reply(text=t("input.missing", command="/link", usage="/link CODE"), error=True)
            user = await identity.redeem_link_code(
                database, code, speaker.platform, speaker.platform_user_id, display_name=speaker.display_name
            )
            return Reply(text=t("account.linked", username=user.username))
        user = await identity.register(
            database,
            speaker.platform,
            speaker.platform_user_id,
            display_name=speaker.display_name,
            registration=self.runtime.settings.users.registration,
        )
        key = "account.registered" if user.status.value == "active" else "account.pending"
        return Reply(text=t(key, username=user.username))

    async def _guarded(self, t: Messages, work: Awaitable[Reply]) -> Reply:
        try:
            return await work
        except UpstreamError:
            return Reply(text=t("error.upstream"), error=True)
        except DomainError as error:
            return Reply(text=t.refusal(error), error=True)
        except Exception:
            log.exception("event=conversation_failed")
            return Reply(text=t("error.internal"), error=True)


def _actor(user: UserSummary) -> Actor:
    return Actor(user_id=user.id, username=user.username, language=user.language)
