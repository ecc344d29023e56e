"""`idkarr request`: list, create, approve, deny, cancel, edit and retry requests from the shell, as a named user;
and, until sync and the download side report it themselves, mark them available or failed."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table

from bots.cli.common import emit_json, title_ids, user_id_of, with_runtime
from bots.cli.discover import parse_content
from core.enums import RequestStatus, parse_choice
from core.errors import StartupError
from core.integrations.arr import Download
from core.metadata.query import parse_seasons
from core.metadata.types import TitleDetails
from core.runtime import Runtime
from core.secretbox import secret_box
from core.services import handoff, requests
from core.services.discovery_setup import open_discovery
from core.services.operator import OPERATOR
from core.services.requests import RequestView
from core.upstream_errors import UpstreamError

app = typer.Typer(
    help="Requests: list, create, approve, deny, cancel, edit, retry; mark available or failed.", no_args_is_help=True
)
T = TypeVar("T")
AS_HELP = "The user acting (their permissions apply)."


def parse_status(text: str | None) -> RequestStatus | None:
    return None if text is None else parse_choice(RequestStatus, text, "a request status")


def _print(view: RequestView, verb: str) -> None:
    seasons = f" seasons {', '.join(map(str, view.seasons))}" if view.seasons else ""
    typer.echo(f"request #{view.id} {verb}: {view.title} ({view.year or '?'}){seasons} [{view.status.value}]")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", help="pending, approved, available, denied, ..."),
    user: str | None = typer.Option(None, "--user", help="Only this user's requests."),
    limit: int = typer.Option(50, "--limit", help="1 to 100."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List requests, newest first."""
    wanted = parse_status(status)

    async def go(runtime: Runtime) -> list[RequestView]:
        user_id = await user_id_of(runtime, user) if user else None
        return await requests.list_requests(
            runtime.database, viewer=OPERATOR, status=wanted, user_id=user_id, limit=limit
        )

    found = with_runtime(ctx, go)
    if as_json:
        emit_json([view.to_json() for view in found])
        return
    table = Table("id", "status", "type", "title", "year", "seasons", "by", "watchers")
    for view in found:
        table.add_row(
            str(view.id),
            view.status.value,
            view.content_type.value,
            view.title,
            str(view.year or ""),
            ",".join(map(str, view.seasons)),
            view.requested_by,
            ", ".join(view.watchers),
        )
    Console().print(table)


