"""/search and /discover: cards with Request, watchlist and "More like this" buttons, a page at a time."""

from __future__ import annotations

from typing import Any

from bots.conversation.context import Context, content_type, reference, title_card
from bots.conversation.registry import Arguments
from bots.conversation.replies import Button, Choice, Reply
from bots.conversation.titles import find_title, offer
from core.enums import ContentType, DiscoveryKind
from core.metadata.provider import ExternalIds
from core.services import requests
from core.services.discovery import DiscoveryPage

__all__ = ["ACTIONS", "LISTS", "RELATED", "complete_titles", "discover", "search"]

PAGE_SIZE = 5
MAX_TERM = 200
RELATED = (DiscoveryKind.SIMILAR.value, DiscoveryKind.RECOMMENDED.value)
LISTS = tuple(kind.value for kind in DiscoveryKind if kind.value not in RELATED)


async def _cards(
    ctx: Context, page: DiscoveryPage, heading: str, more: dict[str, Any] | None, *, edit: bool = False
) -> Reply:
    wanted = await requests.demand(ctx.runtime.database, [item.title for item in page.items])
    cards = tuple([await title_card(ctx, item, wanted.get(item.title.key, 0)) for item in page.items])
    buttons: tuple[Button, ...] = ()
    if more is not None and page.page < page.total_pages:
        action = more.pop("action")
        buttons = (ctx.buttons.make(ctx.t("button.more"), action, page=page.page + 1, **more),)
    footer = ctx.t("page.footer", page=page.page, pages=max(1, page.total_pages))
    if page.stale:
        footer += " " + ctx.t("discovery.stale")
    return Reply(text=heading, cards=cards, buttons=buttons, footer=footer, edit=edit)


async def search(ctx: Context, args: Arguments) -> Reply:
    term = " ".join((args.text("query") or "").split())[:MAX_TERM]
    return await search_page(ctx, term=term, page=1, edit=False)


async def search_page(ctx: Context, *, term: str, page: int, edit: bool = True) -> Reply:
    found = await ctx.discovery.search(term, page=page, page_size=PAGE_SIZE)
    if not found.items:
        return Reply(text=ctx.t("search.none", term=term))
    more = {"action": "search.page", "term": term}
    return await _cards(ctx, found, ctx.t("search.results", term=term), more, edit=edit)


async def titles_page(ctx: Context, term: str, page: int, page_size: int) -> Reply:
    """Cards for a search, `page_size` at a time, with a More button when there are more."""
    term = " ".join(term.split())[:MAX_TERM]
    found = await ctx.discovery.search(term, page=page, page_size=page_size)
    return await _cards(ctx, found, "", {"action": "search.page", "term": term})


async def discover(ctx: Context, args: Arguments) -> Reply:
    kind = args.text("kind") or DiscoveryKind.TRENDING.value
    content = args.text("content")
    content = None if content in (None, "all") else content
    title = args.text("title")
    if kind in RELATED:
        if title is None:
            return Reply(text=ctx.t("discover.needs_title", kind=kind), error=True)
        found = await find_title(ctx, content_type(content) if content else None, title)
        if found.title is None:
            return offer(ctx, title, found.candidates, "discover.related", kind=kind)
        chosen = found.title
        return await related_page(
            ctx, kind=kind, type=chosen.type.value, tmdb=chosen.tmdb_id, tvdb=chosen.tvdb_id, page=1, edit=False
        )
    if title is not None:
        return Reply(text=ctx.t("discover.title_unused", kind=kind, title=title[:60]), error=True)
    return await discover_page(ctx, kind=kind, content=content, page=1, edit=False)


async def discover_page(ctx: Context, *, kind: str, content: str | None, page: int, edit: bool = True) -> Reply:
    chosen = DiscoveryKind(kind)
    found = await ctx.discovery.discover(
        chosen, content_type(content) if content else None, page=page, page_size=PAGE_SIZE
    )
    name = ctx.t(f"discover.kind.{chosen.value}")
    heading = ctx.t(f"discover.heading.{content}", kind=name) if content else ctx.t("discover.heading", kind=name)
    more = {"action": "discover.page", "kind": kind, "content": content}
    return await _cards(ctx, found, heading, more, edit=edit)


async def related_page(
    ctx: Context, *, kind: str, type: str, tmdb: int | None, tvdb: int | None, page: int = 1, edit: bool = True
) -> Reply:
    chosen, ids = DiscoveryKind(kind), ExternalIds(tmdb_id=tmdb, tvdb_id=tvdb)
    base = (await ctx.discovery.title(ContentType(type), ids)).details.title
    found = await ctx.discovery.related(chosen, ContentType(type), ids, page=page, page_size=PAGE_SIZE)
    if not found.items:
        return Reply(text=ctx.t("discover.related_none", title=base.title), edit=edit)
    heading = ctx.t(f"discover.{kind}_to", title=base.title)
    more = {"action": "discover.related", "kind": kind, "type": type, "tmdb": tmdb, "tvdb": tvdb}
    return await _cards(ctx, found, heading, more, edit=edit)


async def similar_button(ctx: Context, *, type: str, tmdb: int | None, tvdb: int | None) -> Reply:
    return await related_page(ctx, kind="similar", type=type, tmdb=tmdb, tvdb=tvdb, page=1, edit=False)


async def complete_titles(ctx: Context, partial: str, kind: str | None) -> list[Choice]:
    """Titles matching what the person has typed so far, from the shared cache (an id keeps its form)."""
    term = " ".join(partial.split())[:MAX_TERM]
    if len(term) < 2:
        return []
    page = await ctx.discovery.search(term, content_type(kind) if kind and kind != "all" else None, page=1)
    choices = []
    for item in page.items[:25]:
        title = item.title
        label = f"{title.title} ({title.year or '?'}, {ctx.t(f'content.{title.type.value}')})"
        choices.append(Choice(name=label, value=reference(title) or title.title))
    return choices


ACTIONS: dict[str, Any] = {
    "search.page": search_page,
    "discover.page": discover_page,
    "discover.related": related_page,
    "discover.similar": similar_button,
}
