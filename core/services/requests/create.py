"""Creating a request, or joining the open one for the same title; limits and quotas counted under the
requester's row lock."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal

from sqlalchemy import Boolean, String, all_, and_, any_, bindparam, func, literal, or_, select
from sqlalchemy import Sequence as DatabaseSequence
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import IntegrityError

from core.config import RequestSettings
from core.db.models import Media, MediaSeason, Request, RequestWatcher, User
from core.db.pgtypes import REQUEST_STATUS, USER_ROLE
from core.db.prepared import Call, Prepared, both, together
from core.db.session import Database, Work
from core.enums import OPEN_REQUEST_STATUSES, ActivityType, ContentType, MediaStatus, RequestStatus
from core.errors import AlreadyAvailable, AlreadyDecided, InvalidInput, QuotaExceeded
from core.metadata.types import Title, TitleDetails
from core.permissions import Permission, auto_approve_permission, effective_permissions, request_permission
from core.services.limits import EXEMPT_ROLES, exempt, limited_by_default, open_limit, quota
from core.services.requests.common import (
    CHANGE_SEASONS,
    PERSON_READ,
    REQUEST_COLUMNS,
    Person,
    RequestRow,
    RequestView,
    change,
    followers_of,
    load_user,
    moderators,
    person,
    plan_record,
    record,
    record_reading,
    require_permission,
    season_json,
    season_numbers,
    title_by_ids,
    title_ids,
    view_of,
)
from core.services.requests.decisions import approval_reads, approve_row, plan_approval

log = logging.getLogger(__name__)
_ATTEMPTS = 3  # a create racing another user's create for the same title joins it on the next attempt
_JOINABLE = (RequestStatus.PENDING, RequestStatus.APPROVED, RequestStatus.PARTIAL)


@dataclass(frozen=True)
class CreateResult:
    request: RequestView
    outcome: Literal["created", "auto_approved", "joined"]
    added_seasons: list[int]


def choose_seasons(details: TitleDetails, wanted: Sequence[int] | None) -> set[int]:
    """The seasons asked for, checked against the title's real list; by default every season but specials."""
    if details.title.type == ContentType.MOVIE:
        if wanted:
            raise InvalidInput("films have no seasons", code="seasons.film")
        return set()
    known = {season.season_number for season in details.seasons}
    if not wanted:
        chosen = {number for number in known if number > 0}
        if not chosen:
            raise InvalidInput("{title} has no seasons to request yet", code="seasons.none", title=details.title.title)
        return chosen
    unknown = sorted(set(wanted) - known)
    if unknown:
        listed = ", ".join(str(n) for n in sorted(known)) or "none"
        raise InvalidInput(
            "{title} has no season {season} (its seasons: {seasons})",
            code="seasons.unknown",
            title=details.title.title,
            season=unknown[0],
            seasons=listed,
        )
    return set(wanted)


async def create(
    database: Database,
    details: TitleDetails,
    *,
    actor_id: int,
    seasons: Sequence[int] | None = None,
    settings: RequestSettings = RequestSettings(),
) -> CreateResult:
    """Ask for a title. Someone else already asking for it: join them, adding any seasons they did not ask for."""
    wanted = choose_seasons(details, seasons)
    for attempt in range(_ATTEMPTS):
        try:
            return await _create_once(database, details, actor_id, wanted, settings)
        except IntegrityError:
            # Another person's request for this title was committed between our look and our insert.
            if attempt == _ATTEMPTS - 1:
                raise
            log.info("event=request_create_retried title=%s attempt=%d", details.title.key, attempt + 1)
    raise AssertionError("unreachable")


