"""What every command and button handler is given, and the small helpers they share."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bots.conversation.catalog import Messages
from bots.conversation.replies import OVERVIEW_LIMIT, Card, Reply, trim
from bots.conversation.tokens import ButtonMaker
from core.enums import ContentType
from core.metadata.query import parse_content_type
from core.runtime import Runtime
from core.services.discovery import DiscoveryItem, DiscoveryService

__all__ = ["Actor", "Context", "Handler", "Prompts", "content_type", "title_args", "title_card"]


@dataclass(frozen=True)
class Actor:
    """The idkarr user behind a message, already identified by the front end or the conversation."""

    user_id: int
    username: str
    language: str = "en"


class Prompts:
    """A question waiting for a person's next message (a denial's reason), kept in Redis for ten minutes so
    it survives a restart and works whichever process receives the answer."""

    TTL_SECONDS = 600

    def __init__(self, runtime: Runtime) -> None:
        self._redis = runtime.redis
        self._prefix = runtime.settings.redis.key_prefix

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}prompt:{user_id}"

    async def ask(self, user_id: int, action: str, **arguments: Any) -> None:
        await self._redis.set(self._key(user_id), json.dumps({"action": action, **arguments}), ex=self.TTL_SECONDS)

    async def take(self, user_id: int) -> dict[str, Any] | None:
        raw = await self._redis.getdel(self._key(user_id))
        return json.loads(raw) if raw else None


@dataclass
class Context:
    runtime: Runtime
    discovery: DiscoveryService
    actor: Actor
    t: Messages
    buttons: ButtonMaker
    prompts: Prompts


Handler = Callable[[Context, str], Awaitable[Reply]]


# Words people use in chat for the three content types.
_ALIASES = {"movies": "movie", "film": "movie", "films": "movie", "tv": "series", "show": "series", "shows": "series"}


def content_type(value: str) -> ContentType:
    word = value.strip().lower()
    return parse_content_type(_ALIASES.get(word, word))


def title_args(item: DiscoveryItem) -> dict[str, Any]:
    return {"type": item.title.type.value, "tmdb": item.title.tmdb_id, "tvdb": item.title.tvdb_id}


def title_card(ctx: Context, item: DiscoveryItem, wanted: int) -> Card:
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
    if wanted and status in ("pending", "approved", "partial"):
        badges.append(t("badge.requested_by", count=wanted))
    buttons = []
    if status != "available":
        buttons.append(ctx.buttons.make(t("button.request"), "request.pick", "primary", **title_args(item)))
    buttons.append(ctx.buttons.make(t("button.watchlist"), "watchlist.add", **title_args(item)))
    return Card(
        title=title.title,
        subtitle=subtitle,
        overview=trim(title.overview, OVERVIEW_LIMIT),
        poster=title.poster,
        badges=tuple(badges),
        buttons=tuple(buttons),
    )
