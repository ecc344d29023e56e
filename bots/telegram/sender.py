"""Sending and editing replies on Telegram, and pacing what goes out within Telegram's flood limits.

A question (a denial's reason) goes out as a forced reply; which question a message is, and which message
its answer should then edit, is kept in Redis beside it for the question's ten minutes, so the answer works
in whichever process receives it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass

import orjson
import redis.asyncio as aioredis
from telegram import Bot, Message, ReplyParameters
from telegram.error import BadRequest

from bots.conversation.questions import Questions
from bots.conversation.replies import Reply
from bots.telegram.render import Outgoing, keyboard, messages_of

__all__ = ["Asked", "Pacer", "Sender"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asked:
    """What a forced-reply message asked: the question's key, and the message the answer should edit."""

    key: str
    edit_chat: int | None = None
    edit_message: int | None = None


class Pacer:
    """Telegram's flood limits, kept by waiting: about 30 messages a second overall, one a second to a
    private chat, twenty a minute to a group. python-telegram-bot's AIORateLimiter has no per-private-chat
    limit, so idkarr paces every chat itself."""

    def __init__(self, *, overall: float = 30.0, private: float = 1.0, group: float = 20 / 60) -> None:
        self._gaps = {"overall": 1 / overall, "private": 1 / private, "group": 1 / group}
        self._next: dict[int | str, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, chat_id: int) -> None:
        gap = self._gaps["private" if chat_id > 0 else "group"]
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(chat_id, now), self._next.get("overall", now))
            self._next[chat_id] = start + gap
            self._next["overall"] = start + self._gaps["overall"]
        if (delay := start - time.monotonic()) > 0:
            await asyncio.sleep(delay)


class Sender:
    def __init__(self, bot: Bot, redis: aioredis.Redis, prefix: str) -> None:
        self._bot = bot
        self._redis = redis
        self._prefix = prefix

    # A person who blocked the bot is not written to again until they write to it (which unblocks it).
    def _unreachable_key(self, chat_id: int) -> str:
        return f"{self._prefix}telegram:unreachable:{chat_id}"

    async def mark_unreachable(self, chat_id: int) -> None:
        await self._redis.set(self._unreachable_key(chat_id), b"1")

    async def unreachable(self, chat_id: int) -> bool:
        return bool(await self._redis.exists(self._unreachable_key(chat_id)))

    async def heard_from(self, chat_id: int) -> None:
        await self._redis.delete(self._unreachable_key(chat_id))

    def _asked_key(self, chat_id: int, message_id: int) -> str:
        return f"{self._prefix}telegram:asked:{chat_id}:{message_id}"

    async def asked(self, chat_id: int, message_id: int) -> Asked | None:
        raw = await self._redis.get(self._asked_key(chat_id, message_id))
        return Asked(**orjson.loads(raw)) if raw else None

    async def send(
        self,
        chat_id: int,
        reply: Reply,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
        edit_after_answer: tuple[int, int] | None = None,
    ) -> list[Message]:
        """Every message `reply` becomes, sent to the chat (and forum topic) in order."""
        sent: list[Message] = []
        for outgoing in messages_of(reply):
            message = await self._send_one(chat_id, outgoing, thread_id=thread_id, reply_to=reply_to)
            sent.append(message)
            if outgoing.question_key is not None:
                asked = Asked(
                    outgoing.question_key,
                    edit_after_answer[0] if edit_after_answer else None,
                    edit_after_answer[1] if edit_after_answer else None,
                )
                value = orjson.dumps(asdict(asked))
                await self._redis.set(self._asked_key(chat_id, message.message_id), value, ex=Questions.TTL_SECONDS)
        return sent

    async def _send_one(
        self, chat_id: int, outgoing: Outgoing, *, thread_id: int | None, reply_to: int | None
    ) -> Message:
        parameters = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        if outgoing.photo is not None:
            try:
                return await self._bot.send_photo(
                    chat_id,
                    outgoing.photo,
                    caption=outgoing.text,
                    reply_markup=outgoing.markup(),
                    message_thread_id=thread_id,
                    reply_parameters=parameters,
                )
            except BadRequest as error:
                # Telegram could not fetch the poster: the card goes as text rather than not at all.
                log.info("event=telegram_photo_refused reason=%s", error.message)
        return await self._bot.send_message(
            chat_id,
            outgoing.text,
            reply_markup=outgoing.markup(),
            message_thread_id=thread_id,
            reply_parameters=parameters,
            link_preview_options=None,
        )

    async def edit(self, message: Message, reply: Reply) -> bool:
        """Replace `message` with `reply` where one message can hold it; False when it must be sent anew."""
        outgoing = messages_of(reply)
        if len(outgoing) != 1 or outgoing[0].question_key is not None:
            return False
        only = outgoing[0]
        is_photo = bool(message.photo)
        if only.photo is not None and not is_photo:
            return False
        try:
            if is_photo:
                await self._bot.edit_message_caption(
                    message.chat_id, message.message_id, caption=only.text[:1024], reply_markup=keyboard(only.buttons)
                )
            else:
                await self._bot.edit_message_text(
                    only.text, message.chat_id, message.message_id, reply_markup=keyboard(only.buttons)
                )
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return True
            if "not found" in error.message.lower() or "can't be edited" in error.message.lower():
                return False
            raise
        return True