async def _create_once(
    database: Database, details: TitleDetails, actor_id: int, wanted: set[int], settings: RequestSettings
) -> CreateResult:
    title = details.title
    content_type = title.type
    async with database.unit() as session:
        ids = title_ids(content_type, title.tmdb_id, title.tvdb_id)
        # Where a limit or quota could refuse the requester, their row lock serialises their own concurrent
        # requests, so what they have is counted exactly; where none could, nothing is counted and their
        # requests run side by side. The reads go in the same round trip: PostgreSQL runs them in order, after
        # any lock is held, each on a fresh snapshot, so they see every request the requester's other
        # transactions have committed. Who would hear of a new request, and its id, are read too: the request
        # and its record can then be written in one round trip.
        by_open, by_any = limited_by_default(settings, content_type)
        # Someone whose last request of this type was approved at once likely will be again: the approval's
        # reads go in this round trip too (last, so its lock on the library record is taken after the
        # requests', as a moderator's approval takes them). A wrong guess costs those reads, never a result.
        # Moderators are read only for a request that will wait for them; an approved one names its
        # requester from the approval's own read.
        expected = _approved_at_once.get((actor_id, content_type), False)
        after = (
            _approval_reads(title, actor_id)
            if expected
            else [record_reading(ActivityType.REQUEST_CREATED, moderators(), actor_id, actor_id)]
        )
        _, users, numbered, library, open_requests, *read_after = await together(
            session,
            (_counting_lock(content_type), {"id": actor_id, "limited": by_any}),
            (_REQUESTER, {"id": actor_id, "limited": by_open}),
            (_TITLE_LOCKED, _title_keys(content_type, title.tmdb_id, title.tvdb_id)),
            (_LIBRARY, ids),
            (_OPEN_FOR_TITLE, ids),
            *after,
        )
        approval_read = read_after if expected else []
        people = read_after[-1]  # the last read either way: the approval's people, or the moderators
        actor = person(users, actor_id)
        require_permission(actor, request_permission(content_type))
        available = _available_seasons(library, content_type)
        if content_type == ContentType.MOVIE and available is not None:
            raise AlreadyAvailable("{title} is already available", code="request.available", title=title.title)
        pending = next((r for r in open_requests if r.status == RequestStatus.PENDING), None)
        active = [r for r in open_requests if r.status != RequestStatus.PENDING]
        covered = set(available or ()) | {n for r in active for n in season_numbers(r.seasons)}
        if pending is not None:
            added = wanted - covered - season_numbers(pending.seasons)
            if added:
                # Widening a request asks for more: the seasons it adds count against the asker's quota.
                await check_quota(session, actor, content_type, added, settings)
            request, wanting = await _join(session, pending, actor, added)
            # With `auto_approve_watchers` set, enough people wanting a title is approval enough.
            if 0 < settings.auto_approve_watchers <= wanting:
                approved = await approve_row(session, request, None, wanted_by=wanting)
                view = await view_of(session, approved.request, followed_by=approved.followed_by)
                return CreateResult(view, "joined", sorted(added))
            return CreateResult(await view_of(session, request), "joined", sorted(added))
        remaining = wanted - covered
        is_movie = content_type == ContentType.MOVIE
        if active and (is_movie or not remaining):
            request, _ = await _join(session, active[-1], actor, set())
            return CreateResult(await view_of(session, request), "joined", [])
        if not is_movie and not remaining:
            raise AlreadyAvailable(
                "{title}: every season asked for is already available",
                code="request.seasons_available",
                title=title.title,
            )

        await _check_limits(session, actor, users[0].open, content_type, remaining, settings)
        auto = auto_approve_permission(content_type) in effective_permissions(actor.role, actor.permissions)
        _remember(actor.id, content_type, auto)
        # Moderators hear of what waits for them; an auto-approved request waits for nobody (its announcement
        # still names the requester, read with the rest).
        recipients = () if auto else moderators()
        # An approved request's record names its requester, found in either read; a request that waits
        # needs the moderators, which a guess of approval did not read: its record reads them itself.
        read = [row for row in people if row.id == actor.id] if auto else (None if expected else people)
        new = {
            "id": numbered[0].id,
            "requested_by_id": actor.id,
            "content_type": content_type,
            "tmdb_id": title.tmdb_id,
            "tvdb_id": title.tvdb_id,
            "imdb_id": title.imdb_id,
            "title": title.title,
            "year": title.year,
            "poster": title.poster,
            "overview": title.overview[:2000] or None,
            "seasons": season_json(remaining),
            "expires_at": datetime.now(UTC) + timedelta(days=settings.expiry_days),
        }
        inserting = _new_request(tuple(new))
        creation = await plan_record(
            session,
            new["id"],
            actor.id,
            actor.id,
            ActivityType.REQUEST_CREATED,
            recipients,
            holding=Permission.MANAGE_REQUESTS,
            excluding=actor.id,
            read=read,
            first=[(inserting, {f"new_{field}": value for field, value in new.items()})],
            seasons=sorted(remaining),
            requested_by=actor.username,
        )
        if auto:
            # The approval's reads are made now; its writes go with the request's own insert, in one round
            # trip: the request is written, recorded, approved and recorded again, in that order.
            approval = await plan_approval(session, inserting.row(**new), actor, new=True, read=approval_read or None)
            _, approved = await both(session, creation, approval, last=True)  # with the COMMIT: nothing follows
            view = await view_of(session, approved.request, just_made_by=actor.username)
            return CreateResult(view, "auto_approved", sorted(remaining))
        request = (await creation.run(session, last=True)).first[0][0]
        return CreateResult(await view_of(session, request, just_made_by=actor.username), "created", sorted(remaining))


