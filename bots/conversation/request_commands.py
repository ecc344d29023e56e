"""Requesting (by name or id, with a season picker for shows), listing, approving, denying, cancelling,
editing and retrying requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bots.conversation.context import Context, content_type
from bots.conversation.notifications import seasons_text
from bots.conversation.registry import Arguments
from bots.conversation.replies import Button, Card, Choice, Question, Reply
from bots.conversation.titles import details_of, find_title, is_id, offer
from core.db.session import Database
from core.enums import ContentType, RequestStatus
from core.errors import InvalidInput, NotFound, StartupError
from core.metadata.provider import ExternalIds
from core.metadata.query import parse_seasons
from core.metadata.types import Title, TitleDetails
from core.secretbox import secret_box
from core.services import handoff, requests
from core.services.requests import CreateResult, RequestView
from core.upstream_errors import UpstreamError

__all__ = ["ACTIONS", "FILTERS", "approve", "cancel", "deny", "deny_reason", "edit", "list_", "request", "retry"]

# Discord shows at most 25 buttons on a message: "All seasons", 22 seasons and the two page buttons.
SEASONS_PER_PAGE = 22
LIST_PAGE = 5
FILTERS = ("mine", "pending", "all", *(status.value for status in RequestStatus if status != RequestStatus.PENDING))


def _seasons_text(ctx: Context, seasons: list[int] | None) -> str:
    return seasons_text(ctx.t, seasons)


def _ids(title: Title) -> ExternalIds:
    return ExternalIds(tmdb_id=title.tmdb_id, tvdb_id=title.tvdb_id, imdb_id=title.imdb_id)


async def _details(ctx: Context, kind: str, tmdb: int | None, tvdb: int | None) -> TitleDetails:
    return await details_of(ctx, ContentType(kind), ExternalIds(tmdb_id=tmdb, tvdb_id=tvdb))


def _created(ctx: Context, result: CreateResult) -> Reply:
    view = result.request
    values = {"title": view.title, "year": view.year or "?", "id": view.id}
    if result.outcome == "joined":
        if result.added_seasons:
            return Reply(
                text=ctx.t("request.joined_seasons", seasons=_seasons_text(ctx, result.added_seasons), **values)
            )
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


async def request(ctx: Context, args: Arguments) -> Reply:
    """/request [TYPE] TITLE [SEASONS]: typed in full, it is its own confirmation."""
    word, text, seasons_text = args.text("type"), args.text("title") or "", args.text("seasons")
    kind = content_type(word) if word else None
    seasons = parse_seasons(seasons_text)
    found = await find_title(ctx, kind, text)
    if seasons_text and not is_id(text, kind) and (found.title is None or found.title.type == ContentType.MOVIE):
        # "blade runner 2049": the last word looked like seasons but belongs to a film's name.
        try:
            whole = await find_title(ctx, kind, f"{text} {seasons_text}")
        except NotFound:
            whole = None
        if whole is not None and whole.title is not None and whole.title.type == ContentType.MOVIE:
            found, seasons, text = whole, None, f"{text} {seasons_text}"
    if found.title is None:
        return offer(ctx, text, found.candidates, "request.confirm" if seasons else "request.pick", seasons=seasons)
    return await _create(ctx, await details_of(ctx, found.title.type, _ids(found.title)), seasons)


async def pick(ctx: Context, *, type: str, tmdb: int | None, tvdb: int | None) -> Reply:
    details = await _details(ctx, type, tmdb, tvdb)
    if details.title.type == ContentType.MOVIE:
        return _confirm(ctx, details, type=type, tmdb=tmdb, tvdb=tvdb, seasons=None)
    return _picker(ctx, details, type=type, tmdb=tmdb, tvdb=tvdb, page=0)


async def seasons_page(ctx: Context, *, type: str, tmdb: int | None, tvdb: int | None, page: int) -> Reply:
    details = await _details(ctx, type, tmdb, tvdb)
    reply = _picker(ctx, details, type=type, tmdb=tmdb, tvdb=tvdb, page=page)
    return replace(reply, edit=True)


def _picker(ctx: Context, details: TitleDetails, *, page: int, **title: Any) -> Reply:
    numbers = [season.season_number for season in details.seasons]
    pages = max(1, -(-len(numbers) // SEASONS_PER_PAGE))
    page = min(max(0, page), pages - 1)
    start = page * SEASONS_PER_PAGE
    make = ctx.buttons.make
    buttons: list[Button] = [make(ctx.t("button.all_seasons"), "request.confirm", "primary", seasons=None, **title)]
    for number in numbers[start : start + SEASONS_PER_PAGE]:
        label = ctx.t("button.specials") if number == 0 else ctx.t("button.season", number=number)
        buttons.append(make(label, "request.confirm", seasons=[number], **title))
    choices = len(buttons)  # "All seasons" and this page's seasons; Back and More page through them
    if start > 0:
        buttons.append(make(ctx.t("button.back"), "request.seasons", page=page - 1, **title))
    if start + SEASONS_PER_PAGE < len(numbers):
        buttons.append(make(ctx.t("button.more"), "request.seasons", page=page + 1, **title))
    return Reply(
        text=ctx.t("request.pick_seasons", title=details.title.title),
        buttons=tuple(buttons),
        footer=ctx.t("page.footer", page=page + 1, pages=pages) if pages > 1 else "",
        private=True,
        pick=choices,
    )


async def confirm(ctx: Context, *, type: str, tmdb: int | None, tvdb: int | None, seasons: list[int] | None) -> Reply:
    details = await _details(ctx, type, tmdb, tvdb)
    return _confirm(ctx, details, seasons=seasons, type=type, tmdb=tmdb, tvdb=tvdb)


def _confirm(ctx: Context, details: TitleDetails, *, seasons: list[int] | None, **title: Any) -> Reply:
    values = {"title": details.title.title, "year": details.title.year or "?"}
    if details.title.type == ContentType.MOVIE:
        text = ctx.t("request.confirm_movie", **values)
        seasons = None
    else:
        text = ctx.t("request.confirm_seasons", seasons=_seasons_text(ctx, seasons), **values)
    buttons = (
        ctx.buttons.make(ctx.t("button.confirm"), "request.create", "success", seasons=seasons, **title),
        ctx.buttons.make(ctx.t("button.cancel"), "choice.cancel"),
    )
    return Reply(text=text, buttons=buttons, edit=True, private=True)


async def create(ctx: Context, *, type: str, tmdb: int | None, tvdb: int | None, seasons: list[int] | None) -> Reply:
    reply = await _create(ctx, await _details(ctx, type, tmdb, tvdb), seasons)
    return Reply(text=reply.text, edit=True)


async def cancel_choice(ctx: Context) -> Reply:
    return Reply(text=ctx.t("request.cancelled_choice"), edit=True, private=True)


# --- listing and deciding -------------------------------------------------------------------------------


async def list_(ctx: Context, args: Arguments) -> Reply:
    return await list_page(ctx, filter=args.text("filter") or "mine", offset=0, edit=False)


async def list_page(ctx: Context, *, filter: str, offset: int, edit: bool = True) -> Reply:
    status = None if filter in ("mine", "all") else RequestStatus(filter)
    user_id = ctx.actor.user_id if filter == "mine" else None
    found = await requests.list_requests(
        ctx.runtime.database,
        viewer=ctx.actor.user_id,
        status=status,
        user_id=user_id,
        limit=LIST_PAGE + 1,
        offset=max(0, offset),
    )
    if not found:
        return Reply(text=ctx.t("request.list_none"), edit=edit)
    decides = (await ctx.abilities()).decide
    kinds = {view.content_type for view in found if view.status == RequestStatus.PENDING} if decides else set()
    choosing = {kind for kind in kinds if await offers_choice(ctx.runtime.database, kind)}
    cards = tuple(_request_card(ctx, view, decides=decides, choosing=choosing) for view in found[:LIST_PAGE])
    more: tuple[Button, ...] = ()
    if len(found) > LIST_PAGE:
        more = (ctx.buttons.make(ctx.t("button.more"), "requests.page", filter=filter, offset=offset + LIST_PAGE),)
    heading = ctx.t("request.list_title", filter=ctx.t(f"filter.{filter}"))
    return Reply(text=heading, cards=cards, buttons=more, edit=edit)


async def offers_choice(database: Database, content_type: ContentType) -> bool:
    """Whether approving a request of this type has more than one place to go: worth an "Approve in…"."""
    options = await requests.placement_options(database, content_type)
    return len(options) > 1 or any(option.choices > 1 for option in options)


def approve_in(ctx: Context, request_id: int) -> Button:
    return ctx.buttons.make(ctx.t("button.approve_in"), "request.place", open_to_moderators=True, id=request_id)


def request_buttons(
    ctx: Context, view: RequestView, *, decides: bool, choosing: set[ContentType] | None = None
) -> list[Button]:
    """What this person may do with a request now. Deciding buttons go to those who may decide; other
    moderators who see the message may press them too, and every press checks permission again."""
    t = ctx.t
    buttons: list[Button] = []
    if view.status == RequestStatus.PENDING:
        if decides:
            buttons.append(
                ctx.buttons.make(t("button.approve"), "request.approve", "success", open_to_moderators=True, id=view.id)
            )
            buttons.append(
                ctx.buttons.make(t("button.deny"), "request.deny", "danger", open_to_moderators=True, id=view.id)
            )
            if choosing and view.content_type in choosing:
                buttons.append(approve_in(ctx, view.id))
        if view.requested_by == ctx.actor.username:
            buttons.append(ctx.buttons.make(t("button.cancel_request"), "request.cancel", id=view.id))
    elif view.status == RequestStatus.FAILED and decides:
        buttons.append(ctx.buttons.make(t("button.retry"), "request.retry", open_to_moderators=True, id=view.id))
    return buttons


def _request_card(ctx: Context, view: RequestView, *, decides: bool, choosing: set[ContentType] | None = None) -> Card:
    t = ctx.t
    watchers = t("request.watchers", count=len(view.watchers)) if view.watchers else ""
    line = t(
        "request.line",
        id=view.id,
        status=t(f"status.{view.status.value}"),
        requested_by=view.requested_by,
        watchers=watchers,
    )
    if view.content_type != ContentType.MOVIE:
        line += " · " + _seasons_text(ctx, view.seasons)
    overview = t("request.reason", reason=view.denial_reason) if view.denial_reason else ""
    if view.status == RequestStatus.FAILED and view.failure_reason:
        overview = t("request.failed_reason", reason=view.failure_reason)
    return Card(
        title=f"{view.title} ({view.year or '?'})",
        subtitle=line,
        overview=overview,
        buttons=tuple(request_buttons(ctx, view, decides=decides, choosing=choosing)),
        reference=f"#{view.id}",
    )


async def details(ctx: Context, args: Arguments) -> Reply:
    """/details ID: the request's card, and what Sonarr or Radarr is downloading for it."""
    view = await requests.get(ctx.runtime.database, _id(args))
    decides = (await ctx.abilities()).decide
    choosing = (
        {view.content_type} if decides and await offers_choice(ctx.runtime.database, view.content_type) else set()
    )
    card = _request_card(ctx, view, decides=decides, choosing=choosing)
    lines = [ctx.t("request.details_title", id=view.id)]
    try:
        queue = await handoff.download_queue(
            ctx.runtime.database, secret_box(ctx.runtime.settings), view.id, ctx.runtime.settings.sync
        )
    except UpstreamError as error:
        lines.append(ctx.t("request.queue_unknown", reason=error.reason))
    except StartupError as error:  # the stored key cannot be opened: the admin must add the server again
        lines.append(ctx.t("request.queue_unknown", reason=str(error)))
    else:
        if queue is not None and not queue:
            lines.append(ctx.t("request.queue_empty"))
        elif queue:
            lines.append(ctx.t("request.queue_title"))
            for download in queue[:10]:
                left = ctx.t("request.queue_left", left=download.time_left) if download.time_left else ""
                lines.append(
                    ctx.t(
                        "request.queue_line",
                        title=download.title,
                        state=download.state,
                        percent=f"{download.percent:g}",
                        left=left,
                    )
                )
    return Reply(text="\n".join(lines), cards=(card,))


