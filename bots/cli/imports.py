"""`idkarr import overseerr`: move from Overseerr or Seerr without losing users, linked chats or history."""

from __future__ import annotations

import sys
from collections import Counter

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from bots.cli.common import emit_json, settings_of, with_runtime
from core.runtime import Runtime
from core.services.discovery_setup import open_discovery
from core.services.overseerr_import import ImportSummary, Tally, import_overseerr

app = typer.Typer(help="Bring users, titles and requests over from another program.", no_args_is_help=True)

_SHOWN_SKIPS = 20


@app.command()
def overseerr(
    ctx: typer.Context,
    url: str = typer.Option(..., "--url", help="Where Overseerr or Seerr answers, e.g. http://192.168.1.10:5055"),
    api_key: str = typer.Option(..., "--api-key", help="Its API key (Settings > General > API Key)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change, and change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import users (with their Discord and Telegram ids), titles and requests from Overseerr or Seerr.
    Running it again changes nothing; someone already in idkarr with the same email is linked, not doubled."""
    settings = settings_of(ctx)
    show_bar = sys.stderr.isatty() and not as_json

    async def go(runtime: Runtime) -> ImportSummary:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, transient=True, disable=not show_bar) as bar:
            tasks: dict[str, TaskID] = {}

            def advance(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    label = "naming titles (TMDB)" if phase == "names" else f"reading {phase}"
                    tasks[phase] = bar.add_task(label, total=total)
                bar.update(tasks[phase], completed=done, total=total)

            async with open_discovery(runtime) as discovery:
                return await import_overseerr(
                    runtime.database,
                    discovery.details,
                    url=url,
                    api_key=api_key,
                    dry_run=dry_run,
                    progress=advance,
                    request_seconds=settings.sync.timeout_seconds,
                )

    summary = with_runtime(ctx, go)
    if as_json:
        emit_json(summary.to_json())
        return
    for line in summary_lines(summary):
        typer.echo(line)


def _tally(what: str, tally: Tally) -> str:
    parts = [f"{tally.imported} imported"]
    if tally.matched:
        parts.append(f"{tally.matched} already in idkarr, linked")
    if tally.already:
        parts.append(f"{tally.already} imported before")
    if tally.skipped:
        parts.append(f"{tally.skipped} skipped")
    return f"  {what}: {', '.join(parts)}"


def summary_lines(summary: ImportSummary) -> list[str]:
    head = "would import" if summary.dry_run else "imported"
    lines = [
        f"{head} from {summary.program} {summary.version} at {summary.source}"
        + (" (dry run: nothing was changed)" if summary.dry_run else ""),
        _tally("users", summary.users),
        _tally("linked chats", summary.chats),
        _tally("titles", summary.media),
        _tally("requests", summary.requests),
    ]
    if summary.joined:
        lines.append(
            f"  {summary.joined} pending request{'s' if summary.joined != 1 else ''} for a title someone else "
            "already asked for: the requester now follows that request"
        )
    if summary.unnamed:
        lines.append(
            f"  titles shown by their TMDB or TheTVDB id, their names not found: {summary.unnamed} "
            "(`idkarr doctor` checks the metadata sources)"
        )
    if summary.skipped:
        reasons = Counter(f"{row.kind}: {row.reason}" for row in summary.skipped)
        lines.append(f"skipped {len(summary.skipped)} rows:")
        order = {"user": 0, "media": 1, "request": 2}
        shown = sorted(summary.skipped, key=lambda row: (order.get(row.kind, 3), row.external_id or 0))
        for row in shown[:_SHOWN_SKIPS]:
            lines.append(f"  {row.kind} {row.external_id if row.external_id is not None else '?'}: {row.reason}")
        if len(summary.skipped) > _SHOWN_SKIPS:
            lines.append(f"  ... and {len(summary.skipped) - _SHOWN_SKIPS} more (--json lists them all); by reason:")
            lines.extend(f"    {count} x {reason}" for reason, count in reasons.most_common(10))
    return lines


__all__ = ["app", "summary_lines"]
