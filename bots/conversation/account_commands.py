"""The person's own things: watchlist, activity, quota, settings."""

from __future__ import annotations

from typing import Any

from bots.conversation.catalog import languages
from bots.conversation.context import Context, content_type
from bots.conversation.replies import Reply
from core.enums import ActivityType, ContentType, WatchlistType, parse_choice
from core.errors import InvalidInput
from core.metadata.provider import ExternalIds
from core.metadata.query import parse_title_id
from core.services import activity as activity_feed
from core.services import requests, users, watchlists
from core.services.watchlists import CLEAR, WatchlistView

__all__ = ["ACTIONS", "activity", "quota", "settings", "watchlist"]

_EVENTS = {
    "approved": "onRequestApproved",
    "denied": "onRequestDenied",
    "available": "onRequestAvailable",
    "failed": "onDownloadFailed",
}
# What others may see of you: your watchlist, what you watched, your requests.
_SHOWN = {
    "watchlist": "showWatchlist",
    "watched": "showWatchHistory",
    "requests": "showRequestHistory",
}


def _progress(ctx: Context, view: WatchlistView) -> str:
    if not (view.season or view.episode):
        return ""
    return ctx.t("watchlist.progress", season=view.season or 0, episode=view.episode or 0)


def _rating(ctx: Context, view: WatchlistView) -> str:
    return ctx.t("watchlist.rating", rating=view.rating) if view.rating else ""


async def watchlist(ctx: Context, args: str) -> Reply:
    verb, _, rest = args.strip().partition(" ")
    verb = verb.lower()
    if verb in ("", "list"):
        return await _show(ctx, ctx.actor.user_id, rest.strip().lstrip("@") if verb == "list" else "")
    words = rest.split(maxsplit=2)
    if len(words) < 2 or verb not in ("add", "set", "remove"):
        return Reply(text=ctx.t("input.missing", command="/watchlist", usage=ctx.t("watchlist.usage")), error=True)
    kind = content_type(words[0])
    ids = parse_title_id(kind, words[1])
    more = words[2] if len(words) > 2 else ""
    database, user_id = ctx.runtime.database, ctx.actor.user_id
    if verb == "add":
        chosen = watchlists.parse_type(more) if more else WatchlistType.WATCHLIST
        title = (await ctx.discovery.title(kind, ids)).details.title
        view = await watchlists.add(database, user_id, title, chosen)
        return Reply(text=ctx.t("watchlist.added", title=view.title, list=ctx.t(f"list.{view.type.value}")))
    if verb == "remove":
        title_name = await watchlists.remove(database, user_id, kind, tmdb_id=ids.tmdb_id, tvdb_id=ids.tvdb_id)
        return Reply(text=ctx.t("watchlist.removed", title=title_name))
    changes = _changes(ctx, more)
    view = await watchlists.update(database, user_id, kind, tmdb_id=ids.tmdb_id, tvdb_id=ids.tvdb_id, **changes)
    return Reply(
        text=ctx.t(
            "watchlist.updated",
            title=view.title,
            list=ctx.t(f"list.{view.type.value}"),
            progress=_progress(ctx, view),
            rating=_rating(ctx, view),
        )
    )


def _changes(ctx: Context, text: str) -> dict[str, Any]:
    field, _, value = text.strip().partition(" ")
    field = field.lower()
    if field == "rating":
        if value.strip().lower() in ("none", "clear"):
            return {"rating": CLEAR}
        if not value.strip().isdigit():
            raise InvalidInput("a rating is a whole number from 1 to 10", code="watchlist.rating")
        return {"rating": int(value)}
    if field == "progress":
        numbers = value.split()
        if len(numbers) != 2 or not all(n.isdigit() and len(n) <= 5 for n in numbers):
            raise InvalidInput(
                "progress is a season and an episode, like: progress 2 5", code="watchlist.progress_usage"
            )
        return {"season": int(numbers[0]), "episode": int(numbers[1])}
    if field == "review":
        return {"review": CLEAR if value.strip().lower() == "clear" else value}
    if field:
        return {"kind": watchlists.parse_type(field)}
    raise InvalidInput(ctx.t("watchlist.usage"))


