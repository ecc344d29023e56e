"""`idkarr server` and `idkarr sync`: the media servers and the Sonarr/Radarr behind instances."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from bots.cli.common import emit_json, settings_of, with_runtime
from core.enums import ContentType, parse_choice
from core.runtime import Runtime
from core.secretbox import secret_box
from core.services.discovery_setup import open_discovery
from core.services.library_sync import SyncResult, find_server, sync_server
from core.services.servers import (
    KINDS,
    ServerView,
    add_server,
    list_servers,
    refresh_backends,
    remove_server,
    server_status,
)

app = typer.Typer(
    help="Media servers (Plex, Jellyfin, Emby) and the download side (Sonarr, Radarr).", no_args_is_help=True
)


@app.command()
def add(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help=", ".join(KINDS)),
    name: str = typer.Argument(..., help="A name of your choosing, e.g. 'Living Room' or 'Anime'."),
    url: str = typer.Option(..., "--url", help="Where it answers, e.g. http://192.168.1.10:8096"),
    token: str = typer.Option(..., "--token", help="Its API key (Jellyfin, Emby, Sonarr, Radarr) or X-Plex-Token."),
    content_type: str | None = typer.Option(None, "--type", help="Sonarr only: series (default) or anime."),
) -> None:
    """Add a server; it must answer with the token first. The token is stored encrypted."""
    settings = settings_of(ctx)
    kind_of = parse_choice(ContentType, content_type, "a content type") if content_type else None
    box = secret_box(settings)
    added = with_runtime(
        ctx,
        lambda rt: add_server(
            rt.database, box, kind, name, url=url, token=token, content_type=kind_of, sync=settings.sync
        ),
    )
    held = f", holds {added.content_type}" if added.content_type else ""
    typer.echo(f"added {added.kind} server {added.name} at {added.url} (version {added.version}{held})")


def _result(view: ServerView) -> str:
    if view.last_sync_success is None:
        return ""
    return "ok" if view.last_sync_success else f"failed: {view.last_sync_error}"


def _table(views: list[ServerView]) -> Table:
    table = Table("kind", "name", "url", "holds", "items", "last sync", "result")
    for view in views:
        result = (
            ""
            if view.last_sync_success is None
            else ("ok" if view.last_sync_success else f"failed: {view.last_sync_error}")
        )
        table.add_row(
            view.kind,
            view.name,
            view.url,
            view.content_type or "",
            "" if view.items is None else str(view.items),
            view.last_sync.strftime("%Y-%m-%d %H:%M") if view.last_sync else ("" if view.items is None else "never"),
            result,
        )
    return table


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List every server with its last sync."""
    views = with_runtime(ctx, lambda rt: list_servers(rt.database))
    if as_json:
        emit_json([view.as_json() for view in views])
    elif not views:
        typer.echo("no servers yet: idkarr server add jellyfin NAME --url URL --token TOKEN")
    else:
        Console().print(_table(views))


@app.command()
def remove(ctx: typer.Context, name: str = typer.Argument(..., help="The server's name.")) -> None:
    """Remove a server (a Sonarr or Radarr instance keeps its name, with nothing behind it)."""
    kind = with_runtime(ctx, lambda rt: remove_server(rt.database, name))
    typer.echo(f"removed {kind} server {name}")


@app.command()
def refresh(
    ctx: typer.Context, name: str | None = typer.Argument(None, help="One Sonarr or Radarr (default: all).")
) -> None:
    """Read Sonarr's and Radarr's quality profiles and root folders again (approval offers them)."""
    box = secret_box(settings_of(ctx))
    read = with_runtime(ctx, lambda rt: refresh_backends(rt.database, box, name))
    typer.echo(f"read the profiles and folders of {read} server{'s' if read != 1 else ''}")


@app.command()
def status(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="One server (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check each server answers now, and show its last sync; exit 1 if any does not answer."""
    settings = settings_of(ctx)
    box = secret_box(settings)
    checks = with_runtime(ctx, lambda rt: server_status(rt.database, box, name, settings.sync))
    if as_json:
        emit_json([{**view.as_json(), "reachable": ok, "answer": answer} for view, ok, answer in checks])
    else:
        for view, ok, answer in checks:
            synced = f"; last sync {view.last_sync:%Y-%m-%d %H:%M} {_result(view)}" if view.last_sync else ""
            typer.echo(f"{view.kind} {view.name}: {'ok' if ok else 'FAILED'}, {answer}{synced}")
    if not all(ok for _, ok, _ in checks):
        raise typer.Exit(1)


def sync(
    ctx: typer.Context,
    server: str | None = typer.Argument(None, help="One media server (default: every enabled one)."),
    full: bool = typer.Option(False, "--full", help="Read the whole library (finds removals), not only what changed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Sync media servers now: what they hold becomes available in idkarr, and requests it fulfils are told."""
    settings = settings_of(ctx)
    box = secret_box(settings)
    show_bar = sys.stderr.isatty() and not as_json

    async def go(runtime: Runtime) -> list[SyncResult]:
        media_servers = [view for view in await list_servers(runtime.database) if view.items is not None]
        names = [server] if server else [view.name for view in media_servers if view.enabled]
        if not names:
            typer.echo("no media servers yet: idkarr server add jellyfin NAME --url URL --token TOKEN", err=True)
            return []
        results = []
        async with open_discovery(runtime) as discovery:
            for name in names:
                row = await find_server(runtime.database, name)
                columns = (TextColumn(row.name), BarColumn(), TextColumn("{task.completed} items"), TimeElapsedColumn())
                with Progress(*columns, transient=True, disable=not show_bar) as bar:
                    task = bar.add_task("sync", total=None)

                    def advance(done: int, _total: int | None, bar: Progress = bar, task: TaskID = task) -> None:
                        bar.update(task, completed=done)

                    results.append(
                        await sync_server(
                            runtime.database,
                            box,
                            row,
                            full=full,
                            discovery=discovery,
                            settings=settings.sync,
                            progress=advance,
                        )
                    )
        return results

    results = with_runtime(ctx, go)
    if as_json:
        emit_json([result.as_json() for result in results])
        return
    for result in results:
        if result.skipped:
            typer.echo(f"{result.server}: skipped, {result.skipped}")
            continue
        typer.echo(
            f"{result.server}: {'full' if result.full else 'incremental'} sync read {result.items} items in "
            f"{result.seconds:.1f} s; {result.changed} changed, {result.removed} removed, "
            f"{result.unidentified} without ids; requests now available: {len(result.requests_fulfilled)}"
        )


__all__ = ["app", "sync"]
