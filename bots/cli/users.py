"""`idkarr user`: manage users from the shell (whoever has the shell is trusted as an operator)."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.console import Console
from rich.table import Table

from bots.cli.common import emit_json, settings_of, with_runtime
from bots.telegram.username import telegram_username
from core.enums import ChatPlatform, parse_choice
from core.runtime import Runtime
from core.services import identity, users
from core.services.operator import OPERATOR
from core.services.users import UserSummary

app = typer.Typer(
    help="Users: add, list, change role, permissions and limits, disable, link chat accounts, API keys.",
    no_args_is_help=True,
)

ROLE_HELP = "admin, moderator, user, viewer or api-user"


def parse_platform(value: str) -> ChatPlatform:
    return parse_choice(ChatPlatform, value, "a platform")


def _as_dict(user: UserSummary) -> dict[str, object]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role.value,
        "status": user.status.value,
        "created_at": user.created_at.isoformat(),
    }


@app.command()
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Username: letters, digits, '.', '_' or '-'."),
    role: str = typer.Option("user", "--role", "-r", help=ROLE_HELP),
) -> None:
    """Create a user."""
    parsed = users.parse_role(role)
    user = with_runtime(ctx, lambda rt: users.add_user(rt.database, name, parsed))
    typer.echo(f"added {user.username} (id {user.id}) as {user.role.value}")


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List every user."""
    found = with_runtime(ctx, lambda runtime: users.list_users(runtime.database))
    if as_json:
        emit_json([_as_dict(user) for user in found])
        return
    table = Table("id", "username", "role", "status", "created")
    for user in found:
        table.add_row(str(user.id), user.username, user.role.value, user.status.value, f"{user.created_at:%Y-%m-%d}")
    Console().print(table)


@app.command("set-role")
def set_role(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Username."),
    role: str = typer.Argument(..., help=ROLE_HELP),
) -> None:
    """Change a user's role."""
    parsed = users.parse_role(role)
    user = with_runtime(ctx, lambda rt: users.set_role(rt.database, name, parsed))
    typer.echo(f"{user.username} is now {user.role.value}")


@app.command()
def disable(ctx: typer.Context, name: str = typer.Argument(..., help="Username.")) -> None:
    """Disable a user: they keep their history but can do nothing."""
    user = with_runtime(ctx, lambda rt: users.disable_user(rt.database, name))
    typer.echo(f"{user.username} is disabled")


@app.command()
def enable(ctx: typer.Context, name: str = typer.Argument(..., help="Username.")) -> None:
    """Enable a disabled or pending user."""
    user = with_runtime(ctx, lambda rt: users.enable_user(rt.database, name))
    typer.echo(f"{user.username} is active")


@app.command("link-code")
def link_code(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Username the code links to."),
    minutes: int | None = typer.Option(None, "--minutes", help="How long the code works (default from config)."),
) -> None:
    """Print a one-time code that links a Discord, Telegram or console account to NAME (code on the last line)."""
    lifetime = minutes if minutes is not None else settings_of(ctx).users.link_code_minutes

    async def issue(runtime: Runtime) -> tuple[str, datetime, str | None]:
        code, expires = await identity.issue_link_code(runtime.database, name, minutes=lifetime, by=OPERATOR)
        return code, expires, await telegram_username(runtime)

    code, expires, bot = with_runtime(ctx, issue)
    typer.echo(f"A link code for {name.strip()}: it works once, until {expires:%Y-%m-%d %H:%M} UTC.")
    typer.echo("Send it from any idkarr chat with: /link CODE")
    if bot:
        typer.echo(f"On Telegram, open: https://t.me/{bot}?start={code}")
    typer.echo(code)


@app.command("api-key")
def api_key(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Username."),
    revoke: bool = typer.Option(False, "--revoke", help="Take the key away instead of making a new one."),
) -> None:
    """Make a new API key for NAME, replacing the old one (the key is printed once, on the last line)."""
    if revoke:
        had = with_runtime(ctx, lambda runtime: identity.revoke_api_key(runtime.database, name))
        typer.echo(
            f"{name.strip()}'s API key is revoked: calls with it are refused within 10 seconds."
            if had
            else f"{name.strip()} had no API key."
        )
        return
    key = with_runtime(ctx, lambda runtime: identity.issue_api_key(runtime.database, name))
    typer.echo(f"A new API key for {name.strip()}; idkarr keeps only its digest, so copy it now.")
    typer.echo(key)


@app.command()
def unlink(
    ctx: typer.Context,
    platform: str = typer.Argument(..., help="discord, telegram or console."),
    platform_user_id: str = typer.Argument(..., help="The account's id on that platform."),
) -> None:
    """Forget which user a chat account belongs to (it can then be linked again)."""
    parsed = parse_platform(platform)
    owner = with_runtime(ctx, lambda runtime: identity.unlink(runtime.database, parsed, platform_user_id))
    typer.echo(f"{platform} account {platform_user_id} is no longer linked to {owner}")


@app.command()
def media(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The idkarr user."),
    jellyfin: str | None = typer.Option(None, "--jellyfin", help="Their Jellyfin user id ('' clears it)."),
    emby: str | None = typer.Option(None, "--emby", help="Their Emby user id ('' clears it)."),
    plex: str | None = typer.Option(None, "--plex", help="Their Plex account name ('' clears it)."),
) -> None:
    """Say who a user is on the media servers, so what they watch there moves their watchlist."""
    accounts = users.MediaAccounts(jellyfin=jellyfin, emby=emby, plex=plex)
    now = with_runtime(ctx, lambda rt: users.set_media_accounts(rt.database, name, accounts))
    shown = ", ".join(f"{server} {value}" for server, value in now.items() if value) or "no media-server accounts"
    typer.echo(f"{name}: {shown}")
