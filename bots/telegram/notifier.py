"""Telegram as a front end of the outbox dispatcher: people's notifications as private messages with the
buttons the conversation gives them, new requests posted to the moderators' chat with Approve and Deny, and
the activity announced in the announcement chat, each paced within Telegram's flood limits."""

from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import timedelta

from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bots.conversation.conversation import Conversation
from bots.conversation.notifications import announcement_text
from bots.conversation.questions import Place
from bots.conversation.replies import Reply
from bots.telegram.sender import Pacer, Sender
from core.config import TelegramSettings
from core.enums import ChatPlatform
from core.services.dispatcher import Delivery

__all__ = ["TelegramNotifier"]

log = logging.getLogger(__name__)

# A 429 asks to wait this long at most inside one delivery; longer, the dispatcher retries the message later.
_WAIT_IN_PLACE = 5.0


def _seconds(error: RetryAfter) -> float:
    # python-telegram-bot 22 gives seconds and warns that a later version gives a timedelta: take either.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramNotifier:
    name = "telegram"

    def __init__(self, conversation: Conversation, sender: Sender, settings: TelegramSettings, pacer: Pacer) -> None:
        self._conversation = conversation
        self._sender = sender
        self._settings = settings
        self._pacer = pacer

    async def deliver(self, delivery: Delivery) -> bool:
        if delivery.recipient_id is None:
            return await self._announce(delivery)
        chat = delivery.identities.get("telegram")
        if chat is None or not chat.lstrip("-").isdigit():
            return False  # not on Telegram: another front end reaches them
        if await self._sender.unreachable(int(chat)):
            return False
        place = Place(ChatPlatform.TELEGRAM, chat, private=True)
        reply = await self._conversation.notification(delivery, place=place)
        try:
            await self._send(int(chat), reply, None)
        except Forbidden:
            # Blocked the bot (or never opened a chat with it): marked, not retried; other platforms still try.
            log.info("event=telegram_unreachable outbox_id=%d", delivery.id)
            await self._sender.mark_unreachable(int(chat))
            return False
        return True

    async def _announce(self, delivery: Delivery) -> bool:
        settings, posted = self._settings, False
        moderation = await self._conversation.moderation(delivery)
        if moderation is not None and settings.moderators_chat_id is not None:
            await self._send(settings.moderators_chat_id, moderation, settings.moderators_topic_id)
            posted = True
        if settings.announce_chat_id is not None:
            text = announcement_text(delivery)
            await self._send(settings.announce_chat_id, Reply(text=text), settings.announce_topic_id)
            posted = True
        return posted

    async def _send(self, chat_id: int, reply: Reply, thread_id: int | None) -> None:
        await self._pacer.wait(chat_id)
        try:
            await self._sender.send(chat_id, reply, thread_id=thread_id)
        except RetryAfter as error:
            wait = _seconds(error)
            if wait > _WAIT_IN_PLACE:
                raise  # the dispatcher keeps the message and tries again after its backoff
            await asyncio.sleep(wait)
            await self._sender.send(chat_id, reply, thread_id=thread_id)
        except BadRequest as error:
            if "thread not found" in error.message.lower() and thread_id is not None:
                await self._sender.send(chat_id, reply)  # the topic was closed or deleted: the chat itself
                return
            raise
