"""`idkarr doctor`'s checks: each returns one line's worth of verdict, never a secret.

Reasons are built from status codes and error classes, never from URLs or response bodies, because the
Telegram token sits in the URL path and upstream bodies can echo credentials back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text

from core.config import Settings
from core.db.migrate import SchemaNotCurrent, read_schema_state
from core.db.session import Database
from core.runtime import Redis

__all__ = ["Check", "check_database", "check_redis", "check_tmdb", "check_tvdb", "http_check"]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    skipped: bool = False

    def line(self) -> str:
        verdict = "skipped" if self.skipped else ("ok" if self.ok else "FAILED")
        return f"{self.name}: {verdict}" + (f" ({self.detail})" if self.detail else "")


async def check_database(database: Database) -> Check:
    async with database.engine.connect() as connection:
        version = (await connection.execute(text("SHOW server_version"))).scalar_one()
    state = await read_schema_state(database)
    where = f"PostgreSQL {str(version).split()[0]} at {database.url.redacted}"
    try:
        state.require_current()
    except SchemaNotCurrent as error:
        return Check("database", False, f"{where}; {error}")
    return Check("database", True, f"{where}, schema {state.current}")


async def check_redis(client: Redis) -> Check:
    info: Mapping[str, Any] = await client.info("server")
    return Check("redis", True, f"Redis {info.get('redis_version', '?')}")


def _http_reason(service: str, response: httpx.Response) -> str:
    if response.status_code in (401, 403):
        return f"{service} rejected the credentials (HTTP {response.status_code})"
    if response.status_code == 404:
        return f"{service} answered HTTP 404: check the base URL (or the token, for Telegram)"
    if response.status_code == 429:
        return f"{service} is rate limiting us (HTTP 429); try again in a minute"
    return f"{service} answered HTTP {response.status_code}"


async def http_check(
    name: str,
    service: str,
    send: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
    describe: Callable[[Any], str],
    *,
    seconds: float,
) -> Check:
    """Run one request against an upstream and turn any outcome into a Check."""
    try:
        async with httpx.AsyncClient(timeout=seconds, follow_redirects=False) as client:
            response = await send(client)
    except httpx.TimeoutException:
        return Check(name, False, f"{service} did not answer within {seconds:g} s")
    except httpx.ConnectError:
        return Check(name, False, f"cannot connect to {service}")
    except httpx.HTTPError as error:
        return Check(name, False, f"{service} request failed ({type(error).__name__})")
    except (httpx.InvalidURL, ValueError):
        # Never the URL itself: Telegram's carries the token.
        return Check(name, False, f"{service}'s base URL does not make a valid URL; check the configuration")
    if not response.is_success:
        return Check(name, False, _http_reason(service, response))
    try:
        detail = describe(response.json())
    except (ValueError, KeyError, TypeError, AttributeError):
        return Check(name, False, f"{service} answered with something that is not its API (unexpected JSON)")
    return Check(name, True, detail)


async def check_tmdb(settings: Settings) -> Check:
    tmdb = settings.tmdb
    if not tmdb.configured:
        return Check("tmdb", True, "not configured", skipped=True)

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        if tmdb.read_access_token is not None:
            headers = {"Authorization": f"Bearer {tmdb.read_access_token.get_secret_value()}"}
            return await client.get(f"{tmdb.base_url}/configuration", headers=headers)
        assert tmdb.api_key is not None
        return await client.get(f"{tmdb.base_url}/configuration", params={"api_key": tmdb.api_key.get_secret_value()})

    def describe(body: Any) -> str:
        _ = body["images"]["secure_base_url"]
        return f"TMDB API at {tmdb.base_url}"

    return await http_check("tmdb", "TMDB", send, describe, seconds=tmdb.timeout)


async def check_tvdb(settings: Settings) -> Check:
    tvdb = settings.tvdb
    if not tvdb.configured or tvdb.api_key is None:
        return Check("tvdb", True, "not configured", skipped=True)
    credentials = {"apikey": tvdb.api_key.get_secret_value()}
    if tvdb.pin is not None:
        credentials["pin"] = tvdb.pin.get_secret_value()

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(f"{tvdb.base_url}/login", json=credentials)

    def describe(body: Any) -> str:
        if not isinstance(body["data"]["token"], str):
            raise TypeError("token")
        return f"TheTVDB API at {tvdb.base_url}, logged in"

    return await http_check("tvdb", "TheTVDB", send, describe, seconds=tvdb.timeout)
