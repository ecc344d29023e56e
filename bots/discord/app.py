"""The Discord front end: a discord.py client whose one interaction listener handles every slash command,
autocomplete, button, select and modal, in any process and after any restart (see render.py's custom ids).

Discord kills an interaction not answered within 3 s, so nothing slow happens before the first answer: a
command is deferred before any core call, a press is deferred before the button's action runs. Two answers
must come first by their nature, and are bounded instead: autocomplete (the conversation answers within
2 s, from cache or "keep typing") and the modal a Deny opens (the press is checked within 1.5 s, so a
person who may not deny is told so instead of being handed a form; slower, the press is deferred and the
form offered by a button).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands

from bots.conversation.catalog import Messages, languages
from bots.conversation.context import Actor
from bots.conversation.conversation import Conversation, Speaker
from bots.conversation.questions import Place
from bots.conversation.replies import Question, Reply
from bots.discord.commands_sync import sync_commands
from bots.discord.notifier import DiscordNotifier
from bots.discord.render import Rendered, render, split_custom_id
from bots.discord.roles import mapped_role
from bots.leader import DISCORD_GATEWAY, LeaderLock
from bots.stamp import stamped
from core.config import DiscordSettings
from core.enums import ChatPlatform
from core.errors import StartupError
from core.services import users

__all__ = ["DiscordFrontEnd", "discord_front_end"]

log = logging.getLogger(__name__)

# How long a press that opens a form may take to be checked before the interaction must be answered anyway.
_ASK_SECONDS = 1.5
_INTEGER = 4  # Discord's option type for integers


# View channels, send messages, embed links, read message history: what posting cards and decisions needs.
INVITE_PERMISSIONS = 1024 | 2048 | 16384 | 65536


def invite_url(application_id: int | None) -> str:
    """The link that adds the bot to a server with the scopes and permissions it uses."""
    return (
        f"https://discord.com/oauth2/authorize?client_id={application_id}"
        f"&scope=bot+applications.commands&permissions={INVITE_PERMISSIONS}"
    )


def point_at(settings: DiscordSettings) -> None:
    """discord.py reads its REST base and gateway from class attributes: point them where settings say."""
    discord.http.Route.BASE = settings.api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)
    # idkarr has no voice: the warnings about voice libraries would only alarm whoever reads the log.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


def speaker_of(user: discord.abc.User) -> Speaker:
    return Speaker(ChatPlatform.DISCORD, str(user.id), display_name=user.name)


def place_of(interaction: discord.Interaction) -> Place:
    where = interaction.channel_id or interaction.user.id
    return Place(ChatPlatform.DISCORD, str(where), private=interaction.guild_id is None)


def _options(data: Mapping[str, Any]) -> dict[str, Any]:
    return {str(option["name"]): option.get("value") for option in data.get("options") or [] if "value" in option}


def _typed_in(components: Any) -> str:
    """The first text input's value in a modal submit (a row of inputs, or a label around one)."""
    for component in components or []:
        if not isinstance(component, dict):
            continue
        if component.get("type") == 4:
            return str(component.get("value") or "")
        inner = component.get("components") or ([component["component"]] if "component" in component else [])
        if found := _typed_in(inner):
            return found
    return ""


class _Form(discord.ui.Modal):
    """The modal a question opens; its submit reaches the interaction listener like everything else."""

    def __init__(self, key: str, title: str, label: str, max_length: int) -> None:
        super().__init__(title=title, custom_id=f"m:{key}", timeout=None)
        self.add_item(
            discord.ui.TextInput(
                label=label[:45],
                custom_id="answer",
                style=discord.TextStyle.paragraph,
                min_length=1,
                max_length=min(max_length, 4000),
            )
        )