async def approve(ctx: Context, args: Arguments) -> Reply:
    """/approve ID [instance:NAME] [profile:NAME] [folder:PATH]"""
    chosen = {
        "instance": args.text("instance"),
        "quality_profile": args.text("profile"),
        "root_folder": args.text("folder"),
    }
    placement = requests.Placement(**{key: value for key, value in chosen.items() if value is not None})
    return await _approve(ctx, _id(args), placement, edit=False)


def _id(args: Arguments) -> int:
    number = args.integer("id")
    if number is None:  # the registry makes it required; a direct caller may still forget it
        raise InvalidInput("a request number is needed", code="option.missing_id")
    return number


async def approve_button(ctx: Context, *, id: int) -> Reply:
    return await _approve(ctx, id, None, edit=True)


async def place_button(
    ctx: Context, *, id: int, instance: int | None = None, profile: int | None = None, folder: int | None = None
) -> Reply:
    """ "Approve in…": the instance, then its quality profile, then its root folder, each asked only when
    there is more than one to choose from; then the approval. Permission is checked at every step."""
    await requests.check_can_decide(ctx.runtime.database, id, actor_id=ctx.actor.user_id)
    view = await requests.get(ctx.runtime.database, id)
    options = await requests.placement_options(ctx.runtime.database, view.content_type)
    chosen = next((option for option in options if option.instance.id == instance), None)
    if chosen is None and len(options) > 1:
        return _pick(ctx, "request.pick_instance", view, [o.instance for o in options], "instance", {"id": id})
    if chosen is None and not options:  # nothing to choose after all: the plain approval
        return await _approve(ctx, id, None, edit=True)
    chosen = chosen or options[0]
    where: dict[str, int | None] = {"id": id, "instance": chosen.instance.id}
    picked_profile = next((p for p in chosen.profiles if p.id == profile), None)
    if picked_profile is None and len(chosen.profiles) > 1:
        return _pick(ctx, "request.pick_profile", view, chosen.profiles, "profile", where, chosen.instance.label)
    picked_profile = picked_profile or (chosen.profiles[0] if chosen.profiles else None)
    where["profile"] = picked_profile.id if picked_profile else None
    picked_folder = next((f for f in chosen.folders if f.id == folder), None)
    if picked_folder is None and len(chosen.folders) > 1:
        return _pick(ctx, "request.pick_folder", view, chosen.folders, "folder", where, chosen.instance.label)
    picked_folder = picked_folder or (chosen.folders[0] if chosen.folders else None)
    placement = requests.Placement(
        instance=str(chosen.instance.id),
        quality_profile=str(picked_profile.id) if picked_profile else None,
        root_folder=str(picked_folder.id) if picked_folder else None,
    )
    approved = await requests.approve(ctx.runtime.database, id, actor_id=ctx.actor.user_id, placement=placement)
    text = ctx.t(
        "request.placed",
        id=approved.id,
        title=approved.title,
        year=approved.year or "?",
        by=ctx.actor.username,
        instance=chosen.instance.label,
        profile=f" · {picked_profile.label}" if picked_profile else "",
        folder=f" · {picked_folder.label}" if picked_folder else "",
    )
    return Reply(text=text, edit=True)


