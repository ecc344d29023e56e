"""`idkarr activity`: the feed from the shell."""

from __future__ import annotations

import typer

from bots.cli.common import emit_json, user_id_of, with_runtime
from bots.cli.discover import parse_content
from core.enums import ActivityType, parse_choice
from core.runtime import Runtime
from core.services.activity import ActivityEntry, feed
from core.services.operator import OPERATOR


def parse_types(values: list[str]) -> list[ActivityType]:
    return [parse_choice(ActivityType, value, "an activity type") for value in values]


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

    async def go(runtime: Runtime) -> list[ActivityEntry]:
        user_id = await user_id_of(runtime, user) if user else None
        return await feed(
            runtime.database,
            reader=OPERATOR,
            types=types,
            content_type=content_type,
            user_id=user_id,
            limit=limit,
            offset=offset,
        )

    entries = with_runtime(ctx, go)
    if as_json:
        emit_json([entry.to_json() for entry in entries])
        return
    for entry in entries:
        what = f" {entry.title}" if entry.title else ""
        typer.echo(f"{entry.created_at:%Y-%m-%d %H:%M} {entry.type.value}{what} ({entry.user or 'idkarr'})")