# (requester, content type) -> whether their last new request of it was approved at once (see _create_once).
_approved_at_once: dict[tuple[int, ContentType], bool] = {}
_REMEMBERED = 10_000


def _remember(actor_id: int, content_type: ContentType, auto: bool) -> None:
    if len(_approved_at_once) >= _REMEMBERED:
        _approved_at_once.clear()  # a guess only: forgetting costs one round trip each
    _approved_at_once[(actor_id, content_type)] = auto


def _approval_reads(title: Title, actor_id: int) -> list[Call]:
    """What approving a new request for `title` by `actor_id` reads: see `approval_reads`."""
    return approval_reads(title.type, title.tmdb_id, title.tvdb_id, actor_id, actor_id, [actor_id])


_WATCH = Prepared(
    insert(RequestWatcher).values(request_id=bindparam("request"), user_id=bindparam("user")).on_conflict_do_nothing()
)


@cache
def _new_request(columns: tuple[str, ...]) -> Prepared[RequestRow]:
    """The INSERT of a new request setting `columns` (from `new_COLUMN` values), returning the whole row;
    compiled once for the columns `_create_once` sets, which are written down only there."""
    inserted = insert(Request).values({column: bindparam(f"new_{column}") for column in columns})
    return Prepared(inserted.returning(*REQUEST_COLUMNS), Request)


async def _join(session: Work, request: RequestRow, actor: Person, new_seasons: set[int]) -> tuple[RequestRow, int]:
    """Follow an open request, adding seasons it did not ask for; returns it and how many now want it."""
    following = await followers_of(session, request)
    if actor.id in following and not new_seasons:
        raise AlreadyDecided(
            "you already follow request #{id} for {title} ({status})",
            code="request.following",
            id=request.id,
            title=request.title,
            status=request.status.value,
        )
    if actor.id not in following:
        watch = (_WATCH, {"request": request.id, "user": actor.id})
        await record(
            session,
            request.id,
            request.requested_by_id,
            actor.id,
            ActivityType.REQUEST_JOINED,
            along=[watch],
            joined_by=actor.username,
        )
        following.append(actor.id)
    if new_seasons:
        seasons = season_json(season_numbers(request.seasons) | new_seasons)
        request = await change(session, CHANGE_SEASONS, request.id, seasons=seasons)
    return request, len(following)


# Two first requests for one title, committed at the same moment, would each find no open request to join
# (there is no row yet to lock) and both insert one. Holding the title's advisory lock until commit makes the
# second wait for the first and then join it. Always taken after the requester's row lock, in the same order
# (the TMDB id's, then TheTVDB's), so two creates never wait on each other in a circle.
_TITLE_LOCK_SPACE = 0x1D4A  # one namespace for idkarr's title locks
# A new request's id is drawn here too, with the checks (see `_create_once`): one statement fewer.
_TITLE_LOCKED = Prepared(
    select(
        DatabaseSequence("request_id_seq").next_value().label("id"),
        func.pg_advisory_xact_lock(literal(_TITLE_LOCK_SPACE), func.hashtext(bindparam("tmdb_key", type_=String))),
        func.pg_advisory_xact_lock(literal(_TITLE_LOCK_SPACE), func.hashtext(bindparam("tvdb_key", type_=String))),
    )
)