def _pick(
    ctx: Context,
    question: str,
    view: RequestView,
    options: Sequence[requests.Option],
    field: str,
    so_far: dict[str, Any],
    instance: str = "",
) -> Reply:
    buttons = tuple(
        ctx.buttons.make(
            ctx.t("request.option_default", label=option.label) if option.is_default else option.label,
            "request.place",
            "primary" if option.is_default else "secondary",
            open_to_moderators=True,
            **{**so_far, field: option.id},
        )
        for option in options[:24]
    )
    cancel = ctx.buttons.make(ctx.t("button.cancel"), "choice.cancel")
    return Reply(
        text=ctx.t(question, id=view.id, title=view.title, instance=instance),
        buttons=(*buttons, cancel),
        edit=True,
    )


async def _approve(ctx: Context, request_id: int, placement: requests.Placement | None, *, edit: bool) -> Reply:
    view = await requests.approve(ctx.runtime.database, request_id, actor_id=ctx.actor.user_id, placement=placement)
    text = ctx.t("request.approved", id=view.id, title=view.title, year=view.year or "?", by=ctx.actor.username)
    return Reply(text=text, edit=edit)


async def deny(ctx: Context, args: Arguments) -> Reply:
    request_id, reason = _id(args), args.text("reason")
    if reason is None:
        return await deny_button(ctx, id=request_id)
    return await deny_reason(ctx, reason, id=request_id)


