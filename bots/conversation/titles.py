"""Naming a title in chat: by id (`603`, `tmdb:603`, `tvdb:81189`, `imdb:tt0133093`) or by its name.

One clear match is the title; several are offered as a choice; none is said plainly. An id that names
nothing is "no such title", never an outage.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bots.conversation.context import Context, link, reference, title_args
from bots.conversation.replies import Card, Reply
from core.enums import ContentType
from core.errors import NotFound
from core.metadata.provider import ExternalIds
from core.metadata.query import parse_title_id
from core.metadata.types import Title, TitleDetails
from core.services.discovery import DiscoveryItem
from core.upstream_errors import UpstreamNotFound

__all__ = ["CHOICES", "Found", "details_of", "find_title", "is_id", "offer"]

CHOICES = 5
_ID = re.compile(r"^(?:(?:tmdb|tvdb):\d{1,9}|(?:imdb:)?tt\d{5,10})$", re.IGNORECASE)
_BARE = re.compile(r"^\d{1,9}$")


@dataclass(frozen=True)
class Found:
    """Either the one title meant, or the titles it might be."""

    title: Title | None
    candidates: tuple[DiscoveryItem, ...] = ()


def is_id(text: str, kind: ContentType | None) -> bool:
    """Whether `text` names a title by id: prefixed ids always, a bare number when the type is given."""
    word = text.strip()
    return bool(_ID.match(word)) or (kind is not None and bool(_BARE.match(word)))


def _normal(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split())


async def details_of(ctx: Context, kind: ContentType, ids: ExternalIds, *, typed: str | None = None) -> TitleDetails:
    """One title's details; an unknown id is a refusal naming the id as the person typed it."""
    try:
        return (await ctx.discovery.title(kind, ids)).details
    except UpstreamNotFound:
        if typed is not None and _BARE.match(typed.strip()):
            source = "TMDB" if ids.tmdb_id is not None else "TheTVDB"
            other = "tvdb" if ids.tmdb_id is not None else "tmdb"
            raise NotFound(
                "there is no {kind} with {source} id {id} (a bare number is read as {source}'s for a {kind};"
                " write {other}:{id} for the other)",
                code="title.unknown_bare",
                kind=kind.value,
                source=source,
                id=typed.strip(),
                other=other,
            ) from None
        raise NotFound(
            "there is no {kind} with {ids}", code="title.unknown", kind=kind.value, ids=ids.described()
        ) from None


async def find_title(ctx: Context, kind: ContentType | None, text: str) -> Found:
    term = " ".join(text.split())
    if kind is not None and is_id(term, kind):
        details = await details_of(ctx, kind, parse_title_id(kind, term), typed=term)
        return Found(details.title)
    page = await ctx.discovery.search(term, kind, page=1, page_size=CHOICES)
    items = page.items
    if not items:
        raise NotFound("nothing is called “{term}”", code="title.none", term=term[:100])
    if len(items) == 1 or is_id(term, kind):
        return Found(items[0].title)
    wanted = _normal(term)
    exact = [item for item in items if _normal(item.title.title) == wanted]
    if len(exact) == 1:
        return Found(exact[0].title)
    return Found(None, tuple(exact or items))


def offer(ctx: Context, term: str, candidates: tuple[DiscoveryItem, ...], action: str, **extra: Any) -> Reply:
    """ "Which one did you mean?": a card per candidate, each with one button doing `action` on it."""
    cards = []
    for item in candidates[:CHOICES]:
        title = item.title
        subtitle = ctx.t("card.subtitle", year=title.year or "?", content_type=ctx.t(f"content.{title.type.value}"))
        button = ctx.buttons.make(ctx.t("button.this_one"), action, "primary", **title_args(title), **extra)
        cards.append(
            Card(
                title=title.title,
                subtitle=subtitle,
                poster=title.poster,
                buttons=(button,),
                reference=reference(title),
                link=link(title),
            )
        )
    return Reply(text=ctx.t("title.which", term=term[:100]), cards=tuple(cards), private=True)
