"""Decisions on a request. Each claims the request only while it is in a state that allows the change (a
row lock on a conditional select), so two moderators pressing at once give one result and a clear answer
to the other."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Integer, bindparam, exists, func, literal, select
from sqlalchemy.dialects.postgresql import insert

from core.db.models import Handoff, Instance, Request, User
from core.db.prepared import Call, Planned, Prepared, sent_at_once, together
from core.db.session import Database, Work
from core.enums import ActivityType, ContentType, InstanceBackend, RequestStatus
from core.errors import AlreadyDecided, InvalidInput, NotAllowed, NotFound
from core.permissions import Permission
from core.services import outbox
from core.services.outbox import PersonRow
from core.services.requests.common import (
    MAX_REASON,
    REQUEST_COLUMNS,
    USER_ROW,
    LibraryEvent,
    Person,
    RequestRow,
    RequestView,
    followers,
    load_user,
    person,
    plan_change,
    record_change,
    record_reading,
    request_change,
    require_permission,
    season_numbers,
    view_of,
)
from core.services.requests.placement import Placement, place, place_reads
from core.text import clean_text

_APPROVED = request_change(
    "status",
    "failure_reason",
    "approved_by_id",
    "approved_at",
    "media_id",
    "instance_id",
    "quality_profile_id",
    "root_folder_id",
)


# An approval for an instance with Sonarr or Radarr behind it is to be sent there (core.services.handoff);
# approving again after a failure makes it due again.
_HANDOFF = Prepared(
    insert(Handoff)
    .from_select(
        ["request_id"],
        select(bindparam("request", type_=Integer)).where(
            exists().where(
                Instance.id == bindparam("instance"), Instance.backend != InstanceBackend.NONE, Instance.enabled
            )
        ),
    )
    .on_conflict_do_update(
        index_elements=[Handoff.request_id],
        set_={"due_at": func.now(), "attempts": literal(0), "sent_at": None, "last_error": None, "external_id": None},
    )
)


class Approved(NamedTuple):
    """A request as approval left it, and its followers as read for the notifications (see `view_of`)."""

    request: RequestRow
    followed_by: dict[int, PersonRow]


async def plan_approval(
    session: Work,
    /,
    request: RequestRow,
    actor: Person | None,
    *,
    retry: bool = False,
    wanted_by: int | None = None,
    placement: Placement | None = None,
    new: bool = False,
    read: list[list[Any]] | None = None,
) -> Planned[Approved]:
    """`approve_row`'s writes, decided (its reads are made here) but not yet sent: the caller may send them
    with writes of its own. `actor` None is idkarr itself, approving because `wanted_by` people asked for
    the title. `new`: the request is being written in the same round trip (`request` as that insert will
    leave it); `read`: the rows of `approval_reads`, when the caller sent them with its own."""
    actor_id = actor.id if actor else None
    audience = _audience(request, new)
    if read is None:
        ids = (request.content_type, request.tmdb_id, request.tvdb_id)
        read = await together(session, *approval_reads(*ids, request.requested_by_id, actor_id, audience))
    media, library_change, library_write, (people,) = await place(session, request, placement, read=read)
    approving = {
        "status": RequestStatus.APPROVED,
        "failure_reason": None,
        "approved_by_id": actor_id,
        "approved_at": datetime.now(UTC),
        "media_id": media.id,
        "instance_id": media.instance_id,
        "quality_profile_id": media.quality_profile_id,
        "root_folder_id": media.root_folder_id,
    }
    details: dict[str, Any] = {"approved_by": actor.username if actor else None}
    if retry:
        details["retry"] = True
    if wanted_by is not None:
        details["wanted_by"] = wanted_by
    if library_change == ActivityType.MEDIA_ADDED:
        # A new record only waits for its title: nothing is in the library until media-server sync or the
        # download side says it arrived (then movie_added or episode_added is recorded).
        library_change = None
    elif library_change is None and not retry and request.content_type != ContentType.MOVIE:
        library_change = ActivityType.MEDIA_UPDATED  # a show already in the library: more of its seasons are sent
    library = None
    if library_change is not None:
        library = LibraryEvent(library_change, media.id, details={"status": media.status.value, **_asked(request)})
    # The library record, the request and what both did are written in one round trip.
    changing = await plan_change(
        session,
        request,
        _APPROVED,
        approving,
        actor_id,
        ActivityType.REQUEST_APPROVED,
        audience,
        before=[library_write, *_handoff(request.id, media.instance_id)],
        read=people,
        library=library,
        **details,
    )
    return changing.then(lambda changed: Approved(*changed))


def _handoff(request_id: int, instance_id: int | None) -> list[Call]:
    """The hand-off of an approved request to its download instance: none where the library record names
    no instance, which `_HANDOFF` would refuse anyway (a statement a round trip need not carry)."""
    return [] if instance_id is None else [(_HANDOFF, {"request": request_id, "instance": instance_id})]


# Approve (or, after a failure, approve again) a claimed request: library record, status, activity and
# notifications; see `plan_approval`.
approve_row = sent_at_once(plan_approval)


def _audience(request: RequestRow, new: bool) -> outbox.Recipients:
    """Who hears of an approval: the request's followers (stable while it is claimed); a request written in
    the same round trip has no one but its requester yet."""
    return [request.requested_by_id] if new else followers(request)


def approval_reads(
    content_type: ContentType,
    tmdb_id: int | None,
    tvdb_id: int | None,
    requester_id: int,
    actor_id: int | None,
    audience: outbox.Recipients,
) -> list[Call]:
    """What an approval reads before it writes (the library record, where it goes, who hears of it), for a
    caller to send with reads of its own (`plan_approval`'s `read`)."""
    reading = record_reading(ActivityType.REQUEST_APPROVED, audience, actor_id, requester_id)
    return [*place_reads(content_type, tmdb_id, tvdb_id), reading]


def _asked(request: RequestRow) -> dict[str, Any]:
    """For a show's library entry: the seasons this approval sent on their way."""
    if request.content_type == ContentType.MOVIE:
        return {}
    return {"seasons": sorted(season_numbers(request.seasons))}


def _decided(request_id: int, status: RequestStatus, decided_by: str | None, attempted: str) -> AlreadyDecided:
    if decided_by:
        return AlreadyDecided(
            "request #{id} was already {status} by {name}; it cannot be {attempted}",
            code="request.decided_by",
            id=request_id,
            status=status,
            name=decided_by,
            attempted=attempted,
        )
    return AlreadyDecided(
        "request #{id} was already {status}; it cannot be {attempted}",
        code="request.decided",
        id=request_id,
        status=status,
        attempted=attempted,
    )


def _unknown(request_id: int) -> NotFound:
    return NotFound("there is no request #{id}", code="request.unknown", id=request_id)


# The request and whoever decided it. The name is a subquery, not a join: after waiting for the lock the
# statement sees the row as the winner left it, and a subquery is evaluated again on that row.
_DECIDED_BY = select(User.username).where(User.id == Request.approved_by_id).scalar_subquery().label("decided_by")
_CLAIMED = Prepared(
    select(*REQUEST_COLUMNS, _DECIDED_BY).where(Request.id == bindparam("id")).with_for_update(), Request
)
_STATE = Prepared(select(Request.status, _DECIDED_BY).where(Request.id == bindparam("id")))


async def claim(
    session: Work,
    request_id: int,
    attempted: str,
    allowed: tuple[RequestStatus, ...] = (RequestStatus.PENDING,),
) -> RequestRow:
    """Lock the request and go on only if it is in a state that allows the change: the one place every
    transition is made safe under concurrency. Anyone arriving second is told who got there first, from the
    same read. Returns the request's row."""
    return _allowed(await _CLAIMED.rows(session, id=request_id), request_id, attempted, allowed)


def _decider(claimed: RequestRow) -> str | None:
    """Who decided a claimed request, read with it (`_DECIDED_BY`, beside the request's own columns)."""
    row: Any = claimed
    return cast(str | None, row.decided_by)


def _allowed(
    claimed: list[RequestRow], request_id: int, attempted: str, allowed: tuple[RequestStatus, ...]
) -> RequestRow:
    if not claimed:
        raise _unknown(request_id)
    request = claimed[0]
    if request.status not in allowed:
        raise _decided(request_id, request.status, _decider(request), attempted)
    return request


async def _decide(session: Work, request_id: int, actor_id: int, attempted: str) -> tuple[Person, RequestRow]:
    """A moderator's decision: who they are and the request, claimed, read in one round trip. The permission
    is checked before the request's state, so someone without it is told so whatever the state."""
    users, claimed = await together(session, (USER_ROW, {"id": actor_id}), (_CLAIMED, {"id": request_id}))
    actor = person(users, actor_id)
    require_permission(actor, Permission.MANAGE_REQUESTS)
    return actor, _allowed(claimed, request_id, attempted, (RequestStatus.PENDING,))


async def approve(
    database: Database, request_id: int, *, actor_id: int, placement: Placement | None = None
) -> RequestView:
    async with database.unit() as session:
        actor, request = await _decide(session, request_id, actor_id, "approved")
        approved = await approve_row(session, request, actor, placement=placement)
        return await view_of(session, approved.request, followed_by=approved.followed_by)


_DENIED = request_change("status", "denial_reason", "approved_by_id")
_CANCELLED = request_change("status")
_OWNER = Prepared(select(Request.requested_by_id).where(Request.id == bindparam("id")))


async def deny(database: Database, request_id: int, *, actor_id: int, reason: str) -> RequestView:
    reason = clean_text(reason)
    if not 1 <= len(reason) <= MAX_REASON:
        raise InvalidInput("a denial needs a reason of 1 to {most} characters", code="deny.reason", most=MAX_REASON)
    async with database.unit() as session:
        actor, request = await _decide(session, request_id, actor_id, "denied")
        denying = {"status": RequestStatus.DENIED, "denial_reason": reason, "approved_by_id": actor.id}
        denied, followed_by = await record_change(
            session,
            request,
            _DENIED,
            denying,
            actor.id,
            ActivityType.REQUEST_DENIED,
            followers(request),
            reason=reason,
            denied_by=actor.username,
        )
        return await view_of(session, denied, followed_by=followed_by)


async def cancel(database: Database, request_id: int, *, actor_id: int) -> RequestView:
    async with database.unit() as session:
        actor = await load_user(session, actor_id)
        exists = await _OWNER.first(session, id=request_id)
        if exists is None:
            raise _unknown(request_id)
        if exists.requested_by_id != actor.id:
            raise NotAllowed(
                "only the person who made request #{id} can cancel it", code="request.cancel_own", id=request_id
            )
        request = await claim(session, request_id, "cancelled")
        cancelled, _ = await record_change(
            session, request, _CANCELLED, {"status": RequestStatus.CANCELLED}, actor.id, ActivityType.REQUEST_CANCELLED
        )
        return await view_of(session, cancelled)


async def check_can_decide(database: Database, request_id: int, *, actor_id: int) -> None:
    """Raise what approve or deny would raise now, without deciding (a front end asks before a reason)."""
    async with database.unit() as session:
        actor = await load_user(session, actor_id)
        require_permission(actor, Permission.MANAGE_REQUESTS)
        state = await _STATE.first(session, id=request_id)
        if state is None:
            raise _unknown(request_id)
        if state.status != RequestStatus.PENDING:
            raise _decided(request_id, state.status, state.decided_by, "denied")
