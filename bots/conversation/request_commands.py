"""Requesting (with a season picker for shows), listing, approving, denying, cancelling, editing and retrying
requests."""

from __future__ import annotations

import shlex
from typing import Any

from bots.conversation.context import Context, content_type
from bots.conversation.replies import Button, Card, Reply
from core.enums import ContentType, RequestStatus
from core.errors import InvalidInput
from core.metadata.provider import ExternalIds
from core.metadata.query import parse_seasons, parse_title_id
from core.metadata.types import TitleDetails
from core.services import requests
from core.services.requests import CreateResult, RequestView

__all__ = ["ACTIONS", "approve", "cancel", "deny", "deny_reason", "edit", "list_", "request", "retry"]

# Discord shows at most 25 buttons on a message: "All seasons", 22 seasons and the two page buttons.
SEASONS_PER_PAGE = 22
LIST_PAGE = 5


def _seasons_text(ctx: Context, seasons: list[int] | None) -> str:
    if not seasons:
        return ctx.t("request.seasons_all")
    return ctx.t("request.seasons_some", seasons=", ".join(map(str, seasons)))


async def _details(ctx: Context, kind: str, tmdb: int | None, tvdb: int | None) -> TitleDetails:
    view = await ctx.discovery.title(ContentType(kind), ExternalIds(tmdb_id=tmdb, tvdb_id=tvdb))
    return view.details


def _created(ctx: Context, result: CreateResult) -> Reply:
    view = result.request
    values = {"title": view.title, "year": view.year or "?", "id": view.id}
    if result.outcome == "joined":
        if result.added_seasons:
            seasons = ", ".join(map(str, result.added_seasons))
            return Reply(text=ctx.t("request.joined_seasons", seasons=seasons, **values))
        return Reply(text=ctx.t("request.joined", **values))
    return Reply(text=ctx.t(f"request.{result.outcome}", **values))


async def _create(ctx: Context, details: TitleDetails, seasons: list[int] | None) -> Reply:
    result = await requests.create(
        ctx.runtime.database,
        details,
        actor_id=ctx.actor.user_id,
        seasons=seasons,
        settings=ctx.runtime.settings.requests,
    )
    return _created(ctx, result)


async def request(ctx: Context, args: str) -> Reply:
    """/request TYPE ID [SEASONS]: typed in full, it is its own confirmation."""
    parts = args.split(maxsplit=2)
    if len(parts) < 2:
        usage = "/request movie|series|anime ID [SEASONS]"
        return Reply(text=ctx.t("input.missing", command="/request", usage=usage), error=True)
    kind = content_type(parts[0])
    ids = parse_title_id(kind, parts[1])
    seasons = parse_seasons(parts[2]) if len(parts) > 2 else None
    details = (await ctx.discovery.title(kind, ids)).details
    return await _create(ctx, details, seasons)


async def pick(ctx: Context, *, type: str, tmdb: int | None, tvdb: int | None) -> Reply:
    details = await _details(ctx, type, tmdb, tvdb)
    if details.title.type == ContentType.MOVIE:
        return _confirm(ctx, details, type=type, tmdb=tmdb, tvdb=tvdb, seasons=None)
    return _picker(ctx, details, type=type, tmdb=tmdb, tvdb=tvdb, page=0)


async def seasons_page(ctx: Context, *, type: str, tmdb: int | None, tvdb: int | None, page: int) -> Reply:
    return _picker(ctx, await _details(ctx, type, tmdb, tvdb), type=type, tmdb=tmdb, tvdb=tvdb, page=page)


