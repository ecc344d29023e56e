"""Registering the slash commands with Discord, only when they changed.

The commands come from the command registry (menus.discord_commands). What was last registered is
remembered in Redis as a digest per application and scope, so a restart with the same commands costs no
call (Discord limits command registration to 200 a day per guild); a change is registered at start, in the
configured servers at once, or globally.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

import orjson
import redis.asyncio as aioredis
from discord.http import HTTPClient

from bots.conversation.menus import discord_commands
from core.config import Settings

__all__ = ["sync_commands"]

log = logging.getLogger(__name__)


async def sync_commands(
    http: HTTPClient, application_id: int, guild_ids: Sequence[int], redis: aioredis.Redis, settings: Settings
) -> int:
    """Register the commands wherever they differ from what was registered last; the number of scopes sent."""
    payload = discord_commands()
    digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    sent = 0
    scopes: list[int | None] = list(guild_ids) or [None]
    for guild_id in scopes:
        scope = f"guild:{guild_id}" if guild_id is not None else "global"
        key = f"{settings.redis.key_prefix}discord:commands:{application_id}:{scope}"
        if (await redis.get(key)) == digest.encode():
            continue
        if guild_id is None:
            await http.bulk_upsert_global_commands(application_id, payload=payload)
        else:
            await http.bulk_upsert_guild_commands(application_id, guild_id, payload=payload)
        await redis.set(key, digest)
        sent += 1
        log.info("event=discord_commands_synced scope=%s commands=%d", scope, len(payload))
    return sent
