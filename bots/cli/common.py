"""What every command shares: settings from the global options, running a coroutine, printing results."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer

from core import eventloop
from core.config import Settings, load_settings
from core.enums import ContentType
from core.errors import InvalidInput
from core.logs import configure_logging
from core.metadata.provider import ExternalIds
from core.runtime import Runtime, open_runtime
from core.services.users import find_user

__all__ = ["CliState", "emit_json", "run", "settings_of", "title_ids", "user_id_of", "with_runtime"]

T = TypeVar("T")


@dataclass
class CliState:
    config_path: Path | None
    verbose: bool
    settings: Settings | None = None


def settings_of(ctx: typer.Context) -> Settings:
    state: CliState = ctx.ensure_object(CliState)
    if state.settings is None:
        state.settings = load_settings(state.config_path)
        # One-shot commands keep standard error quiet unless asked; long-running ones log at the configured level.
        configure_logging(state.settings.log.level if state.verbose else "warning")
    return state.settings


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return eventloop.run(coroutine)


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def with_runtime(ctx: typer.Context, action: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run `action` with a started runtime (database, Redis) and stop it afterwards."""
    settings = settings_of(ctx)

    async def go() -> T:
        async with open_runtime(settings) as runtime:
            return await action(runtime)

    return run(go())


async def user_id_of(runtime: Runtime, username: str) -> int:
    return (await find_user(runtime.database, username)).id


def title_ids(kind: ContentType | None, tmdb: int | None, tvdb: int | None) -> tuple[ContentType, ExternalIds]:
    """The title named by --type with exactly one of --tmdb and --tvdb."""
    if kind is None:
        raise InvalidInput("say which: --type movie, series or anime")
    if (tmdb is None) == (tvdb is None):
        raise InvalidInput("give exactly one of --tmdb or --tvdb")
    if kind == ContentType.MOVIE and tvdb is not None:
        raise InvalidInput("films are named by --tmdb id")
    return kind, ExternalIds(tmdb_id=tmdb, tvdb_id=tvdb)
