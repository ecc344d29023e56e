"""What every command and button handler is given, and the small helpers they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bots.conversation.catalog import Messages
from bots.conversation.questions import Place, Questions
from bots.conversation.registry import Arguments
from bots.conversation.replies import Button, Card, Reply
from bots.conversation.tokens import ButtonMaker
from core.enums import ContentType
from core.metadata.query import parse_content_type
from core.metadata.types import Title
from core.runtime import Runtime
from core.services import requests
from core.services.discovery import DiscoveryItem, DiscoveryService
from core.services.requests import Abilities

__all__ = [
    "CONTENT_ALIASES",
    "Actor",
    "Context",
    "Handler",
    "content_type",
    "link",
    "reference",
    "title_args",
    "title_card",
]


@dataclass(frozen=True)
class Actor:
    """The idkarr user behind a message, already identified by the front end or the conversation."""

    user_id: int
    username: str
    language: str = "en"


@dataclass
class Context:
    runtime: Runtime
    discovery: DiscoveryService
    actor: Actor
    place: Place
    t: Messages
    buttons: ButtonMaker
    questions: Questions
    _abilities: Abilities | None = None

    async def abilities(self) -> Abilities:
        """What the actor may do, read once per reply: which buttons to draw."""
        if self._abilities is None:
            self._abilities = await requests.abilities(self.runtime.database, self.actor.user_id)
        return self._abilities


Handler = Callable[[Context, Arguments], Awaitable[Reply]]


# Words people use in chat for the three content types.
CONTENT_ALIASES = {
    "movies": "movie",
    "film": "movie",
    "films": "movie",
    "tv": "series",
    "show": "series",
    "shows": "series",
}


def content_type(value: str) -> ContentType:
    word = value.strip().lower()
    return parse_content_type(CONTENT_ALIASES.get(word, word))


def title_args(title: Title) -> dict[str, Any]:
    return {"type": title.type.value, "tmdb": title.tmdb_id, "tvdb": title.tvdb_id}


def reference(title: Title) -> str:
    """The id a person can type to name this title: TheTVDB's for shows (Sonarr's numbering), else TMDB's."""
    if title.type != ContentType.MOVIE and title.tvdb_id is not None:
        return f"tvdb:{title.tvdb_id}"
    if title.tmdb_id is not None:
        return f"tmdb:{title.tmdb_id}"
    return f"imdb:{title.imdb_id}" if title.imdb_id else ""


def link(title: Title) -> str | None:
    """The title's page: TMDB's when it has a TMDB id, else TheTVDB's."""
    if title.tmdb_id is not None:
        kind = "movie" if title.type == ContentType.MOVIE else "tv"
        return f"https://www.themoviedb.org/{kind}/{title.tmdb_id}"
    if title.tvdb_id is not None:
        return f"https://thetvdb.com/dereferrer/series/{title.tvdb_id}"
    return None


async def title_card(ctx: Context, item: DiscoveryItem, wanted: int) -> Card:
    t, title = ctx.t, item.title
    subtitle = t("card.subtitle", year=title.year or "?", content_type=t(f"content.{title.type.value}"))
    if title.rating:
        subtitle += " · " + t("card.rating", rating=f"{title.rating:.1f}")
    badges: list[str] = []
    status = item.request_status.value if item.request_status else None
    if status == "available":
        badges.append(t("badge.available"))
    elif item.exists_in_library:
        badges.append(t("badge.in_library"))
    elif status in ("pending", "approved", "partial"):
        badges.append(t(f"status.{status}"))
    if wanted and status in ("pending", "approved", "partial"):
        badges.append(t("badge.requested_by", count=wanted))
    buttons: list[Button] = []
    if status != "available" and title.type in (await ctx.abilities()).request:
        buttons.append(ctx.buttons.make(t("button.request"), "request.pick", "primary", **title_args(title)))
    buttons.append(ctx.buttons.make(t("button.watchlist"), "watchlist.add", **title_args(title)))
    buttons.append(ctx.buttons.make(t("button.similar"), "discover.similar", **title_args(title)))
    return Card(
        title=title.title,
        subtitle=subtitle,
        overview=title.overview,
        poster=title.poster,
        badges=tuple(badges),
        buttons=tuple(buttons),
        reference=reference(title),
        link=link(title),
    )