def _title_keys(content_type: ContentType, tmdb_id: int | None, tvdb_id: int | None) -> dict[str, str | None]:
    """A title's lock names; an id it lacks locks nothing (the function is strict on NULL)."""
    show = content_type != ContentType.MOVIE
    return {
        "tmdb_key": f"{content_type.value}:tmdb:{tmdb_id}" if tmdb_id is not None else None,
        "tvdb_key": f"{content_type.value}:tvdb:{tvdb_id}" if show and tvdb_id is not None else None,
    }


# The title's open requests, locked: the pending one (at most one, by a unique index) is joined, the approved
# ones cover seasons already on their way.
_OPEN_FOR_TITLE = Prepared(
    select(*REQUEST_COLUMNS)
    .where(
        title_by_ids(Request),
        Request.status == any_(bindparam("joinable", list(_JOINABLE), type_=ARRAY(REQUEST_STATUS))),
    )
    .order_by(Request.created_at)
    .with_for_update()
)
_LIBRARY = Prepared(
    select(Media.id, Media.status, MediaSeason.season_number)
    .outerjoin(MediaSeason, and_(MediaSeason.media_id == Media.id, MediaSeason.status == MediaStatus.AVAILABLE))
    .where(title_by_ids(Media))
)


def _available_seasons(rows: list[Any], content_type: ContentType) -> set[int] | None:
    """None when the library does not have the title; else the seasons already available (empty for films)."""
    if not rows:
        return None
    rows = [row for row in rows if row.id == rows[0].id]  # one library record, should ids match two
    if content_type == ContentType.MOVIE:
        return set() if rows[0].status == MediaStatus.AVAILABLE else None
    return {row.season_number for row in rows if row.season_number is not None}


@dataclass(frozen=True)
class Allowance:
    """What a person may still ask for: open requests against their limit, and each quota's window."""

    open_requests: int
    open_limit: int | None  # None: no limit
    quotas: dict[ContentType, tuple[int, int | None, int, str]]  # type -> (used, limit, days, unit)
    exempt: bool


def _limitable(*own_limits: Any) -> Any:
    """The condition, on a user's row, that a limit could refuse them: they are not exempt, and one of
    `own_limits` is set on them or `limited` (a limit of the defaults') is true."""
    return and_(
        User.role != all_(bindparam("exempt", list(EXEMPT_ROLES), type_=ARRAY(USER_ROLE))),
        or_(*(column.is_not(None) for column in own_limits), bindparam("limited", type_=Boolean)),
    )


@cache
def _counting_lock(content_type: ContentType) -> Prepared[Any]:
    """Locks the requester's row when their open-request limit or the content type's quota could refuse them
    (`limited`: the defaults set one); otherwise locks nothing."""
    own_quota = getattr(User, f"{content_type.value}_quota_limit")
    return Prepared(
        select(User.id).where(User.id == bindparam("id"), _limitable(User.request_limit, own_quota)).with_for_update()
    )


_OPEN = select(func.count().label("open")).where(
    Request.requested_by_id == bindparam("user"),
    Request.status == any_(bindparam("statuses", list(OPEN_REQUEST_STATUSES), type_=ARRAY(REQUEST_STATUS))),
)
_OPEN_COUNT = Prepared(_OPEN)
# The requester, with their open requests counted only when an open-request limit applies (`limited`: the
# defaults set one): a user with none pays for no count of their requests. Read after `_counting_lock`.
_OPEN_FOR_REQUESTER = (
    select(func.count())
    .where(
        Request.requested_by_id == User.id,
        Request.status == any_(bindparam("statuses", list(OPEN_REQUEST_STATUSES), type_=ARRAY(REQUEST_STATUS))),
        _limitable(User.request_limit),
    )
    .scalar_subquery()
)
_REQUESTER = Prepared(PERSON_READ.add_columns(_OPEN_FOR_REQUESTER.label("open")))


