"""Fake upstreams on 127.0.0.1 that answer the real endpoints with the shapes the public APIs document."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiohttp import web

TMDB_API_KEY = "tmdb-key-0123456789abcdef"
TVDB_API_KEY = "tvdb-key-fedcba9876543210"
DISCORD_TOKEN = "MTAxNzQ1.discord-secret-token"
TELEGRAM_TOKEN = "123456:telegram-secret-token"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly application/json: discord.py treats "; charset=utf-8" as text.
    return web.Response(body=json.dumps(body).encode(), status=status, content_type="application/json", headers=headers)


TMDB_CONFIGURATION = {
    "images": {
        "base_url": "http://image.tmdb.org/t/p/",
        "secure_base_url": "https://image.tmdb.org/t/p/",
        "backdrop_sizes": ["w300", "w780", "w1280", "original"],
        "logo_sizes": ["w45", "w92", "w154", "w185", "w300", "w500", "original"],
        "poster_sizes": ["w92", "w154", "w185", "w342", "w500", "w780", "original"],
        "profile_sizes": ["w45", "w185", "h632", "original"],
        "still_sizes": ["w92", "w185", "w300", "original"],
    },
    "change_keys": ["adult", "air_date", "also_known_as", "biography", "birthday", "images", "name", "overview"],
}


@dataclass
class FakeUpstreams:
    """TMDB v3, TheTVDB v4, Discord REST and the Telegram Bot API, as far as `idkarr doctor` asks them."""

    port: int = 0
    calls: list[str] = field(default_factory=list)
    # Force an answer, e.g. {"tmdb": 500}, to test failures.
    fail_with: dict[str, int] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _failure(self, service: str) -> web.Response | None:
        status = self.fail_with.get(service)
        return None if status is None else json_response({"status_message": "forced failure"}, status)

    async def tmdb_configuration(self, request: web.Request) -> web.Response:
        self.calls.append("tmdb /configuration")
        if failure := self._failure("tmdb"):
            return failure
        bearer = request.headers.get("Authorization", "")
        if request.query.get("api_key") != TMDB_API_KEY and bearer != f"Bearer {TMDB_API_KEY}":
            return json_response(
                {
                    "status_code": 7,
                    "status_message": "Invalid API key: You must be granted a valid key.",
                    "success": False,
                },
                401,
            )
        return json_response(TMDB_CONFIGURATION)

    async def tvdb_login(self, request: web.Request) -> web.Response:
        self.calls.append("tvdb /login")
        if failure := self._failure("tvdb"):
            return failure
        body = await request.json()
        if body.get("apikey") != TVDB_API_KEY:
            return json_response({"status": "failure", "message": "Unauthorized", "data": None}, 401)
        return json_response({"status": "success", "data": {"token": "eyJhbGciOiJSUzI1NiJ9.fake.jwt"}})

    async def discord_me(self, request: web.Request) -> web.Response:
        self.calls.append("discord /users/@me")
        if failure := self._failure("discord"):
            return failure
        if request.headers.get("Authorization") != f"Bot {DISCORD_TOKEN}":
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        return json_response(
            {
                "id": "1017450000000000001",
                "username": "idkarr-bot",
                "discriminator": "0",
                "global_name": None,
                "avatar": None,
                "bot": True,
                "flags": 0,
                "verified": True,
            }
        )

    async def telegram_method(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        self.calls.append(f"telegram {method}")
        if failure := self._failure("telegram"):
            return failure
        if token != TELEGRAM_TOKEN:
            return json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        if method != "getMe":
            return json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        return json_response(
            {
                "ok": True,
                "result": {
                    "id": 123456,
                    "is_bot": True,
                    "first_name": "idkarr",
                    "username": "idkarr_bot",
                    "can_join_groups": True,
                    "can_read_all_group_messages": False,
                    "supports_inline_queries": True,
                },
            }
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/3/configuration", self.tmdb_configuration)
        app.router.add_post("/v4/login", self.tvdb_login)
        app.router.add_get("/api/v10/users/@me", self.discord_me)
        app.router.add_route("*", "/bot{token}/{method}", self.telegram_method)
        return app

    def environment(self) -> dict[str, str]:
        """What an operator would set to point idkarr at these upstreams."""
        return {
            "IDKARR_TMDB__API_KEY": TMDB_API_KEY,
            "IDKARR_TMDB__BASE_URL": f"{self.base}/3",
            "IDKARR_TVDB__API_KEY": TVDB_API_KEY,
            "IDKARR_TVDB__BASE_URL": f"{self.base}/v4",
            "IDKARR_DISCORD__TOKEN": DISCORD_TOKEN,
            "IDKARR_DISCORD__API_BASE_URL": f"{self.base}/api/v10",
            "IDKARR_TELEGRAM__TOKEN": TELEGRAM_TOKEN,
            "IDKARR_TELEGRAM__BASE_URL": f"{self.base}/bot",
        }


@asynccontextmanager
async def serve_app(app: web.Application, port: int = 0) -> AsyncIterator[int]:
    """Serve an aiohttp application on 127.0.0.1, on `port` (0: a free one), for the length of the block."""
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


class Fake(Protocol):
    port: int

    def app(self) -> web.Application: ...


F = TypeVar("F", bound=Fake)


@asynccontextmanager
async def serving(fake: F) -> AsyncIterator[F]:
    """Serve a fake upstream for the length of the block, on its `port` if set, else on a free one it is set to."""
    async with serve_app(fake.app(), fake.port) as port:
        fake.port = port
        yield fake


def serve_upstreams() -> AbstractAsyncContextManager[FakeUpstreams]:
    return serving(FakeUpstreams())
