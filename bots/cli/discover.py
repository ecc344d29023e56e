"""`idkarr discover`, `idkarr search`, `idkarr title`: discovery from the shell, as a table or stable JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table

from bots.cli.common import emit_json, run, settings_of
from core.enums import DiscoveryKind
from core.errors import InvalidInput, NotFound
from core.metadata.provider import ExternalIds
from core.metadata.query import parse_content_type, parse_title_id
from core.metadata.types import ContentFilter, DiscoverQuery
from core.runtime import open_runtime
from core.services.discovery import DiscoveryItem, DiscoveryPage, DiscoveryService, TitleView
from core.services.discovery_setup import open_discovery

T = TypeVar("T")
CONTENT_HELP = "movie, series, anime or all"


def parse_content(value: str) -> ContentFilter:
    return None if value.strip().lower() == "all" else parse_content_type(value)


_RELATED = (DiscoveryKind.SIMILAR, DiscoveryKind.RECOMMENDED)


def parse_kind(value: str) -> DiscoveryKind:
    try:
        return DiscoveryKind(value.strip().lower().replace("_", "-"))
    except ValueError:
        choices = "trending, popular, upcoming, top-rated, airing-today, on-the-air, similar, recommended"
        raise InvalidInput(f"{value!r} is not a discovery list; choose {choices}") from None


async def _related(
    discovery: DiscoveryService, kind: DiscoveryKind, content: ContentFilter, title_id: str, page: int, size: int
) -> DiscoveryPage:
    """Titles similar to (or recommended after) one title, named by id; without --content, by what the id is."""
    if content is not None:
        ids = parse_title_id(content, title_id)
        return await discovery.related(kind, content, ids, page=page, page_size=size)
    found = await discovery.search(title_id if ":" in title_id else f"tmdb:{title_id}")
    if not found.items:
        raise NotFound("there is no title with {id}", code="title.cli_unknown", id=title_id[:40])
    title = found.items[0].title
    ids = ExternalIds(tmdb_id=title.tmdb_id, tvdb_id=title.tvdb_id, imdb_id=title.imdb_id)
    return await discovery.related(kind, title.type, ids, page=page, page_size=size)


def _with_discovery(ctx: typer.Context, action: Callable[[DiscoveryService], Awaitable[T]]) -> T:
    settings = settings_of(ctx)

    async def go() -> T:
        async with open_runtime(settings) as runtime, open_discovery(runtime) as discovery:
            return await action(discovery)

    return run(go())


def _badge(item: DiscoveryItem) -> str:
    if item.request_status is not None:
        return f"requested ({item.request_status.value})"
    return "in library" if item.exists_in_library else ""


def _print_page(result: DiscoveryPage, as_json: bool) -> None:
    if as_json:
        emit_json(result.to_json())
        return
    table = Table("id", "type", "title", "year", "rating", "", title=f"page {result.page} of {result.total_pages}")
    for item in result.items:
        t = item.title
        rating = f"{t.rating:.1f}" if t.rating is not None else ""
        table.add_row(item.to_json()["id"], t.type.value, t.title, str(t.year or ""), rating, _badge(item))
    Console().print(table)
    if result.stale:
        typer.echo("(the source can't be reached right now: these are cached results)", err=True)
    if not result.items:
        typer.echo("nothing found", err=True)


def discover(
    ctx: typer.Context,
    kind: str = typer.Argument(
        ..., help="trending, popular, upcoming, top-rated, airing-today, on-the-air, similar or recommended"
    ),
    title_id: str | None = typer.Option(
        None, "--title", help="With similar or recommended: the title, as 603, tmdb:603, tvdb:81189 or imdb:tt0133093."
    ),
    content: str = typer.Option("all", "--content", help=CONTENT_HELP),
    page: int = typer.Option(1, "--page", help="Page number, from 1."),
    page_size: int = typer.Option(20, "--page-size", help="Titles per page, 1 to 50."),
    genre: str | None = typer.Option(None, "--genre", help="Only this genre, e.g. Drama."),
    year_from: int | None = typer.Option(None, "--year-from"),
    year_to: int | None = typer.Option(None, "--year-to"),
    language: str = typer.Option("en-US", "--language"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List what is trending, popular, upcoming, top rated or airing; or titles similar to or recommended
    after one (--title)."""
    parsed_kind, parsed_content = parse_kind(kind), parse_content(content)
    if parsed_kind in _RELATED:
        if title_id is None:
            raise InvalidInput(f"{parsed_kind.value} needs the title: --title tmdb:603 (or tvdb:ID, imdb:ttID)")
        chosen = title_id
        result = _with_discovery(ctx, lambda d: _related(d, parsed_kind, parsed_content, chosen, page, page_size))
        _print_page(result, as_json)
        return
    if title_id is not None:
        raise InvalidInput(f"--title goes with similar or recommended, not {parsed_kind.value}")
    query = DiscoverQuery(language=language, genre=genre, year_from=year_from, year_to=year_to)
    result = _with_discovery(
        ctx, lambda d: d.discover(parsed_kind, parsed_content, page=page, page_size=page_size, query=query)
    )
    _print_page(result, as_json)


def search(
    ctx: typer.Context,
    term: str = typer.Argument(..., help="Title words, or tmdb:550, tvdb:81189, imdb:tt0137523; add year:1999."),
    content: str = typer.Option("all", "--content", help=CONTENT_HELP),
    page: int = typer.Option(1, "--page"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search for a movie, series or anime."""
    parsed_content = parse_content(content)
    result = _with_discovery(ctx, lambda d: d.search(term, parsed_content, page=page))
    _print_page(result, as_json)


def title(
    ctx: typer.Context,
    content_type: str = typer.Argument(..., metavar="TYPE", help="movie, series or anime"),
    title_id: str = typer.Argument(..., metavar="ID", help="603, tmdb:603, tvdb:81189 or imdb:tt0133093"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one title with its seasons."""
    parsed_type = parse_content(content_type)
    if parsed_type is None:
        raise InvalidInput("say which: movie, series or anime")
    ids = parse_title_id(parsed_type, title_id)
    view: TitleView = _with_discovery(ctx, lambda d: d.title(parsed_type, ids))
    if as_json:
        emit_json(view.to_json())
        return
    t = view.item.title
    typer.echo(f"{t.title} ({t.year or '?'}) · {t.type.value} · {view.item.to_json()['id']}")
    if t.genres:
        typer.echo(", ".join(t.genres))
    if t.overview:
        typer.echo(t.overview)
    badge = _badge(view.item)
    if badge:
        typer.echo(badge)
    for season in view.details.seasons:
        typer.echo(f"  season {season.season_number}: {season.episode_count} episodes")
