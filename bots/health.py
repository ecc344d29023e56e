"""Doctor checks for the chat platforms: is each configured bot token accepted?"""

from __future__ import annotations

from typing import Any

import httpx

from core.config import Settings
from core.health import Check, http_check

__all__ = ["check_discord", "check_telegram"]


async def check_discord(settings: Settings) -> Check:
    discord = settings.discord
    if discord.token is None:
        return Check("discord", True, "not configured", skipped=True)
    headers = {"Authorization": f"Bot {discord.token.get_secret_value()}"}

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(f"{discord.api_base_url}/users/@me", headers=headers)

    def describe(body: Any) -> str:
        return f"logged in as bot {body['username']}"

    return await http_check("discord", "Discord", send, describe, seconds=discord.timeout)


async def check_telegram(settings: Settings) -> Check:
    telegram = settings.telegram
    if telegram.token is None:
        return Check("telegram", True, "not configured", skipped=True)
    url = f"{telegram.base_url}{telegram.token.get_secret_value()}/getMe"

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(url)

    def describe(body: Any) -> str:
        if body.get("ok") is not True:
            raise ValueError("not ok")
        return f"logged in as @{body['result']['username']}"

    return await http_check("telegram", "Telegram", send, describe, seconds=telegram.timeout)
