"""The person's own things: watchlist, activity, quota, settings."""

from __future__ import annotations

from typing import Any

from bots.conversation.catalog import ENGLISH, Messages, languages
from bots.conversation.context import CONTENT_ALIASES, Context, content_type
from bots.conversation.registry import Arguments
from bots.conversation.replies import Reply
from bots.conversation.titles import details_of, find_title, offer
from core.enums import ActivityType, ContentType, WatchlistType, parse_choice
from core.errors import InvalidInput
from core.metadata.provider import ExternalIds
from core.services import activity as activity_feed
from core.services import requests, users, watchlists
from core.services.outbox import SETTING_FOR_EVENT
from core.services.watchlists import CLEAR, WatchlistView

__all__ = ["ACTIONS", "SETTINGS", "WATCHLIST_ACTIONS", "activity", "parse_watchlist", "quota", "settings", "watchlist"]

# The words people type for the notifications they may switch off, and the setting each switches (the
# outbox's own table: partial arrivals follow "available", expiry follows "denied").
_EVENTS = {word: SETTING_FOR_EVENT[f"request_{word}"] for word in ("approved", "denied", "available", "failed")}
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


WATCHLIST_ACTIONS = ("list", "add", "set", "remove")
_CHANGES = ("progress", "rating", "review")


def parse_watchlist(line: str) -> dict[str, str]:
    """`/watchlist [list [NAME] | add [TYPE] TITLE [LIST] | remove [TYPE] TITLE | set [TYPE] TITLE CHANGE]`,
    where CHANGE is a list name, `progress SEASON EPISODE`, `rating 1-10|clear` or `review TEXT|clear`."""
    words = line.split()
    if not words:
        return {}
    action = words[0].lower()
    if action not in WATCHLIST_ACTIONS:
        raise InvalidInput("{value!r} is not list, add, set or remove", code="watchlist.action", value=words[0][:40])
    found: dict[str, str] = {"action": action}
    rest = words[1:]
    if action == "list":
        if len(rest) > 1:
            raise InvalidInput("/watchlist list takes one name", code="watchlist.list_usage")
        if rest:
            found["user"] = rest[0].lstrip("@")
        return found
    if len(rest) > 1 and rest[0].lower() in (*ContentType, *CONTENT_ALIASES):
        found["type"] = rest.pop(0)
    lists = {kind.value for kind in WatchlistType}
    if action == "set":
        at = next((i for i, word in enumerate(rest) if i > 0 and word.lower() in _CHANGES), None)
        if at is not None:
            change, values = rest[at].lower(), rest[at + 1 :]
            rest = rest[:at]
            if change == "progress":
                if len(values) != 2:
                    raise InvalidInput(
                        "progress is a season and an episode, like: progress 2 5", code="watchlist.progress_usage"
                    )
                found["season"], found["episode"] = values
            else:
                found[change] = " ".join(values)
        elif len(rest) > 1 and rest[-1].lower() in lists:
            found["list"] = rest.pop()
    elif action == "add" and len(rest) > 1 and rest[-1].lower() in lists:
        found["list"] = rest.pop()
    if rest:
        found["title"] = " ".join(rest)
    return found


async def watchlist(ctx: Context, args: Arguments) -> Reply:
    action = args.text("action") or "list"
    if action == "list":
        return await _show(ctx, ctx.actor.user_id, (args.text("user") or "").lstrip("@"))
    text = args.text("title")
    if text is None:
        return Reply(text=ctx.t("input.missing", command="/watchlist", usage=ctx.t("watchlist.usage")), error=True)
    word = args.text("type")
    chosen = args.text("list")
    found = await find_title(ctx, content_type(word) if word else None, text)
    if found.title is None:
        if action != "add":
            return Reply(text=ctx.t("watchlist.ambiguous", term=text[:60]), error=True)
        return offer(ctx, text, found.candidates, "watchlist.add", list=chosen)
    title = found.title
    database, user_id = ctx.runtime.database, ctx.actor.user_id
    if action == "add":
        return await add_button(ctx, type=title.type.value, tmdb=title.tmdb_id, tvdb=title.tvdb_id, list=chosen)
    if action == "remove":
        name = await watchlists.remove(database, user_id, title.type, tmdb_id=title.tmdb_id, tvdb_id=title.tvdb_id)
        return Reply(text=ctx.t("watchlist.removed", title=name))
    changes = _changes(args)
    view = await watchlists.update(
        database, user_id, title.type, tmdb_id=title.tmdb_id, tvdb_id=title.tvdb_id, **changes
    )
    return Reply(
        text=ctx.t(
            "watchlist.updated",
            title=view.title,
            list=ctx.t(f"list.{view.type.value}"),
            progress=_progress(ctx, view),
            rating=_rating(ctx, view),
        )
    )


def _changes(args: Arguments) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if (chosen := args.text("list")) is not None:
        changes["kind"] = watchlists.parse_type(chosen)
    if (rating := args.text("rating")) is not None:
        if rating.lower() in ("none", "clear"):
            changes["rating"] = CLEAR
        elif rating.isdigit() and len(rating) <= 2:
            changes["rating"] = int(rating)
        else:
            raise InvalidInput("a rating is a whole number from 1 to 10", code="watchlist.rating")
    season, episode = args.integer("season"), args.integer("episode")
    if (season is None) != (episode is None):
        raise InvalidInput("progress is a season and an episode, like: progress 2 5", code="watchlist.progress_usage")
    if season is not None:
        changes["season"], changes["episode"] = season, episode
    if (review := args.text("review")) is not None:
        changes["review"] = CLEAR if review.lower() == "clear" else review
    if not changes:
        raise InvalidInput(
            "say what to change: a list name, progress SEASON EPISODE, rating 1-10 or review TEXT",
            code="watchlist.set_usage",
        )
    return changes


