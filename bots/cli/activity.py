"""`idkarr activity`: the feed from the shell."""

from __future__ import annotations

import typer

from bots.cli.common import emit_json, run, settings_of
from bots.cli.discover import parse_content
from core.enums import ActivityType
from core.errors import InvalidInput
from core.runtime import open_runtime
from core.services.activity import ActivityEntry, feed
from core.services.users import find_user


def parse_types(values: list[str]) -> list[ActivityType]:
    parsed = []
    for value in values:
        try:
            parsed.append(ActivityType(value.strip().lower()))
        except ValueError:
            raise InvalidInput(f"{value!r} is not an activity type, e.g. request_created, request_approved") from None
    return parsed


def activity(
    ctx: typer.Context,
    kind: list[str] = typer.Option([], "--type", help="Only these types (repeatable), e.g. request_approved."),
    content: str = typer.Option("all", "--content", help="movie, series, anime or all"),
    user: str | None = typer.Option(None, "--user", help="Only what this user did."),
    limit: int = typer.Option(20, "--limit", help="1 to 100."),
    offset: int = typer.Option(0, "--offset"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the activity feed, newest first."""
    types, content_type = parse_types(kind), parse_content(content)
    settings = settings_of(ctx)

    async def go() -> list[ActivityEntry]:
        async with open_runtime(settings) as runtime:
            user_id = (await find_user(runtime.database, user)).id if user else None
            return await feed(
                runtime.database,
                reader_id=None,
                types=types,
                content_type=content_type,
                user_id=user_id,
                limit=limit,
                offset=offset,
            )

    entries = run(go())
    if as_json:
        emit_json([entry.to_json() for entry in entries])
        return
    for entry in entries:
        what = f" {entry.title}" if entry.title else ""
        typer.echo(f"{entry.created_at:%Y-%m-%d %H:%M} {entry.type.value}{what} ({entry.user or 'idkarr'})")