async def _show(ctx: Context, reader_id: int, owner_name: str) -> Reply:
    """Your own list, or (`/watchlist list NAME`) someone else's as their privacy settings allow."""
    owner_id = reader_id
    if owner_name:
        owner_id = (await users.find_user(ctx.runtime.database, owner_name)).id
    found = await watchlists.entries(ctx.runtime.database, owner_id=owner_id, reader_id=reader_id, limit=20)
    own = owner_id == reader_id
    if not found:
        return Reply(text=ctx.t("watchlist.empty") if own else ctx.t("watchlist.empty_other", name=owner_name))
    lines = [
        ctx.t(
            "watchlist.line",
            list=view.type.value,
            title=view.title,
            year=view.year or "?",
            progress=_progress(ctx, view),
            rating=_rating(ctx, view),
        )
        for view in found
    ]
    heading = ctx.t("watchlist.title") if own else ctx.t("watchlist.title_other", name=owner_name)
    return Reply(text="\n".join([heading, *lines]))


async def add_button(ctx: Context, *, type: str, tmdb: int | None, tvdb: int | None) -> Reply:
    title = (await ctx.discovery.title(ContentType(type), ExternalIds(tmdb_id=tmdb, tvdb_id=tvdb))).details.title
    view = await watchlists.add(ctx.runtime.database, ctx.actor.user_id, title)
    return Reply(text=ctx.t("watchlist.added", title=view.title, list=ctx.t(f"list.{view.type.value}")))


async def activity(ctx: Context, args: str) -> Reply:
    word = args.strip().lower()
    types = [parse_choice(ActivityType, word, "an activity type")] if word else None
    entries = await activity_feed.feed(ctx.runtime.database, reader_id=ctx.actor.user_id, types=types, limit=10)
    if not entries:
        return Reply(text=ctx.t("activity.none"))
    lines = [
        ctx.t(
            "activity.line",
            when=f"{entry.created_at:%Y-%m-%d %H:%M}",
            type=entry.type.value,
            who=entry.user or "idkarr",
            title=f": {entry.title}" if entry.title else "",
        )
        for entry in entries
    ]
    return Reply(text="\n".join([ctx.t("activity.title"), *lines]))


async def quota(ctx: Context, args: str) -> Reply:
    allowance = await requests.allowance(ctx.runtime.database, ctx.actor.user_id, ctx.runtime.settings.requests)
    if allowance.exempt:
        return Reply(text="\n".join([ctx.t("quota.title"), ctx.t("quota.exempt")]))
    lines = [ctx.t("quota.title")]
    if allowance.open_limit is None:
        lines.append(ctx.t("quota.open_unlimited", count=allowance.open_requests))
    else:
        lines.append(ctx.t("quota.open", count=allowance.open_requests, limit=allowance.open_limit))
    for kind, (used, limit, days, unit) in allowance.quotas.items():
        name = ctx.t(f"content.{kind.value}")
        if limit is None:
            lines.append(ctx.t("quota.unlimited", content=name))
        else:
            lines.append(ctx.t("quota.line", content=name, used=used, limit=limit, unit=unit, days=days))
    return Reply(text="\n".join(lines))


async def settings(ctx: Context, args: str) -> Reply:
    words = args.lower().split()
    database, user_id = ctx.runtime.database, ctx.actor.user_id
    if not words:
        prefs = await users.update_preferences(database, user_id)
    elif words[0] == "language" and len(words) == 2:
        if words[1].split("-")[0] not in languages():
            known = ", ".join(languages())
            return Reply(text=ctx.t("settings.unknown_language", language=words[1][:10], languages=known), error=True)
        prefs = await users.update_preferences(database, user_id, language=words[1])
    elif words[0] == "notify" and len(words) == 3 and words[1] in _EVENTS and words[2] in ("on", "off"):
        prefs = await users.update_preferences(database, user_id, notifications={_EVENTS[words[1]]: words[2] == "on"})
    elif words[0] == "show" and len(words) == 3 and words[1] in _SHOWN and words[2] in ("on", "off"):
        prefs = await users.update_preferences(database, user_id, privacy={_SHOWN[words[1]]: words[2] == "on"})
    else:
        return Reply(text=ctx.t("input.missing", command="/settings", usage=ctx.t("settings.usage")), error=True)
    lines = [ctx.t("settings.saved")] if words else [ctx.t("settings.title")]
    lines.append(ctx.t("settings.language", language=prefs.language, languages=", ".join(languages())))
    for event, key in _EVENTS.items():
        state = ctx.t("settings.on") if prefs.notifications[key] else ctx.t("settings.off")
        lines.append(ctx.t("settings.notify", event=event, state=state))
    for what, key in _SHOWN.items():
        state = ctx.t("settings.on") if prefs.privacy[key] else ctx.t("settings.off")
        lines.append(ctx.t(f"settings.show_{what}", state=state))
    return Reply(text="\n".join(lines))


ACTIONS: dict[str, Any] = {"watchlist.add": add_button}
