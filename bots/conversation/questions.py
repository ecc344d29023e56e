"""Questions waiting for a person's text (a denial's reason), tied to where they were asked.

A question is kept in Redis for at most ten minutes, keyed by platform, chat and person, with a random key
the front end gets in the reply. It is answered only by `Conversation.answer` with that key: what the
platform ties to the question (a modal submit, a reply to the question message, the console's next line).
A plain message in the chat never answers it, and any command the person sends there in between drops it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis

from core.enums import ChatPlatform

__all__ = ["Pending", "Place", "Questions"]


@dataclass(frozen=True)
class Place:
    """Where a message was said: a platform's chat (a Discord channel, a Telegram chat or topic, the console)."""

    platform: ChatPlatform
    chat_id: str
    private: bool = True  # a direct message, not a group or channel


@dataclass(frozen=True)
class Pending:
    key: str
    action: str
    arguments: dict[str, Any]


class Questions:
    TTL_SECONDS = 600

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _slot(self, place: Place, user_id: int) -> str:
        return f"{self._prefix}question:{place.platform.value}:{place.chat_id}:{user_id}"

    async def ask(self, place: Place, user_id: int, action: str, **arguments: Any) -> str:
        """Remember the question (replacing an earlier one in this chat); its key goes into the reply."""
        key = secrets.token_urlsafe(8)
        value = orjson.dumps({"key": key, "action": action, "arguments": arguments})
        await self._redis.set(self._slot(place, user_id), value, ex=self.TTL_SECONDS)
        return key

    async def peek(self, place: Place, user_id: int, key: str) -> Pending | None:
        """The question `key` names, if it is still the one waiting here (left waiting: an answer that is
        refused, a reason too long, may be given again; `close` it once answered)."""
        raw = await self._redis.get(self._slot(place, user_id))
        if raw is None:
            return None
        pending = orjson.loads(raw)
        if not secrets.compare_digest(str(pending.get("key", "")), key):
            return None
        return Pending(key=key, action=str(pending["action"]), arguments=dict(pending.get("arguments") or {}))

    async def close(self, place: Place, user_id: int, key: str) -> None:
        """Forget question `key` here, answered (a later question in this chat is left alone)."""
        slot = self._slot(place, user_id)
        raw = await self._redis.get(slot)
        if raw is not None and orjson.loads(raw).get("key") == key:
            await self._redis.delete(slot)

    async def drop(self, place: Place, user_id: int) -> Pending | None:
        """Forget the question waiting here, if any (the person moved on); says which it was."""
        raw = await self._redis.getdel(self._slot(place, user_id))
        if raw is None:
            return None
        pending = orjson.loads(raw)
        return Pending(key=str(pending["key"]), action=str(pending["action"]), arguments=dict(pending["arguments"]))
