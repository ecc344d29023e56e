"""`idkarr chat` and `idkarr run`."""

from __future__ import annotations

import sys

import typer

from bots import run as product
from bots.cli.common import run, settings_of
from core.logs import configure_logging


def chat(
    ctx: typer.Context,
    as_user: str | None = typer.Option(None, "--as", help="Talk as this user (default: the bootstrap admin)."),
) -> None:
    """Talk to idkarr in the terminal: /search, /request, /requests, ... (interactive or piped)."""
    settings = settings_of(ctx)
    run(product.chat(settings, as_user))


def serve(
    ctx: typer.Context,
    console: bool = typer.Option(False, "--console", help="Open the console even without a terminal."),
) -> None:
    """Run idkarr: front ends, scheduler and notification delivery, until stopped (Ctrl-C or SIGTERM)."""
    settings = settings_of(ctx)
    configured = settings.discord.token is not None or settings.telegram.token is not None
    with_console = console or (not configured and sys.stdin.isatty())
    configure_logging(settings.log.level, terminal_shared=with_console and sys.stdin.isatty() and sys.stderr.isatty())
    run(product.serve(settings, console=with_console))