@app.command()
def create(
    ctx: typer.Context,
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    content_type: str = typer.Option(..., "--type", help="movie, series or anime"),
    tmdb: int | None = typer.Option(None, "--tmdb", help="TMDB id."),
    tvdb: int | None = typer.Option(None, "--tvdb", help="TheTVDB id (series and anime)."),
    seasons: str | None = typer.Option(None, "--seasons", help="e.g. 1,2 or 1-3; default: all but specials"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Request a title (or join the open request for it)."""
    kind, ids = title_ids(parse_content(content_type), tmdb, tvdb)
    chosen = parse_seasons(seasons)

    async def go(runtime: Runtime) -> requests.CreateResult:
        actor = await user_id_of(runtime, as_user)
        async with open_discovery(runtime) as discovery:
            view = await discovery.title(kind, ids)
        return await requests.create(
            runtime.database, view.details, actor_id=actor, seasons=chosen, settings=runtime.settings.requests
        )

    result = with_runtime(ctx, go)
    if as_json:
        emit_json({"outcome": result.outcome, "added_seasons": result.added_seasons, **result.request.to_json()})
        return
    verb = {"created": "created", "auto_approved": "created and approved", "joined": "joined"}[result.outcome]
    _print(result.request, verb)


@app.command()
def approve(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., metavar="ID"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    instance: str | None = typer.Option(None, "--instance", help="Instance name or id (default: the type's default)."),
    profile: str | None = typer.Option(None, "--profile", help="Quality profile name or id in that instance."),
    folder: str | None = typer.Option(None, "--folder", help="Root folder path or id in that instance."),
) -> None:
    """Approve a pending request, optionally choosing where it goes."""
    placement = requests.Placement(instance=instance, quality_profile=profile, root_folder=folder)

    async def go(runtime: Runtime) -> RequestView:
        actor = await user_id_of(runtime, as_user)
        return await requests.approve(runtime.database, request_id, actor_id=actor, placement=placement)

    _print(with_runtime(ctx, go), "approved")


@app.command()
def deny(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., metavar="ID"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    reason: str = typer.Option(..., "--reason", help="Why, in 1 to 500 characters; the requester sees it."),
) -> None:
    """Deny a pending request, with a reason."""

    async def go(runtime: Runtime) -> RequestView:
        actor = await user_id_of(runtime, as_user)
        return await requests.deny(runtime.database, request_id, actor_id=actor, reason=reason)

    _print(with_runtime(ctx, go), "denied")


@app.command()
def cancel(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., metavar="ID"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
) -> None:
    """Cancel your own pending request."""

    async def go(runtime: Runtime) -> RequestView:
        return await requests.cancel(runtime.database, request_id, actor_id=await user_id_of(runtime, as_user))

    _print(with_runtime(ctx, go), "cancelled")


async def _requested_title(runtime: Runtime, request: RequestView) -> TitleDetails:
    async with open_discovery(runtime) as discovery:
        return (await discovery.title(request.content_type, request.lookup_ids())).details


@app.command()
def edit(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., metavar="ID"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    seasons: str = typer.Option(..., "--seasons", help="The seasons wanted instead, e.g. 1,2 or 1-3."),
) -> None:
    """Change the seasons of a pending request: its requester or a moderator."""
    chosen = parse_seasons(seasons)

    async def go(runtime: Runtime) -> RequestView:
        actor = await user_id_of(runtime, as_user)
        details = await _requested_title(runtime, await requests.get(runtime.database, request_id))
        return await requests.edit_seasons(
            runtime.database,
            request_id,
            details,
            actor_id=actor,
            seasons=chosen or (),
            settings=runtime.settings.requests,
        )

    _print(with_runtime(ctx, go), "changed")


@app.command()
def retry(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., metavar="ID"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
) -> None:
    """Send a failed request to the download side again (moderators)."""

    async def go(runtime: Runtime) -> RequestView:
        return await requests.retry(runtime.database, request_id, actor_id=await user_id_of(runtime, as_user))

    _print(with_runtime(ctx, go), "approved again")


@app.command()
def available(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., metavar="ID"),
    seasons: str | None = typer.Option(None, "--seasons", help="For a show: the seasons now in the library."),
) -> None:
    """Record that an approved request reached the library, as media-server sync does (operator)."""
    arrived = parse_seasons(seasons)

    async def go(runtime: Runtime) -> RequestView:
        # No seasons named: everything it asked for has arrived. Seasons typed are checked against the list.
        async with open_discovery(runtime) as discovery:
            return await requests.mark_available(runtime.database, request_id, seasons=arrived, check_with=discovery)

    view = with_runtime(ctx, go)
    verbs = {RequestStatus.AVAILABLE: "available", RequestStatus.PARTIAL: "partly available"}
    _print(view, verbs.get(view.status, "unchanged"))


@app.command()
def failed(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., metavar="ID"),
    reason: str = typer.Option(..., "--reason", help="What went wrong; everyone following the request sees it."),
) -> None:
    """Record that the download side could not take an approved request (operator)."""

    async def go(runtime: Runtime) -> RequestView:
        return await requests.mark_failed(runtime.database, request_id, reason=reason)

    _print(with_runtime(ctx, go), "failed")


@app.command()
def show(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., help="Request number."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One request in full, with what Sonarr or Radarr is downloading for it."""

    async def go(runtime: Runtime) -> tuple[RequestView, list[Download] | None, str | None]:
        view = await requests.get(runtime.database, request_id)
        try:
            box = secret_box(runtime.settings)
            queue = await handoff.download_queue(runtime.database, box, request_id, runtime.settings.sync)
        except (UpstreamError, StartupError) as error:
            return view, None, str(error)
        return view, None if queue is None else list(queue), None

    view, queue, unreadable = with_runtime(ctx, go)
    if as_json:
        downloads = None if queue is None else [dataclasses.asdict(download) for download in queue]
        emit_json({**view.to_json(), "downloads": downloads, "downloads_error": unreadable})
        return
    typer.echo(
        f"request #{view.id}: {view.title} ({view.year or '?'}) [{view.status.value}], requested by {view.requested_by}"
        + (f", approved by {view.approved_by}" if view.approved_by else "")
        + (f", denied by {view.denied_by}" if view.denied_by else "")
    )
    if view.failure_reason and view.status == RequestStatus.FAILED:
        typer.echo(f"failed: {view.failure_reason}")
    if unreadable:
        typer.echo(f"downloads: cannot be read now ({unreadable})")
    elif queue is not None:
        if not queue:
            typer.echo("downloads: nothing downloading now")
        for download in queue:
            left = f", {download.time_left} left" if download.time_left else ""
            typer.echo(f"downloading: {download.title} · {download.state} · {download.percent:g}%{left}")
