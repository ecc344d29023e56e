"""The Telegram front end: a python-telegram-bot Application, its handlers registered here, in one place.

Commands (in private chats, and addressed to the bot in groups and forum topics) go to the conversation as
typed lines; button presses carry an action token as callback_data; a reply to a question message answers
it; `@bot dune` in any chat lists titles (inline mode). Nothing here decides anything: the conversation
answers, `render` and `sender` put the answer on Telegram.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from typing import Any

from telegram import BotCommandScopeChat, BotCommandScopeDefault, Chat, Message, Update, User
from telegram.error import Forbidden, InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bots.conversation.catalog import languages
from bots.conversation.conversation import Conversation, Speaker
from bots.conversation.menus import telegram_commands
from bots.conversation.questions import Place
from bots.conversation.registry import Audience
from bots.conversation.replies import Reply, trim
from bots.leader import TELEGRAM_POLLER, LeaderLock
from bots.stamp import stamped
from bots.telegram.inline import answer_inline
from bots.telegram.notifier import TelegramNotifier
from bots.telegram.sender import Pacer, Sender
from bots.telegram.username import remember_username
from bots.telegram.webhook import WebhookReceiver
from core.config import TelegramSettings
from core.enums import ChatPlatform
from core.errors import StartupError

__all__ = ["TelegramFrontEnd", "telegram_front_end"]

log = logging.getLogger(__name__)

_CALLBACK_ANSWER = 200  # characters of answerCallbackQuery's text
_UPDATES = ["message", "callback_query", "inline_query"]


def speaker_of(user: User) -> Speaker:
    return Speaker(ChatPlatform.TELEGRAM, str(user.id), display_name=user.username or user.full_name)


def place_of(chat: Chat, thread_id: int | None) -> Place:
    topic = f":{thread_id}" if thread_id else ""
    return Place(ChatPlatform.TELEGRAM, f"{chat.id}{topic}", private=chat.type == Chat.PRIVATE)


class TelegramFrontEnd:
    def __init__(
        self, conversation: Conversation, settings: TelegramSettings, *, takeover_seconds: float = 5.0
    ) -> None:
        assert settings.token is not None
        self.conversation = conversation
        self.settings = settings
        runtime = conversation.runtime
        self.application: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(settings.token.get_secret_value())
            .base_url(settings.base_url)
            .base_file_url(settings.base_url.removesuffix("/bot") + "/file/bot")
            .get_updates_read_timeout(settings.poll_timeout + settings.timeout)
            .read_timeout(settings.timeout)
            .concurrent_updates(32)
            .build()
        )
        self.sender = Sender(self.application.bot, runtime.redis, runtime.settings.redis.key_prefix)
        self.notifier = TelegramNotifier(conversation, self.sender, settings, Pacer())
        self.username = ""
        self._poller_lock = LeaderLock(
            runtime.database.url, TELEGRAM_POLLER, name="telegram_poller", retry_seconds=takeover_seconds
        )
        self._poller: asyncio.Task[None] | None = None
        self.webhook: WebhookReceiver | None = None
        self._register()

    def _register(self) -> None:
        app = self.application
        app.add_handler(MessageHandler(filters.COMMAND, self.on_command))
        app.add_handler(MessageHandler(filters.TEXT & filters.REPLY & ~filters.COMMAND, self.on_reply))
        app.add_handler(MessageHandler(filters.TEXT & filters.ChatType.PRIVATE & ~filters.COMMAND, self.on_text))
        app.add_handler(CallbackQueryHandler(self.on_press))
        app.add_handler(InlineQueryHandler(self.on_inline))
        app.add_error_handler(self.on_error)

    # --- lifetime ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = self.application
        try:
            await app.initialize()
        except InvalidToken:
            raise StartupError(
                "Telegram refused the bot token (telegram.token, IDKARR_TELEGRAM__TOKEN): ask @BotFather for it again"
            ) from None
        self.username = app.bot.username or ""
        runtime = self.conversation.runtime
        await remember_username(runtime.redis, runtime.settings.redis.key_prefix, self.username)
        await self._set_menus()
        await app.start()
        settings = self.settings
        if settings.webhook_url is not None and settings.webhook_secret is not None:
            secret = settings.webhook_secret.get_secret_value()
            self.webhook = WebhookReceiver(app, secret)
            await self.webhook.start(settings.webhook_listen, settings.webhook_port)
            await app.bot.set_webhook(settings.webhook_url, secret_token=secret, allowed_updates=_UPDATES)
        else:
            # Every process sends; one at a time receives (see bots/leader.py).
            self._poller = asyncio.create_task(self._poller_lock.run(self._start_polling, self._stop_polling))
        log.info("event=telegram_started bot=@%s mode=%s", self.username, "webhook" if self.webhook else "polling")

    async def _start_polling(self) -> None:
        assert self.application.updater is not None
        await self.application.updater.start_polling(
            poll_interval=0,
            timeout=self.settings.poll_timeout,
            allowed_updates=_UPDATES,
        )

    async def _stop_polling(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()

    @property
    def polling(self) -> bool:
        updater = self.application.updater
        return updater is not None and updater.running

    async def stop(self) -> None:
        app = self.application
        if self._poller is not None:
            self._poller.cancel()
            with suppress(asyncio.CancelledError):
                await self._poller
        await self._stop_polling()
        if self.webhook is not None:
            # The webhook stays set: other processes behind the same URL go on receiving.
            await self.webhook.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def _set_menus(self) -> None:
        """The command menu, from the command registry, in every shipped language; the moderators' chat
        also lists the moderation commands."""
        bot = self.application.bot
        for language in languages():
            code = None if language == "en" else language
            members = telegram_commands(language, Audience.MEMBER)
            guests = [c for c in telegram_commands(language, Audience.ANYONE) if c not in members]
            await bot.set_my_commands(
                [(c["command"], c["description"]) for c in members + guests],
                scope=BotCommandScopeDefault(),
                language_code=code,
            )
            if self.settings.moderators_chat_id is not None:
                moderators = telegram_commands(language, Audience.MODERATOR)
                await bot.set_my_commands(
                    [(c["command"], c["description"]) for c in moderators],
                    scope=BotCommandScopeChat(self.settings.moderators_chat_id),
                    language_code=code,
                )

    # --- updates ----------------------------------------------------------------------------------------

    def _addressed(self, message: Message) -> bool:
        """In a group, `/cmd@otherbot` is for another bot; `/cmd` and `/cmd@ourbot` are ours."""
        word = (message.text or "").split(maxsplit=1)[0] if message.text else ""
        _, at, name = word.partition("@")
        return not at or name.lower() == self.username.lower()

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.text is None or not self._addressed(message):
            return
        await self.sender.heard_from(user.id)
        place = place_of(message.chat, message.message_thread_id)
        text = self._start_payload(message.text)
        reply = await self.conversation.say(text, place=place, speaker=speaker_of(user))
        await self._answer(message, reply, user)

    def _start_payload(self, text: str) -> str:
        """A deep link's /start payload is a link code: at most 64 characters of A-Z a-z 0-9 _ -."""
        word, _, payload = text.partition(" ")
        if word.split("@")[0].lower() == "/start" and payload and len(payload) > 64:
            return "/start"
        return text

    async def on_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.text is None or message.reply_to_message is None:
            return
        asked = await self.sender.asked(message.chat_id, message.reply_to_message.message_id)
        if asked is None:
            if message.chat.type == Chat.PRIVATE:
                await self.on_text(update, context)
            return  # in a group, a reply to anything else is people talking among themselves
        place = place_of(message.chat, message.message_thread_id)
        reply = await self.conversation.answer(asked.key, message.text, place=place, speaker=speaker_of(user))
        if not reply.error and asked.edit_chat is not None and asked.edit_message is not None:
            # The message whose Deny was pressed now says who decided and when, in place of its buttons.
            try:
                await self.application.bot.edit_message_text(stamped(reply.text), asked.edit_chat, asked.edit_message)
            except TelegramError as error:
                log.info("event=telegram_edit_failed reason=%s", error)
        target = (asked.edit_chat, asked.edit_message) if asked.edit_chat and asked.edit_message else None
        await self._answer(message, reply, user, edit_after=target)  # asked again: still edits the post after

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.text is None:
            return
        await self.sender.heard_from(user.id)
        reply = await self.conversation.say(message.text, place=place_of(message.chat, None), speaker=speaker_of(user))
        await self._answer(message, reply, user)

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        message = query.message if isinstance(query.message, Message) else None
        chat = message.chat if message is not None else None
        place = place_of(chat, message.message_thread_id) if chat and message else _private_place(user)
        reply = await self.conversation.press(query.data or "", place=place, speaker=speaker_of(user))
        if reply.error:
            # A refusal is said where the press was made, briefly, and changes no message.
            await query.answer(trim(reply.text, _CALLBACK_ANSWER), show_alert=len(reply.text) > 60)
            return
        await query.answer()
        if reply.edit and message is not None:
            # An outcome replacing a shared message's buttons (a decision) carries its time.
            final = not reply.cards and not reply.buttons and message.chat.type != Chat.PRIVATE
            shown = replace(reply, text=stamped(reply.text)) if final else reply
            if await self.sender.edit(message, shown):
                return
        if message is not None:
            await self._answer(message, reply, user, pressed=message, edit_after=(message.chat_id, message.message_id))
        else:
            await self.sender.send(user.id, reply)

    async def on_inline(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        if query is None:
            return
        await answer_inline(self.conversation, query, speaker_of(query.from_user))

    async def _answer(
        self,
        message: Message,
        reply: Reply,
        user: User,
        *,
        pressed: Message | None = None,
        edit_after: tuple[int, int] | None = None,
    ) -> None:
        """Send `reply` where `message` was: in its chat and topic, or privately when the reply is private
        and was asked for in a group (in the group after all when the person never opened a private chat)."""
        thread = message.message_thread_id if message.is_topic_message else None
        if reply.private and message.chat.type != Chat.PRIVATE:
            try:
                await self.sender.send(user.id, reply, edit_after_answer=edit_after)
                return
            except Forbidden:
                pass
        reply_to = message.message_id if message.chat.type != Chat.PRIVATE and pressed is None else None
        await self.sender.send(
            message.chat_id, reply, thread_id=thread, reply_to=reply_to, edit_after_answer=edit_after
        )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The conversation answers every mistake itself; what reaches here is Telegram refusing a send.
        log.warning("event=telegram_update_failed error=%s", type(context.error).__name__, exc_info=context.error)


def _private_place(user: User) -> Place:
    return Place(ChatPlatform.TELEGRAM, str(user.id), private=True)


@asynccontextmanager
async def telegram_front_end(conversation: Conversation, settings: TelegramSettings) -> AsyncIterator[TelegramNotifier]:
    """The bot, polling while the block runs; yields what the dispatcher delivers through."""
    front_end = TelegramFrontEnd(conversation, settings)
    await front_end.start()
    try:
        yield front_end.notifier
    finally:
        await front_end.stop()