async def _show(ctx: Context, reader_id: int, owner_name: str) -> Reply:
    """Your own list, or (`/watchlist list NAME`) someone else's as their privacy settings allow."""
    owner_id = reader_id
    if owner_name:
        owner_id = (await users.find_user(ctx.runtime.database, owner_name)).id
    found = await watchlists.entries(ctx.runtime.database, owner_id=owner_id, reader=reader_id, limit=20)
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


async def add_button(ctx: Context, *, type: str, tmdb: int | None, tvdb: int | None, list: str | None = None) -> Reply:
    kind = watchlists.parse_type(list) if list else WatchlistType.WATCHLIST
    title = (await details_of(ctx, ContentType(type), ExternalIds(tmdb_id=tmdb, tvdb_id=tvdb))).title
    view = await watchlists.add(ctx.runtime.database, ctx.actor.user_id, title, kind)
    return Reply(text=ctx.t("watchlist.added", title=view.title, list=ctx.t(f"list.{view.type.value}")))


def activity_name(ctx: Context, kind: ActivityType) -> str:
    """An activity type as people read it: "request approved", not "request_approved"."""
    key = f"activity.type.{kind.value}"
    return ctx.t(key) if key in ENGLISH else kind.value.replace("_", " ")


def _what(ctx: Context, entry: activity_feed.ActivityEntry) -> str:
    # Linking a chat account is recorded as joining (the seed's type); said as what it was.
    linked = entry.details.get("linked") if entry.type == ActivityType.USER_JOINED else None
    if isinstance(linked, str):
        return ctx.t("activity.linked", platform=linked.capitalize())
    return activity_name(ctx, entry.type)


async def activity(ctx: Context, args: Arguments) -> Reply:
    word = args.text("type")
    types = [parse_choice(ActivityType, word.replace(" ", "_"), "an activity type")] if word else None
    entries = await activity_feed.feed(ctx.runtime.database, reader=ctx.actor.user_id, types=types, limit=10)
    if not entries:
        return Reply(text=ctx.t("activity.none"))
    lines = [
        ctx.t(
            "activity.line",
            when=f"{entry.created_at:%Y-%m-%d %H:%M}",
            type=_what(ctx, entry),
            who=entry.user or "idkarr",
            title=f": {entry.title}" if entry.title else "",
        )
        for entry in entries
    ]
    return Reply(text="\n".join([ctx.t("activity.title"), *lines]), private=True)


async def quota(ctx: Context, args: Arguments) -> Reply:
    allowance = await requests.allowance(ctx.runtime.database, ctx.actor.user_id, ctx.runtime.settings.requests)
    if allowance.exempt:
        return Reply(text="\n".join([ctx.t("quota.title"), ctx.t("quota.exempt")]), private=True)
    allowed = (await ctx.abilities()).request
    if not allowed:
        return Reply(text="\n".join([ctx.t("quota.title"), ctx.t("quota.may_not_request")]), private=True)
    lines = [ctx.t("quota.title")]
    if allowance.open_limit is None:
        lines.append(ctx.t("quota.open_unlimited", count=allowance.open_requests))
    else:
        lines.append(ctx.t("quota.open", count=allowance.open_requests, limit=allowance.open_limit))
    for kind, (used, limit, days, unit) in allowance.quotas.items():
        name = ctx.t(f"content.{kind.value}")
        if kind not in allowed:
            lines.append(ctx.t("quota.not_allowed", content=name))
        elif limit is None:
            lines.append(ctx.t("quota.unlimited", content=name))
        else:
            lines.append(ctx.t(f"quota.line_{unit}", content=name, used=used, limit=limit, days=days))
    return Reply(text="\n".join(lines), private=True)


SETTINGS = ("language", "notify", "show")


async def settings(ctx: Context, args: Arguments) -> Reply:
    setting, name, state = args.text("setting"), (args.text("name") or "").lower(), args.text("state")
    database, user_id = ctx.runtime.database, ctx.actor.user_id
    t = ctx.t
    if setting is None:
        prefs = await users.update_preferences(database, user_id)
    elif setting == "language" and name and state is None:
        if name.split("-")[0] not in languages():
            known = ", ".join(languages())
            return Reply(text=t("settings.unknown_language", language=name[:10], languages=known), error=True)
        prefs = await users.update_preferences(database, user_id, language=name)
        t = Messages(prefs.language)  # confirmed in the language just chosen
    elif setting == "notify" and name in _EVENTS and state is not None:
        prefs = await users.update_preferences(database, user_id, notifications={_EVENTS[name]: state == "on"})
    elif setting == "show" and name in _SHOWN and state is not None:
        prefs = await users.update_preferences(database, user_id, privacy={_SHOWN[name]: state == "on"})
    else:
        return Reply(text=t("input.missing", command="/settings", usage=t("settings.usage")), error=True)
    lines = [t("settings.saved")] if setting else [t("settings.title")]
    lines.append(t("settings.language", language=prefs.language, languages=", ".join(languages())))
    for event, key in _EVENTS.items():
        shown = t("settings.on") if prefs.notifications[key] else t("settings.off")
        lines.append(t("settings.notify", event=t(f"settings.event.{event}"), state=shown))
    for what, key in _SHOWN.items():
        shown = t("settings.on") if prefs.privacy[key] else t("settings.off")
        lines.append(t(f"settings.show_{what}", state=shown))
    return Reply(text="\n".join(lines), private=True)


ACTIONS: dict[str, Any] = {"watchlist.add": add_button}
