"""What every command shares: settings from the global options, running a coroutine, printing results."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer

from core.config import Settings, load_settings
from core.logs import configure_logging

__all__ = ["CliState", "emit_json", "run", "settings_of"]

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
    return asyncio.run(coroutine)


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))
