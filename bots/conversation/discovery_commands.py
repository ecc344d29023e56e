"""/search and /discover: cards with Request and watchlist buttons, a page at a time."""

from __future__ import annotations

from typing import Any

from bots.conversation.context import Context, content_type, title_card
from bots.conversation.replies import Button, Reply
from core.enums import DiscoveryKind
from core.services import requests
from core.services.discovery import DiscoveryPage

__all__ = ["discover", "discover_page", "search", "search_page"]

PAGE_SIZE = 5
MAX_TERM = 200


async def _cards(ctx: Context, page: DiscoveryPage, heading: str, more: dict[str, Any] | None) -> Reply:
    wanted = await requests.demand(ctx.runtime.database, [item.title for item in page.items])
    cards = tuple(title_card(ctx, item, wanted.get(item.title.key, 0)) for item in page.items)
    buttons: tuple[Button, ...] = ()
    if more is not None and page.page < page.total_pages:
        action = more.pop("action")
        buttons = (ctx.buttons.make(ctx.t("button.more"), action, page=page.page + 1, **more),)
    footer = ctx.t("page.footer", page=page.page, pages=max(1, page.total_pages))
    if page.stale:
        footer += " " + ctx.t("discovery.stale")
    return Reply(text=heading, cards=cards, buttons=buttons, footer=footer)


async def search(ctx: Context, args: str) -> Reply:
    term = " ".join(args.split())[:MAX_TERM]
    if not term:
        return Reply(text=ctx.t("input.missing", command="/search", usage="/search TITLE"), error=True)
    return await search_page(ctx, term=term, page=1)


async def search_page(ctx: Context, *, term: str, page: int) -> Reply:
    found = await ctx.discovery.search(term, page=page, page_size=PAGE_SIZE)
    if not found.items:
        return Reply(text=ctx.t("search.none", term=term))
    return await _cards(ctx, found, ctx.t("search.results", term=term), {"action": "search.page", "term": term})


async def discover(ctx: Context, args: str) -> Reply:
    words = args.lower().split()
    kind, content = DiscoveryKind.TRENDING, None
    for word in words[:2]:
        try:
            kind = DiscoveryKind(word)
            continue
        except ValueError:
            pass
        if word != "all":
            try:
                content = content_type(word)
            except Exception:
                return Reply(text=ctx.t("discover.unknown_kind", kind=word[:40]), error=True)
    return await discover_page(ctx, kind=kind.value, content=content.value if content else None, page=1)


async def discover_page(ctx: Context, *, kind: str, content: str | None, page: int) -> Reply:
    chosen = DiscoveryKind(kind)
    found = await ctx.discovery.discover(
        chosen, content_type(content) if content else None, page=page, page_size=PAGE_SIZE
    )
    heading = ctx.t(
        "discover.results",
        kind=chosen.value.replace("-", " ").capitalize(),
        content=ctx.t(f"content.{content}") if content else "",
    ).replace(" :", ":")
    return await _cards(ctx, found, heading, {"action": "discover.page", "kind": kind, "content": content})
