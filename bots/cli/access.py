"""`idkarr user show|permit|limits`: one user's permissions and limits, and an admin's overrides of them."""

from __future__ import annotations

import typer

from bots.cli.common import emit_json, settings_of, with_runtime
from core.enums import ContentType
from core.errors import InvalidInput
from core.services import access as access_service
from core.services.access import DEFAULT, Access, Default


def _print(found: Access) -> None:
    exempt = " (admins and moderators have no limits)" if found.exempt else ""
    typer.echo(f"{found.username}: {found.role.value}, {found.status.value}{exempt}")
    overrides = ", ".join(f"{name} {'on' if on else 'off'}" for name, on in sorted(found.overrides.items()))
    typer.echo(f"  may: {', '.join(sorted(p.value for p in found.permissions)) or 'nothing'}")
    typer.echo(f"  overrides of the role: {overrides or 'none'}")

    def own(is_own: bool) -> str:
        return "own" if is_own else "default"

    limit = "none" if found.request_limit is None else str(found.request_limit)
    typer.echo(f"  open requests at once: {limit} ({own(found.own_request_limit)})")
    for kind, quota in found.quotas.items():
        every = "none" if quota.limit is None else f"{quota.limit} every {quota.days} days"
        typer.echo(f"  {kind.value} quota: {every} ({own(quota.own)})")


def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Username."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """What NAME may do, and their limits and quotas (their own or the defaults)."""
    defaults = settings_of(ctx).requests
    found = with_runtime(ctx, lambda runtime: access_service.access(runtime.database, name, defaults))
    emit_json(found.to_json()) if as_json else _print(found)


def permit(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Username."),
    grant: list[str] = typer.Option([], "--grant", help="A permission to give beyond the role (repeatable)."),
    revoke: list[str] = typer.Option([], "--revoke", help="A permission to take away from the role (repeatable)."),
    reset: list[str] = typer.Option([], "--reset", help="Back to what the role says (repeatable)."),
) -> None:
    """Override NAME's role for single permissions, e.g. --grant auto_approve_movie or --revoke request_anime."""
    changes: dict[str, bool | None] = {}
    for names, value in ((grant, True), (revoke, False), (reset, None)):
        for permission in names:
            if permission.strip() in changes:
                raise InvalidInput(f"{permission.strip()} is named twice")
            changes[permission.strip()] = value
    if not changes:
        raise InvalidInput("say what to change: --grant, --revoke or --reset a permission")
    defaults = settings_of(ctx).requests
    found = with_runtime(
        ctx, lambda runtime: access_service.set_permissions(runtime.database, name, changes, defaults=defaults)
    )
    _print(found)


def _limit(text: str) -> int | Default:
    value = text.strip().lower()
    if value == "default":
        return DEFAULT
    if not value.isdigit() or len(value) > 6:
        raise InvalidInput(f"{text[:20]!r} is not a number of requests (or default)")
    return int(value)


def limits(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Username."),
    open_requests: str | None = typer.Option(None, "--open", help="Open requests at once: a number or default."),
    movie: str | None = typer.Option(None, "--movie", help="Movie quota: N/DAYS (3/7) or default."),
    series: str | None = typer.Option(None, "--series", help="Series quota: N/DAYS or default."),
    anime: str | None = typer.Option(None, "--anime", help="Anime quota: N/DAYS or default."),
) -> None:
    """Set NAME's own open-request limit and quotas; default goes back to the config's."""
    request_limit = None if open_requests is None else _limit(open_requests)
    given = {ContentType.MOVIE: movie, ContentType.SERIES: series, ContentType.ANIME: anime}
    quotas = {kind: access_service.parse_quota(text) for kind, text in given.items() if text is not None}
    if request_limit is None and not quotas:
        raise InvalidInput("say what to change: --open, --movie, --series or --anime")
    defaults = settings_of(ctx).requests
    found = with_runtime(
        ctx,
        lambda runtime: access_service.set_limits(
            runtime.database, name, request_limit=request_limit, quotas=quotas, defaults=defaults
        ),
    )
    _print(found)