async def deny_button(ctx: Context, *, id: int) -> Reply:
    view = await requests.get(ctx.runtime.database, id)
    # Ask only someone who may deny; everyone else hears why not without typing a reason first.
    await requests.check_can_decide(ctx.runtime.database, id, actor_id=ctx.actor.user_id)
    key = await ctx.questions.ask(ctx.place, ctx.actor.user_id, "deny", id=id)
    question = Question(key=key, label=ctx.t("request.reason_label", id=id), max_length=requests.MAX_REASON)
    return Reply(text=ctx.t("request.ask_reason", id=id, title=view.title), question=question)


async def deny_reason(ctx: Context, reason: str, *, id: int) -> Reply:
    view = await requests.deny(ctx.runtime.database, id, actor_id=ctx.actor.user_id, reason=reason)
    values = {"id": view.id, "title": view.title, "year": view.year or "?", "by": ctx.actor.username}
    return Reply(text=ctx.t("request.denied", reason=view.denial_reason, **values))


async def cancel(ctx: Context, args: Arguments) -> Reply:
    view = await requests.cancel(ctx.runtime.database, _id(args), actor_id=ctx.actor.user_id)
    return Reply(text=ctx.t("request.withdrawn", id=view.id, title=view.title))


async def cancel_button(ctx: Context, *, id: int) -> Reply:
    view = await requests.cancel(ctx.runtime.database, id, actor_id=ctx.actor.user_id)
    return Reply(text=ctx.t("request.withdrawn", id=view.id, title=view.title), edit=True)


