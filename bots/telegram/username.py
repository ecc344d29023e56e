"""The bot's @username, remembered in Redis by the running bot so the command line can print t.me deep links
(the command line never talks to Telegram itself)."""

from __future__ import annotations

import redis.asyncio as aioredis

from core.runtime import Runtime

__all__ = ["remember_username", "telegram_username"]


def _key(prefix: str) -> str:
    return f"{prefix}telegram:username"


async def remember_username(redis: aioredis.Redis, prefix: str, username: str) -> None:
    await redis.set(_key(prefix), username)


async def telegram_username(runtime: Runtime) -> str | None:
    raw = await runtime.redis.get(_key(runtime.settings.redis.key_prefix))
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)
