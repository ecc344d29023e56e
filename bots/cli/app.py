"""The `idkarr` entry point: global options, sub-commands, and the one place errors become exit codes."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import typer

from bots.cli import access, activity, chat, db, discover, doctor, imports, requests, servers, users, watchlist
from bots.cli.common import CliState
from core.config import ConfigError
from core.errors import IdkarrError

app = typer.Typer(
    name="idkarr",
    help="idkarr: discover, request and approve movies, series and anime from Discord, Telegram and the console.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="user")
for command in (access.show, access.permit, access.limits):
    users.app.command()(command)
app.add_typer(requests.app, name="request")
app.add_typer(watchlist.app, name="watchlist")
app.add_typer(servers.app, name="server")
app.add_typer(imports.app, name="import")
app.command()(servers.sync)
app.command("chat")(chat.chat)
app.command("run")(chat.serve)
app.command()(doctor.doctor)
app.command()(discover.discover)
app.command()(discover.search)
app.command()(discover.title)
app.command()(activity.activity)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(version("idkarr"))
        except PackageNotFoundError:
            typer.echo("unknown")
        raise typer.Exit()


@app.callback()
def _global_options(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="Path to config.toml (default: $IDKARR_CONFIG, else ./config.toml if present).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at the configured level on standard error."),
    _show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    ctx.obj = CliState(config_path=config, verbose=verbose)


def main() -> None:
    try:
        app()
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        sys.exit(2)
    except IdkarrError as error:
        print(f"idkarr: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
