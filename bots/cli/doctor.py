"""`idkarr doctor`: one line per dependency, ok or why not."""

from __future__ import annotations

import asyncio

import typer

from bots.cli.common import run, settings_of
from bots.health import check_discord, check_telegram
from core.config import Settings
from core.errors import StartupError
from core.health import Check, check_database, check_redis, check_tmdb, check_tvdb
from core.runtime import open_database, open_redis
from core.secretbox import secret_box
from core.services.discovery_setup import describe_providers
from core.services.servers import server_status


async def _database(settings: Settings) -> Check:
    try:
        async with open_database(settings) as database:
            return await check_database(database)
    except StartupError as error:
        return Check("database", False, str(error))


async def _redis(settings: Settings) -> Check:
    try:
        async with open_redis(settings) as client:
            return await check_redis(client)
    except StartupError as error:
        return Check("redis", False, str(error))


async def _servers(settings: Settings) -> list[Check]:
    """Each media server and Sonarr/Radarr, answering now (nothing when the database cannot be reached: its
    own line says why)."""
    try:
        async with open_database(settings) as database:
            checks = await server_status(database, secret_box(settings), None, settings.sync)
    except StartupError:
        return []
    return [Check(f"{view.kind} {view.name}", ok, answer) for view, ok, answer in checks]


def _metadata(settings: Settings) -> Check:
    return Check("metadata", True, describe_providers(settings))


async def diagnose(settings: Settings) -> list[Check]:
    checks = await asyncio.gather(
        _database(settings),
        _redis(settings),
        check_tmdb(settings),
        check_tvdb(settings),
        check_discord(settings),
        check_telegram(settings),
    )
    return [_metadata(settings), *checks, *await _servers(settings)]


def doctor(ctx: typer.Context) -> None:
    """Check the database, Redis and every configured upstream; exit 1 if any check failed."""
    checks = run(diagnose(settings_of(ctx)))
    for check in checks:
        typer.echo(check.line())
    if not all(check.ok for check in checks):
        raise typer.Exit(1)