def _used(counted: Any) -> Prepared[Any]:
    """What a quota's window has used: denied and cancelled requests give their share back."""
    returned = [RequestStatus.DENIED, RequestStatus.CANCELLED]
    return Prepared(
        select(counted.label("used")).where(
            Request.requested_by_id == bindparam("user"),
            Request.content_type == bindparam("content_type"),
            Request.created_at >= bindparam("since"),
            Request.status != all_(bindparam("returned", returned, type_=ARRAY(REQUEST_STATUS))),
            # The request being changed, if any, is counted as it will be, not as it was.
            Request.id != bindparam("changing", 0),
        )
    )


_REQUESTS_USED = _used(func.count())
_SEASONS_USED = _used(func.coalesce(func.sum(func.jsonb_array_length(Request.seasons)), 0))


async def _quota_use(
    session: Work, actor: Person, content_type: ContentType, settings: RequestSettings, changing: int = 0
) -> tuple[int, int | None, int, bool]:
    """(used, limit, days, counted by seasons) of one content type's quota for `actor`."""
    allowed = quota(actor, content_type, settings)
    by_seasons = content_type != ContentType.MOVIE and settings.series_quota_counts == "seasons"
    if allowed.limit is None:
        return 0, None, allowed.days, by_seasons
    since = datetime.now(UTC) - timedelta(days=allowed.days)
    used = await (_SEASONS_USED if by_seasons else _REQUESTS_USED).rows(
        session, user=actor.id, content_type=content_type, since=since, changing=changing
    )
    return int(used[0].used), allowed.limit, allowed.days, by_seasons


async def allowance(database: Database, user_id: int, settings: RequestSettings = RequestSettings()) -> Allowance:
    async with database.unit() as session:
        actor = await load_user(session, user_id)
        open_count, limit = (await _OPEN_COUNT.rows(session, user=actor.id))[0].open, open_limit(actor, settings)
        quotas: dict[ContentType, tuple[int, int | None, int, str]] = {}
        for content_type in ContentType:
            used, quota, days, by_seasons = await _quota_use(session, actor, content_type, settings)
            quotas[content_type] = (used, quota, days, "seasons" if by_seasons else "requests")
        return Allowance(open_count, limit, quotas, exempt(actor.role))


async def _check_limits(
    session: Work,
    actor: Person,
    open_count: int,
    content_type: ContentType,
    seasons: set[int],
    settings: RequestSettings,
) -> None:
    if exempt(actor.role):
        return
    limit = open_limit(actor, settings)
    if limit is not None and open_count >= limit:
        raise QuotaExceeded(
            "{name} already has {count} open requests (the limit is {limit}); wait for one to be decided or cancel one",
            code="quota.open",
            name=actor.username,
            count=open_count,
            limit=limit,
        )
    await check_quota(session, actor, content_type, seasons, settings)


async def check_quota(
    session: Work,
    actor: Person,
    content_type: ContentType,
    seasons: set[int],
    settings: RequestSettings,
    *,
    changing: int = 0,
) -> None:
    """Refuse what would take `actor` past their quota for the content type: a new request for `seasons`, or
    request `changing` (its id) asking for `seasons` instead of what it asked before."""
    if exempt(actor.role):
        return
    used, quota, days, by_seasons = await _quota_use(session, actor, content_type, settings, changing)
    if quota is None:
        return
    asking = len(seasons) if by_seasons else 1
    if used + asking > quota:
        unit = "seasons" if by_seasons else "requests"
        raise QuotaExceeded(
            "{name} has used {used} of the {quota} {content} {unit} allowed every {days} days;"
            " this would need {asking} more",
            code="quota.seasons" if by_seasons else "quota.requests",
            name=actor.username,
            quota=quota,
            content=content_type.value,
            unit=unit,
            days=days,
            used=used,
            asking=asking,
        )
