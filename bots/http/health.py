"""GET /healthz: whether this idkarr process can do its work, for a load balancer or a monitor.

Each part is checked without reaching outside services on every call (media servers are judged by their
last sync), with a short timeout, and said without secrets or addresses: the route needs no key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from sqlalchemy import select, text

from core.db.models import MediaServer
from core.db.session import Database
from core.runtime import Redis

__all__ = ["health"]

_TIMEOUT = 2.0


async def _timed(name: str, work: Awaitable[str]) -> dict[str, Any]:
    try:
        async with asyncio.timeout(_TIMEOUT):
            detail = await work
    except TimeoutError:
        return {"name": name, "ok": False, "detail": f"no answer within {_TIMEOUT:g} s"}
    except Exception as error:
        return {"name": name, "ok": False, "detail": type(error).__name__}
    return {"name": name, "ok": True, "detail": detail}


async def _database(database: Database) -> str:
    async with database.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return "answers"


async def _redis(redis: Redis | None) -> str:
    if redis is None:
        return "not used by this process"
    await redis.ping()
    return "answers"


async def _media_servers(database: Database) -> list[dict[str, Any]]:
    async with database.session() as session:
        servers = list(await session.scalars(select(MediaServer).where(MediaServer.enabled).order_by(MediaServer.name)))
    checks = []
    for server in servers:
        if server.last_sync is None:
            checks.append({"name": f"{server.type.value} {server.name}", "ok": True, "detail": "not synced yet"})
            continue
        when = server.last_sync.isoformat(timespec="seconds")
        detail = f"last sync {when} ok" if server.last_sync_success else f"last sync {when} failed"
        checks.append({"name": f"{server.type.value} {server.name}", "ok": server.last_sync_success, "detail": detail})
    return checks


async def health(
    database: Database, redis: Redis | None, front_ends: list[str], scheduler_running: bool | None
) -> tuple[bool, dict[str, Any]]:
    """(all well, the report)."""
    database_check, redis_check = await asyncio.gather(
        _timed("database", _database(database)), _timed("redis", _redis(redis))
    )
    checks = [database_check, redis_check]
    checks += [{"name": f"front end {name}", "ok": True, "detail": "running"} for name in front_ends]
    if scheduler_running is not None:
        checks.append(
            {"name": "scheduler", "ok": scheduler_running, "detail": "running" if scheduler_running else "stopped"}
        )
    if database_check["ok"]:
        try:
            async with asyncio.timeout(_TIMEOUT):
                checks += await _media_servers(database)
        except Exception as error:
            checks.append({"name": "media servers", "ok": False, "detail": type(error).__name__})
    well = all(check["ok"] for check in checks)
    return well, {"status": "ok" if well else "failing", "checks": checks}