def _picker(ctx: Context, details: TitleDetails, *, page: int, **title: Any) -> Reply:
    numbers = [season.season_number for season in details.seasons]
    start = max(0, page) * SEASONS_PER_PAGE
    shown = numbers[start : start + SEASONS_PER_PAGE]
    make = ctx.buttons.make
    buttons: list[Button] = [make(ctx.t("button.all_seasons"), "request.confirm", "primary", seasons=None, **title)]
    for number in shown:
        label = ctx.t("button.specials") if number == 0 else ctx.t("button.season", number=number)
        buttons.append(make(label, "request.confirm", seasons=[number], **title))
    if start > 0:
        buttons.append(make(ctx.t("button.back"), "request.seasons", page=page - 1, **title))
    if start + SEASONS_PER_PAGE < len(numbers):
        buttons.append(make(ctx.t("button.more"), "request.seasons", page=page + 1, **title))
    pages = max(1, -(-len(numbers) // SEASONS_PER_PAGE))
    return Reply(
        text=ctx.t("request.pick_seasons", title=details.title.title),
        buttons=tuple(buttons),
        footer=ctx.t("page.footer", page=page + 1, pages=pages) if pages > 1 else "",
    )


async def confirm(ctx: Context, *, type: str, tmdb: int | None, tvdb: int | None, seasons: list[int] | None) -> Reply:
    details = await _details(ctx, type, tmdb, tvdb)
    return _confirm(ctx, details, seasons=seasons, type=type, tmdb=tmdb, tvdb=tvdb)


def _confirm(ctx: Context, details: TitleDetails, *, seasons: list[int] | None, **title: Any) -> Reply:
    values = {"title": details.title.title, "year": details.title.year or "?"}
    if details.title.type == ContentType.MOVIE:
        text = ctx.t("request.confirm_movie", **values)
    else:
        text = ctx.t("request.confirm_seasons", seasons=_seasons_text(ctx, seasons), **values)
    buttons = (
        ctx.buttons.make(ctx.t("button.confirm"), "request.create", "success", seasons=seasons, **title),
        ctx.buttons.make(ctx.t("button.cancel"), "choice.cancel"),
    )
    return Reply(text=text, buttons=buttons)


async def create(ctx: Context, *, type: str, tmdb: int | None, tvdb: int | None, seasons: list[int] | None) -> Reply:
    return await _create(ctx, await _details(ctx, type, tmdb, tvdb), seasons)


async def cancel_choice(ctx: Context) -> Reply:
    return Reply(text=ctx.t("request.cancelled_choice"))


# --- listing and deciding -------------------------------------------------------------------------------

_FILTERS = {"mine", "pending", "all"}


async def list_(ctx: Context, args: str) -> Reply:
    word = (args.split() or ["mine"])[0].lower()
    if word not in _FILTERS and word not in {status.value for status in RequestStatus}:
        return Reply(text=ctx.t("request.bad_filter", value=word[:40]), error=True)
    return await list_page(ctx, filter=word, offset=0)


async def list_page(ctx: Context, *, filter: str, offset: int) -> Reply:
    status = None if filter in _FILTERS - {"pending"} else RequestStatus(filter)
    user_id = ctx.actor.user_id if filter == "mine" else None
    found = await requests.list_requests(
        ctx.runtime.database,
        actor_id=ctx.actor.user_id,
        status=status,
        user_id=user_id,
        limit=LIST_PAGE + 1,
        offset=max(0, offset),
    )
    if not found:
        return Reply(text=ctx.t("request.list_none"))
    decides = await requests.may_decide(ctx.runtime.database, ctx.actor.user_id)
    cards = tuple(_request_card(ctx, view, decides=decides) for view in found[:LIST_PAGE])
    more: tuple[Button, ...] = ()
    if len(found) > LIST_PAGE:
        more = (ctx.buttons.make(ctx.t("button.more"), "requests.page", filter=filter, offset=offset + LIST_PAGE),)
    return Reply(text=ctx.t("request.list_title", filter=filter), cards=cards, buttons=more)


def _request_card(ctx: Context, view: RequestView, *, decides: bool) -> Card:
    t = ctx.t
    watchers = t("request.watchers", count=len(view.watchers)) if view.watchers else ""
    line = t(
        "request.line",
        id=view.id,
        status=t(f"status.{view.status.value}"),
        requested_by=view.requested_by,
        watchers=watchers,
    )
    if view.seasons:
        line += " · " + _seasons_text(ctx, view.seasons)
    if view.denial_reason:
        line += f" · {view.denial_reason}"
    buttons: list[Button] = []
    # Deciding buttons go to those who may decide; other moderators who see the list may press them too, and
    # every press checks the presser's permission again.
    if view.status == RequestStatus.PENDING:
        if decides:
            buttons.append(
                ctx.buttons.make(t("button.approve"), "request.approve", "success", open_to_moderators=True, id=view.id)
            )
            buttons.append(
                ctx.buttons.make(t("button.deny"), "request.deny", "danger", open_to_moderators=True, id=view.id)
            )
        if view.requested_by == ctx.actor.username:
            buttons.append(ctx.buttons.make(t("button.cancel_request"), "request.cancel", id=view.id))
    elif view.status == RequestStatus.FAILED and decides:
        buttons.append(ctx.buttons.make(t("button.retry"), "request.retry", open_to_moderators=True, id=view.id))
    return Card(title=f"{view.title} ({view.year or '?'})", subtitle=line, buttons=tuple(buttons))


def _request_id(ctx: Context, text: str) -> int:
    value = text.strip().lstrip("#")
    if not value.isdigit() or len(value) > 12:
        raise InvalidInput(ctx.t("request.bad_id", value=text[:20] or "nothing"))
    return int(value)


_PLACES = {"instance": "instance", "profile": "quality_profile", "folder": "root_folder"}


def _placement(ctx: Context, words: list[str]) -> requests.Placement:
    """`instance:NAME profile:NAME folder:PATH`, any of them, quoted when a name has spaces."""
    chosen: dict[str, str] = {}
    for word in words:
        key, colon, value = word.partition(":")
        if not colon or key.lower() not in _PLACES or not value.strip() or key.lower() in chosen:
            raise InvalidInput(ctx.t("request.bad_placement", value=word[:40]))
        chosen[key.lower()] = value.strip()
    return requests.Placement(**{_PLACES[key]: value for key, value in chosen.items()})


async def approve(ctx: Context, args: str) -> Reply:
    """/approve ID [instance:NAME] [profile:NAME] [folder:PATH]"""
    try:
        words = shlex.split(args)
    except ValueError:
        words = []  # an unclosed quote: say how it is written
    if not words:
        return Reply(text=ctx.t("input.missing", command="/approve", usage=ctx.t("request.approve_usage")), error=True)
    return await _approve(ctx, _request_id(ctx, words[0]), _placement(ctx, words[1:]))


async def approve_button(ctx: Context, *, id: int) -> Reply:
    return await _approve(ctx, id, None)


async def _approve(ctx: Context, request_id: int, placement: requests.Placement | None) -> Reply:
    view = await requests.approve(ctx.runtime.database, request_id, actor_id=ctx.actor.user_id, placement=placement)
    return Reply(text=ctx.t("request.approved", id=view.id, title=view.title, year=view.year or "?"))


async def deny(ctx: Context, args: str) -> Reply:
    number, _, reason = args.strip().partition(" ")
    if not number:
        return Reply(text=ctx.t("input.missing", command="/deny", usage="/deny ID REASON"), error=True)
    request_id = _request_id(ctx, number)
    if not reason.strip():
        return await deny_button(ctx, id=request_id)
    return await deny_reason(ctx, reason, id=request_id)


async def deny_button(ctx: Context, *, id: int) -> Reply:
    view = await requests.get(ctx.runtime.database, id)
    # Ask only someone who may deny; everyone else hears why not without typing a reason first.
    await requests.check_can_decide(ctx.runtime.database, id, actor_id=ctx.actor.user_id)
    await ctx.prompts.ask(ctx.actor.user_id, "deny", id=id)
    return Reply(text=ctx.t("request.ask_reason", id=id, title=view.title))


async def deny_reason(ctx: Context, reason: str, *, id: int) -> Reply:
    view = await requests.deny(ctx.runtime.database, id, actor_id=ctx.actor.user_id, reason=reason)
    return Reply(text=ctx.t("request.denied", id=view.id, title=view.title, reason=view.denial_reason))


async def cancel(ctx: Context, args: str) -> Reply:
    if not args.strip():
        return Reply(text=ctx.t("input.missing", command="/cancel", usage="/cancel ID"), error=True)
    return await cancel_button(ctx, id=_request_id(ctx, args.split()[0]))


async def cancel_button(ctx: Context, *, id: int) -> Reply:
    view = await requests.cancel(ctx.runtime.database, id, actor_id=ctx.actor.user_id)
    return Reply(text=ctx.t("request.withdrawn", id=view.id, title=view.title))


async def retry(ctx: Context, args: str) -> Reply:
    if not args.strip():
        return Reply(text=ctx.t("input.missing", command="/retry", usage="/retry ID"), error=True)
    return await retry_button(ctx, id=_request_id(ctx, args.split()[0]))


async def retry_button(ctx: Context, *, id: int) -> Reply:
    view = await requests.retry(ctx.runtime.database, id, actor_id=ctx.actor.user_id)
    return Reply(text=ctx.t("request.retried", id=view.id, title=view.title, year=view.year or "?"))


async def edit(ctx: Context, args: str) -> Reply:
    """/edit ID SEASONS: a pending show's seasons, changed by its requester or a moderator."""
    number, _, seasons = args.strip().partition(" ")
    if not number or not seasons.strip():
        return Reply(text=ctx.t("input.missing", command="/edit", usage="/edit ID SEASONS"), error=True)
    request_id = _request_id(ctx, number)
    chosen = parse_seasons(seasons)
    view = await requests.get(ctx.runtime.database, request_id)
    if view.content_type == ContentType.MOVIE:
        raise InvalidInput(ctx.t("request.edit_film", id=view.id, title=view.title))
    # A show's seasons are in TheTVDB's numbering, so its season list is read by its TheTVDB id when known.
    by_tvdb = view.tvdb_id is not None
    details = await _details(
        ctx, view.content_type.value, None if by_tvdb else view.tmdb_id, view.tvdb_id if by_tvdb else None
    )
    changed = await requests.edit_seasons(
        ctx.runtime.database,
        request_id,
        details,
        actor_id=ctx.actor.user_id,
        seasons=chosen or (),
        settings=ctx.runtime.settings.requests,
    )
    return Reply(
        text=ctx.t("request.edited", id=changed.id, title=changed.title, seasons=_seasons_text(ctx, changed.seasons))
    )


ACTIONS: dict[str, Any] = {
    "request.pick": pick,
    "request.seasons": seasons_page,
    "request.confirm": confirm,
    "request.create": create,
    "choice.cancel": cancel_choice,
    "requests.page": list_page,
    "request.approve": approve_button,
    "request.deny": deny_button,
    "request.cancel": cancel_button,
    "request.retry": retry_button,
}
