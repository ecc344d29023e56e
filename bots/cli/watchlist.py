"""`idkarr watchlist`: a person's lists (plan to watch, watching, watched, dropped, on hold) from the shell."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from bots.cli.common import emit_json, title_ids, user_id_of, with_runtime
from bots.cli.discover import parse_content
from core.enums import WatchlistType
from core.errors import InvalidInput
from core.runtime import Runtime
from core.services import watchlists
from core.services.discovery_setup import open_discovery
from core.services.operator import OPERATOR
from core.services.watchlists import CLEAR, WatchlistView

app = typer.Typer(help="Watchlists: add, list, set progress, rating and review, remove.", no_args_is_help=True)

AS_HELP = "Whose list (that user acts)."
LIST_HELP = "watchlist, watching, watched, dropped or hold"
TYPE_HELP = "movie, series or anime"


def _list_type(value: str | None) -> WatchlistType | None:
    return watchlists.parse_type(value) if value is not None else None


def _print(view: WatchlistView, verb: str) -> None:
    progress = f" at S{view.season or 0:02d}E{view.episode or 0:02d}" if view.season or view.episode else ""
    rating = f", rated {view.rating}/10" if view.rating else ""
    typer.echo(f"{verb}: {view.title} ({view.year or '?'}) on {view.user}'s {view.type.value} list{progress}{rating}")


@app.command()
def add(
    ctx: typer.Context,
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    content_type: str = typer.Option(..., "--type", help=TYPE_HELP),
    tmdb: int | None = typer.Option(None, "--tmdb", help="TMDB id."),
    tvdb: int | None = typer.Option(None, "--tvdb", help="TheTVDB id (series and anime)."),
    list_type: str = typer.Option("watchlist", "--list", help=LIST_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Put a title on a list."""
    kind, ids = title_ids(parse_content(content_type), tmdb, tvdb)
    chosen = watchlists.parse_type(list_type)

    async def go(runtime: Runtime) -> WatchlistView:
        owner = await user_id_of(runtime, as_user)
        async with open_discovery(runtime) as discovery:
            view = await discovery.title(kind, ids)
        return await watchlists.add(runtime.database, owner, view.details.title, chosen)

    added = with_runtime(ctx, go)
    if as_json:
        emit_json(added.to_json())
        return
    _print(added, "added")


@app.command("list")
def list_(
    ctx: typer.Context,
    user: str = typer.Option(..., "--user", help="Whose list to show."),
    as_user: str | None = typer.Option(None, "--as", help="Who is looking (their privacy rights apply)."),
    list_type: str | None = typer.Option(None, "--list", help=LIST_HELP),
    limit: int = typer.Option(50, "--limit", help="1 to 100."),
    offset: int = typer.Option(0, "--offset", help="Entries to skip."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a user's list, most recently changed first."""
    chosen = _list_type(list_type)

    async def go(runtime: Runtime) -> list[WatchlistView]:
        owner = await user_id_of(runtime, user)
        reader = await user_id_of(runtime, as_user) if as_user else OPERATOR
        return await watchlists.entries(
            runtime.database, owner_id=owner, reader=reader, kind=chosen, limit=limit, offset=offset
        )

    found = with_runtime(ctx, go)
    if as_json:
        emit_json([view.to_json() for view in found])
        return
    table = Table("list", "type", "title", "year", "progress", "rating", "review")
    for view in found:
        progress = f"S{view.season or 0}E{view.episode or 0}" if view.season or view.episode else ""
        table.add_row(
            view.type.value,
            view.content_type.value,
            view.title,
            str(view.year or ""),
            progress,
            f"{view.rating}/10" if view.rating else "",
            (view.review or "")[:60],
        )
    Console().print(table)


@app.command("set")
def set_(
    ctx: typer.Context,
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    content_type: str = typer.Option(..., "--type", help=TYPE_HELP),
    tmdb: int | None = typer.Option(None, "--tmdb", help="TMDB id."),
    tvdb: int | None = typer.Option(None, "--tvdb", help="TheTVDB id."),
    list_type: str | None = typer.Option(None, "--list", help=f"Move it to: {LIST_HELP}."),
    season: int | None = typer.Option(None, "--season", help="Season reached."),
    episode: int | None = typer.Option(None, "--episode", help="Episode reached."),
    rating: int | None = typer.Option(None, "--rating", help="1 to 10."),
    review: str | None = typer.Option(None, "--review", help="Up to 4000 characters."),
    clear_rating: bool = typer.Option(False, "--clear-rating", help="Remove the rating."),
    clear_review: bool = typer.Option(False, "--clear-review", help="Remove the review."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Change a title's list, progress, rating or review."""
    kind, ids = title_ids(parse_content(content_type), tmdb, tvdb)
    if clear_rating and rating is not None:
        raise InvalidInput("give --rating or --clear-rating, not both")
    if clear_review and review is not None:
        raise InvalidInput("give --review or --clear-review, not both")
    changes = (list_type, season, episode, rating, review)
    if all(value is None for value in changes) and not (clear_rating or clear_review):
        raise InvalidInput("nothing to change: give --list, --season, --episode, --rating or --review")
    chosen = _list_type(list_type)

    async def go(runtime: Runtime) -> WatchlistView:
        owner = await user_id_of(runtime, as_user)
        return await watchlists.update(
            runtime.database,
            owner,
            kind,
            tmdb_id=ids.tmdb_id,
            tvdb_id=ids.tvdb_id,
            kind=chosen,
            season=season,
            episode=episode,
            rating=CLEAR if clear_rating else rating,
            review=CLEAR if clear_review else review,
        )

    changed = with_runtime(ctx, go)
    if as_json:
        emit_json(changed.to_json())
        return
    _print(changed, "updated")


@app.command()
def remove(
    ctx: typer.Context,
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    content_type: str = typer.Option(..., "--type", help=TYPE_HELP),
    tmdb: int | None = typer.Option(None, "--tmdb", help="TMDB id."),
    tvdb: int | None = typer.Option(None, "--tvdb", help="TheTVDB id."),
) -> None:
    """Take a title off the list."""
    kind, ids = title_ids(parse_content(content_type), tmdb, tvdb)

    async def go(runtime: Runtime) -> str:
        owner = await user_id_of(runtime, as_user)
        return await watchlists.remove(runtime.database, owner, kind, tmdb_id=ids.tmdb_id, tvdb_id=ids.tvdb_id)

    title = with_runtime(ctx, go)
    typer.echo(f"removed {title} from {as_user.strip()}'s list")