class DiscordFrontEnd:
    def __init__(
        self,
        conversation: Conversation,
        settings: DiscordSettings,
        *,
        takeover_seconds: float = 5.0,
        ready_timeout: float = 2.0,
    ) -> None:
        assert settings.token is not None
        point_at(settings)
        self.conversation = conversation
        self.settings = settings
        # Interactions need no intent at all; guilds (not privileged) brings the roles role_map reads.
        intents = discord.Intents.none()
        intents.guilds = True
        self.client = discord.Client(
            intents=intents,
            max_messages=None,
            chunk_guilds_at_startup=False,
            guild_ready_timeout=ready_timeout,
            enable_debug_events=False,
        )
        self.client.event(self.on_interaction)
        self.notifier = DiscordNotifier(self.client, conversation, settings)
        runtime = conversation.runtime
        self._lock = LeaderLock(
            runtime.database.url, DISCORD_GATEWAY, name="discord_gateway", retry_seconds=takeover_seconds
        )
        self._leading: asyncio.Task[None] | None = None
        self._gateway: asyncio.Task[None] | None = None

    # --- lifetime ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Log in (REST: every process sends) and contend for the gateway (one process at a time receives,
        see bots/leader.py). A refused token stops idkarr with a clear message; Discord out of reach does not:
        logging in is retried in the background, and deliveries wait in the outbox meanwhile."""
        try:
            await self._login()
        except discord.LoginFailure:
            await self.client.close()
            raise StartupError(
                "Discord refused the bot token (discord.token, IDKARR_DISCORD__TOKEN): copy the bot's token from"
                " the Discord developer portal again"
            ) from None
        except (aiohttp.ClientError, OSError, discord.HTTPException) as error:
            log.warning("event=discord_unreachable error=%s retry=background", type(error).__name__)
            self._leading = asyncio.create_task(self._login_then_lead())
            return
        self._leading = asyncio.create_task(self._lock.run(self._connect, self._disconnect))
        log.info("event=discord_started bot=%s invite=%s", self.client.user, invite_url(self.client.application_id))

    async def _login(self) -> None:
        assert self.settings.token is not None
        await self.client.login(self.settings.token.get_secret_value())

    async def _login_then_lead(self) -> None:
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            try:
                await self._login()
            except discord.LoginFailure:
                log.error("event=discord_token_refused")
                return
            except (aiohttp.ClientError, OSError, discord.HTTPException) as error:
                log.warning("event=discord_unreachable error=%s retry_in=%.0f", type(error).__name__, delay)
                delay = min(delay * 2, 60.0)
                continue
            log.info("event=discord_started bot=%s", self.client.user)
            await self._lock.run(self._connect, self._disconnect)

    async def _connect(self) -> None:
        application = self.client.application_id
        assert application is not None
        runtime = self.conversation.runtime
        await sync_commands(self.client.http, application, self.settings.guild_ids, runtime.redis, runtime.settings)
        self._gateway = asyncio.create_task(self.client.connect(reconnect=True))

    async def _disconnect(self) -> None:
        gateway, self._gateway = self._gateway, None
        if gateway is not None:
            gateway.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await gateway
        if self.client.ws is not None:
            with suppress(Exception):
                await self.client.ws.close(code=1000)

    @property
    def connected(self) -> bool:
        return self._gateway is not None and not self._gateway.done()

    async def wait_connected(self) -> None:
        await self.client.wait_until_ready()

    async def stop(self) -> None:
        if self._leading is not None:
            self._leading.cancel()
            with suppress(asyncio.CancelledError):
                await self._leading
        await self._disconnect()
        await self.client.close()

    # --- interactions -----------------------------------------------------------------------------------

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        kind = interaction.type
        try:
            if kind is discord.InteractionType.application_command:
                await self._command(interaction)
            elif kind is discord.InteractionType.autocomplete:
                await self._autocomplete(interaction)
            elif kind is discord.InteractionType.component:
                await self._component(interaction)
            elif kind is discord.InteractionType.modal_submit:
                await self._submitted(interaction)
        except discord.NotFound as gone:
            # 10062: answered too late, or the message is gone; nothing more can be said through it.
            log.warning("event=discord_interaction_lost code=%s", gone.code)
        except discord.HTTPException as refused:
            log.warning("event=discord_interaction_failed status=%s code=%s", refused.status, refused.code)
        except Exception:
            # The conversation answers every mistake itself; this is idkarr failing (the database went away).
            # The person is told, rather than left with "thinking…" until Discord gives up.
            log.exception("event=discord_interaction_error")
            await self._apologise(interaction)

    async def _apologise(self, interaction: discord.Interaction) -> None:
        text = Messages(_language(interaction))("error.internal")
        with suppress(discord.HTTPException):
            if interaction.type is discord.InteractionType.autocomplete:
                if not interaction.response.is_done():
                    await interaction.response.autocomplete([])
            elif interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)

    async def _actor(self, interaction: discord.Interaction) -> Actor | None:
        """The person behind the interaction; with role_map, their idkarr role follows their Discord roles
        first, so what they may do is decided by the roles they hold at this moment."""
        actor = await self.conversation.identify(speaker_of(interaction.user))
        member = interaction.user
        if actor is not None and self.settings.role_map and isinstance(member, discord.Member):
            role = mapped_role(self.settings.role_map, [role.id for role in member.roles])
            if await users.follow_platform_role(self.conversation.runtime.database, actor.user_id, role):
                log.info("event=discord_role_followed user_id=%d role=%s", actor.user_id, role.value)
        return actor

    def _private(self, interaction: discord.Interaction) -> bool:
        """In a server, what the bot answers one person only they see; a DM is private anyway."""
        return interaction.guild_id is not None

    async def _command(self, interaction: discord.Interaction) -> None:
        data: Mapping[str, Any] = interaction.data or {}
        await interaction.response.defer(ephemeral=self._private(interaction), thinking=True)
        actor = await self._actor(interaction)
        reply = await self.conversation.run(
            str(data.get("name", "")),
            _options(data),
            place=place_of(interaction),
            actor=actor,
            speaker=speaker_of(interaction.user),
        )
        await interaction.edit_original_response(**self._render(reply, actor).edit())

    async def _autocomplete(self, interaction: discord.Interaction) -> None:
        data: Mapping[str, Any] = interaction.data or {}
        given = data.get("options") or []
        focused = next((option for option in given if option.get("focused")), None)
        if focused is None:
            await interaction.response.autocomplete([])
            return
        choices = await self.conversation.complete(
            str(data.get("name", "")),
            str(focused.get("name", "")),
            str(focused.get("value", "")),
            options=_options(data),
            speaker=speaker_of(interaction.user),
        )
        integer = focused.get("type") == _INTEGER
        made = [
            app_commands.Choice(name=choice.name, value=int(choice.value) if integer else choice.value)
            for choice in choices
            if not integer or choice.value.isdigit()
        ]
        await interaction.response.autocomplete(made)

    async def _component(self, interaction: discord.Interaction) -> None:
        data: Mapping[str, Any] = interaction.data or {}
        values = data.get("values") or []
        pressed = str(values[0]) if values else str(data.get("custom_id", ""))
        kind, rest = split_custom_id(pressed)
        if kind == "a":
            language = _language(interaction)
            key, _, target = rest.partition(":")
            question = Question(key, Messages(language)("question.form_title"))
            await self._open_form(interaction, question, language, target)
        elif kind == "q":
            await self._asking(interaction, rest)
        elif kind == "t":
            await interaction.response.defer()
            actor = await self._actor(interaction)
            reply = await self.conversation.press(
                rest, place=place_of(interaction), actor=actor, speaker=speaker_of(interaction.user)
            )
            await self._show_outcome(interaction, reply, actor)
        else:
            t = Messages(_language(interaction))
            await interaction.response.send_message(t("token.unknown"), ephemeral=True)

    async def _asking(self, interaction: discord.Interaction, token: str) -> None:
        """A press whose answer is a form: checked first (briefly), so only someone who may use it gets it."""
        speaker = speaker_of(interaction.user)

        async def checked() -> tuple[Actor | None, Reply]:
            actor = await self._actor(interaction)
            return actor, await self.conversation.press(
                token, place=place_of(interaction), actor=actor, speaker=speaker
            )

        work = asyncio.create_task(checked())
        done, _ = await asyncio.wait({work}, timeout=_ASK_SECONDS)
        if done:
            actor, reply = work.result()
            language = actor.language if actor else "en"
            if reply.question is not None:
                await self._open_form(interaction, reply.question, language)
                return
            if reply.error:
                await interaction.response.send_message(**self._render(reply, actor).send(), ephemeral=True)
                return
            await interaction.response.defer()
        else:
            await interaction.response.defer()
            actor, reply = await work
        # Too slow for a form: the question is shown with a button that opens it.
        await self._show_outcome(interaction, reply, actor)

    async def _open_form(
        self, interaction: discord.Interaction, question: Question, language: str, target: str = ""
    ) -> None:
        t = Messages(language)
        key = question.key + (f":{target}" if target else "")
        form = _Form(key, question.label, t("question.input"), question.max_length)
        await interaction.response.send_modal(form)
        form.stop()  # its submit is handled by the listener; discord.py need not keep it

    async def _submitted(self, interaction: discord.Interaction) -> None:
        data: Mapping[str, Any] = interaction.data or {}
        kind, rest = split_custom_id(str(data.get("custom_id", "")))
        key, _, target = rest.partition(":")
        text = _typed_in(data.get("components"))
        message = interaction.message
        if message is not None:
            await interaction.response.defer()
        else:
            await interaction.response.defer(ephemeral=self._private(interaction), thinking=True)
        actor = await self._actor(interaction)
        if kind != "m":
            reply = Reply(text=Messages(actor.language if actor else "en")("question.gone"), error=True)
        else:
            speaker = speaker_of(interaction.user)
            reply = await self.conversation.answer(key, text, place=place_of(interaction), actor=actor, speaker=speaker)
        if reply.error:
            # Refused (an empty reason): asked again, and the answer to that still edits the shared post.
            shown = self._render(reply, actor, target=target or _shared(interaction))
            if message is not None:
                await interaction.followup.send(**shown.send(), ephemeral=True)
            else:
                await interaction.edit_original_response(**shown.edit())
            return
        if target:
            await self._edit_shared(target, reply)
        if message is not None:
            # The message whose Deny was pressed now says what was decided, by whom and when.
            await self._show_outcome(interaction, replace(reply, edit=True), actor)
        else:
            await interaction.edit_original_response(**self._render(reply, actor).edit())

    async def _edit_shared(self, target: str, reply: Reply) -> None:
        """A decision made through a form opened elsewhere, edited into the post it decides."""
        channel, _, message = target.partition(":")
        if not (channel.isdigit() and message.isdigit()):
            return
        post = self.client.get_partial_messageable(int(channel)).get_partial_message(int(message))
        try:
            await post.edit(content=stamped(reply.text), embeds=[], view=None)
        except discord.HTTPException as refused:
            log.info("event=discord_edit_failed status=%s code=%s", refused.status, refused.code)

    async def _show_outcome(self, interaction: discord.Interaction, reply: Reply, actor: Actor | None) -> None:
        """After a press was deferred: an outcome that replaces the pressed message edits it (stamped with
        the time when the message is shared, like a moderators' post); anything else is a new message only
        the presser sees."""
        message = interaction.message
        target = _shared(interaction)
        if reply.edit and not reply.error and message is not None:
            final = not reply.cards and not reply.buttons
            shown = replace(reply, text=stamped(reply.text)) if target and final else reply
            await interaction.edit_original_response(**self._render(shown, actor).edit())
            return
        rendered = self._render(reply, actor, target=target)
        await interaction.followup.send(**rendered.send(), ephemeral=self._private(interaction))

    def _render(self, reply: Reply, actor: Actor | None, *, target: str = "") -> Rendered:
        t = Messages(actor.language if actor else "en")
        return render(reply, question_button=t("question.answer_button"), target=target)


def _shared(interaction: discord.Interaction) -> str:
    """ "CHANNEL:MESSAGE" of the message a press was made on when everyone in a server channel sees it (a
    moderators' post), else ""."""
    message = interaction.message
    if message is None or interaction.guild_id is None or message.flags.ephemeral:
        return ""
    return f"{message.channel.id}:{message.id}"


def _language(interaction: discord.Interaction) -> str:
    """The language Discord says the person uses, when idkarr speaks it (for answers given before any core
    call, which would know their idkarr language)."""
    code = str(interaction.locale.value).split("-")[0]
    return code if code in languages() else "en"


@asynccontextmanager
async def discord_front_end(conversation: Conversation, settings: DiscordSettings) -> AsyncIterator[DiscordNotifier]:
    """The bot, connected while the block runs (in one process at a time); yields what the dispatcher
    delivers through."""
    front_end = DiscordFrontEnd(conversation, settings)
    await front_end.start()
    try:
        yield front_end.notifier
    finally:
        await front_end.stop()