async def retry(ctx: Context, args: Arguments) -> Reply:
    return await retry_button(ctx, id=_id(args))


async def retry_button(ctx: Context, *, id: int) -> Reply:
    view = await requests.retry(ctx.runtime.database, id, actor_id=ctx.actor.user_id)
    return Reply(text=ctx.t("request.retried", id=view.id, title=view.title, year=view.year or "?"))


async def edit(ctx: Context, args: Arguments) -> Reply:
    """/edit ID SEASONS: a pending show's seasons, changed by its requester or a moderator."""
    request_id = _id(args)
    chosen = parse_seasons(args.text("seasons"))
    view = await requests.get(ctx.runtime.database, request_id)
    if view.content_type == ContentType.MOVIE:
        return Reply(text=ctx.t("request.edit_film", id=view.id, title=view.title), error=True)
    details = await details_of(ctx, view.content_type, view.lookup_ids())
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


async def complete_requests(ctx: Context, partial: str, command: str) -> list[Choice]:
    """Open requests this person may act on with `command`, matching the number or title typed so far."""
    abilities = await ctx.abilities()
    deciding = command in ("approve", "deny", "retry")
    if deciding and not abilities.decide:
        return []
    status = RequestStatus.FAILED if command == "retry" else RequestStatus.PENDING
    everyone = abilities.decide and (deciding or command == "edit")
    found = await requests.list_requests(
        ctx.runtime.database,
        viewer=ctx.actor.user_id,
        status=status,
        user_id=None if everyone else ctx.actor.user_id,
        limit=100,
    )
    typed = partial.strip().lstrip("#").lower()
    choices = [
        Choice(name=f"#{view.id} {view.title} ({view.year or '?'}) · {view.requested_by}", value=str(view.id))
        for view in found
        if not typed or str(view.id).startswith(typed) or typed in view.title.lower()
    ]
    return choices[:25]


ACTIONS: dict[str, Any] = {
    "request.pick": pick,
    "request.seasons": seasons_page,
    "request.confirm": confirm,
    "request.create": create,
    "choice.cancel": cancel_choice,
    "requests.page": list_page,
    "request.approve": approve_button,
    "request.place": place_button,
    "request.deny": deny_button,
    "request.cancel": cancel_button,
    "request.retry": retry_button,
}
