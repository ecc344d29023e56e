"""Requests: create (or join), approve, deny, cancel. Every change is one transaction with its activity and
its notifications, and every decision is a conditional update, so two moderators pressing at once give one
approval and a clear answer to the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.config import RequestSettings
from core.db.models import Activity, Instance, Media, MediaSeason, OutboxMessage, Request, RequestWatcher, User
from core.db.session import Database
from core.enums import OPEN_REQUEST_STATUSES, ActivityType, ContentType, MediaStatus, RequestStatus, UserRole
from core.errors import AlreadyAvailable, AlreadyDecided, InvalidInput, NotAllowed, NotFound, QuotaExceeded
from core.metadata.types import TitleDetails
from core.permissions import Permission, auto_approve_permission, effective_permissions, request_permission, require

__all__ = ["CreateResult", "RequestView", "approve", "cancel", "create", "deny", "get", "list_requests"]

MAX_REASON = 500
_ATTEMPTS = 3  # a create racing another user's create for the same title joins it on the next attempt


@dataclass(frozen=True)
class RequestView:
    id: int
    status: RequestStatus
    content_type: ContentType
    title: str
    year: int | None
    tmdb_id: int | None
    tvdb_id: int | None
    imdb_id: str | None
    seasons: list[int]
    requested_by: str
    watchers: list[str]
    approved_by: str | None
    denial_reason: str | None
    created_at: datetime
    modified_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            "content_type": self.content_type.value,
            "title": self.title,
            "year": self.year,
            "tmdb_id": self.tmdb_id,
            "tvdb_id": self.tvdb_id,
            "imdb_id": self.imdb_id,
            "seasons": self.seasons,
            "requested_by": self.requested_by,
            "watchers": self.watchers,
            "approved_by": self.approved_by,
            "denial_reason": self.denial_reason,
            "created_at": self.created_at.isoformat(),
            "modified_at": self.modified_at.isoformat(),
        }


@dataclass(frozen=True)
class CreateResult:
    request: RequestView
    outcome: Literal["created", "auto_approved", "joined"]
    added_seasons: list[int]


def _season_numbers(seasons: Iterable[dict[str, Any]]) -> set[int]:
    return {int(season["season_number"]) for season in seasons}


def _season_json(numbers: Iterable[int]) -> list[dict[str, Any]]:
    return [{"season_number": number, "monitored": True} for number in sorted(numbers)]


def _title_match(model: Any, content_type: ContentType, tmdb_id: int | None, tvdb_id: int | None) -> Any:
    ids = []
    if tvdb_id is not None and content_type != ContentType.MOVIE:
        ids.append(model.tvdb_id == tvdb_id)
    if tmdb_id is not None:
        ids.append(model.tmdb_id == tmdb_id)
    return and_(model.content_type == content_type, or_(*ids))


def choose_seasons(details: TitleDetails, wanted: Sequence[int] | None) -> set[int]:
    """The seasons asked for, checked against the title's real list; by default every season but specials."""
    if details.title.type == ContentType.MOVIE:
        if wanted:
            raise InvalidInput("films have no seasons")
        return set()
    known = {season.season_number for season in details.seasons}
    if not wanted:
        chosen = {number for number in known if number > 0}
        if not chosen:
            raise InvalidInput(f"{details.title.title} has no seasons to request yet")
        return chosen
    unknown = sorted(set(wanted) - known)
    if unknown:
        listed = ", ".join(str(n) for n in sorted(known)) or "none"
        raise InvalidInput(f"{details.title.title} has no season {unknown[0]} (its seasons: {listed})")
    return set(wanted)


async def _user(session: AsyncSession, user_id: int, *, lock: bool = False) -> User:
    query = select(User).where(User.id == user_id)
    user = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"there is no user with id {user_id}")
    return user


def _require(user: User, permission: Permission) -> None:
    require(
        username=user.username, role=user.role, status=user.status, overrides=user.permissions, permission=permission
    )


def _activity(request: Request, actor_id: int | None, kind: ActivityType, **details: Any) -> Activity:
    return Activity(
        user_id=actor_id,
        type=kind,
        content_type=request.content_type,
        media_id=request.media_id,
        tmdb_id=request.tmdb_id,
        tvdb_id=request.tvdb_id,
        imdb_id=request.imdb_id,
        request_id=request.id,
        title=request.title,
        poster=request.poster,
        year=request.year,
        details=details or None,
    )


async def _notify(
    session: AsyncSession, event: str, request: Request, recipients: Iterable[int], **payload: Any
) -> None:
    """Outbox rows, committed with the change; the dedup key makes a replay notify nobody twice."""
    rows = [
        {
            "dedup_key": f"{event}:{request.id}:user:{recipient}",
            "event": event,
            "recipient_user_id": recipient,
            "payload": {
                "request_id": request.id,
                "title": request.title,
                "year": request.year,
                "content_type": request.content_type.value,
                **payload,
            },
        }
        for recipient in sorted(set(recipients))
    ]
    if rows:
        await session.execute(insert(OutboxMessage).values(rows).on_conflict_do_nothing())


async def _followers(session: AsyncSession, request: Request) -> list[int]:
    watchers = await session.execute(select(RequestWatcher.user_id).where(RequestWatcher.request_id == request.id))
    return [request.requested_by_id, *watchers.scalars().all()]


async def _moderators(session: AsyncSession) -> list[int]:
    rows = (await session.execute(select(User.id, User.role, User.status, User.permissions))).all()
    return [
        row.id
        for row in rows
        if row.status.value == "active"
        and Permission.MANAGE_REQUESTS in effective_permissions(row.role, row.permissions)
    ]


# --- creating --------------------------------------------------------------------------------------------


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
    raise AssertionError("unreachable")


async def _create_once(
    database: Database, details: TitleDetails, actor_id: int, wanted: set[int], settings: RequestSettings
) -> CreateResult:
    title = details.title
    content_type = title.type
    async with database.transaction() as session:
        # The requester's row lock serialises their own concurrent requests: limits are counted exactly.
        actor = await _user(session, actor_id, lock=True)
        _require(actor, request_permission(content_type))
        match = _title_match(Request, content_type, title.tmdb_id, title.tvdb_id)

        available = await _available_seasons(session, content_type, title.tmdb_id, title.tvdb_id)
        if content_type == ContentType.MOVIE and available is not None:
            raise AlreadyAvailable(f"{title.title} is already available")
        pending = (
            await session.execute(
                select(Request).where(match, Request.status == RequestStatus.PENDING).with_for_update()
            )
        ).scalar_one_or_none()
        active = (
            (
                await session.execute(
                    select(Request)
                    .where(match, Request.status.in_([RequestStatus.APPROVED, RequestStatus.PARTIAL]))
                    .order_by(Request.created_at)
                )
            )
            .scalars()
            .all()
        )
        covered = set(available or ()) | {n for r in active for n in _season_numbers(r.seasons)}
        if pending is not None:
            return await _join(session, pending, actor, wanted - covered - _season_numbers(pending.seasons))
        remaining = wanted - covered
        is_movie = content_type == ContentType.MOVIE
        if active and (is_movie or not remaining):
            return await _join(session, active[-1], actor, set())
        if not is_movie and not remaining:
            raise AlreadyAvailable(f"{title.title}: every season asked for is already available")

        await _check_limits(session, actor, content_type, remaining, settings)
        request = Request(
            requested_by_id=actor.id,
            content_type=content_type,
            tmdb_id=title.tmdb_id,
            tvdb_id=title.tvdb_id,
            imdb_id=title.imdb_id,
            title=title.title,
            year=title.year,
            poster=title.poster,
            overview=title.overview[:2000] or None,
            seasons=_season_json(remaining),
            expires_at=datetime.now(UTC) + timedelta(days=settings.expiry_days),
        )
        session.add(request)
        await session.flush()
        session.add(_activity(request, actor.id, ActivityType.REQUEST_CREATED, seasons=sorted(remaining)))
        outcome: Literal["created", "auto_approved"] = "created"
        if auto_approve_permission(content_type) in effective_permissions(actor.role, actor.permissions):
            await _approve_row(session, request, actor)
            outcome = "auto_approved"
        else:
            await _notify(
                session,
                "request_pending",
                request,
                [m for m in await _moderators(session) if m != actor.id],
                requested_by=actor.username,
            )
        return CreateResult(await _view(session, request), outcome, sorted(remaining))


async def _join(session: AsyncSession, request: Request, actor: User, new_seasons: set[int]) -> CreateResult:
    followers = await _followers(session, request)
    if actor.id in followers and not new_seasons:
        raise AlreadyDecided(f"you already follow request #{request.id} for {request.title} ({request.status.value})")
    if actor.id not in followers:
        await session.execute(
            insert(RequestWatcher).values(request_id=request.id, user_id=actor.id).on_conflict_do_nothing()
        )
        session.add(_activity(request, actor.id, ActivityType.REQUEST_JOINED))
    if new_seasons:
        request.seasons = _season_json(_season_numbers(request.seasons) | new_seasons)
        request.modified_at = datetime.now(UTC)
    await session.flush()
    return CreateResult(await _view(session, request), "joined", sorted(new_seasons))


async def _available_seasons(
    session: AsyncSession, content_type: ContentType, tmdb_id: int | None, tvdb_id: int | None
) -> set[int] | None:
    """None when the library does not have the title; else the seasons already available (empty for films)."""
    media = (
        (await session.execute(select(Media).where(_title_match(Media, content_type, tmdb_id, tvdb_id))))
        .scalars()
        .first()
    )
    if media is None:
        return None
    if content_type == ContentType.MOVIE:
        return set() if media.status == MediaStatus.AVAILABLE else None
    seasons = await session.execute(
        select(MediaSeason.season_number).where(
            MediaSeason.media_id == media.id, MediaSeason.status == MediaStatus.AVAILABLE
        )
    )
    return set(seasons.scalars().all())


async def _check_limits(
    session: AsyncSession, actor: User, content_type: ContentType, seasons: set[int], settings: RequestSettings
) -> None:
    if actor.role in (UserRole.ADMIN, UserRole.MODERATOR):
        return
    limit = actor.request_limit if actor.request_limit is not None else settings.request_limit
    if limit is not None:
        open_count = (
            await session.execute(
                select(func.count()).where(
                    Request.requested_by_id == actor.id, Request.status.in_(OPEN_REQUEST_STATUSES)
                )
            )
        ).scalar_one()
        if open_count >= limit:
            raise QuotaExceeded(
                f"{actor.username} already has {open_count} open requests (the limit is {limit}); "
                "wait for one to be decided or cancel one"
            )
    kind = content_type.value
    quota = getattr(actor, f"{kind}_quota_limit")
    quota = quota if quota is not None else getattr(settings, f"{kind}_quota_limit")
    if quota is None:
        return
    days = getattr(actor, f"{kind}_quota_days") or getattr(settings, f"{kind}_quota_days")
    since = datetime.now(UTC) - timedelta(days=days)
    by_seasons = content_type != ContentType.MOVIE and settings.series_quota_counts == "seasons"
    counted = func.coalesce(func.sum(func.jsonb_array_length(Request.seasons)), 0) if by_seasons else func.count()
    used = (
        await session.execute(
            select(counted).where(
                Request.requested_by_id == actor.id,
                Request.content_type == content_type,
                Request.created_at >= since,
                Request.status.not_in([RequestStatus.DENIED, RequestStatus.CANCELLED]),
            )
        )
    ).scalar_one()
    asking = len(seasons) if by_seasons else 1
    if used + asking > quota:
        unit = "seasons" if by_seasons else "requests"
        raise QuotaExceeded(
            f"{actor.username} may request {quota} {kind} {unit} every {days} days and has used "
            f"{used}; this would need {asking} more"
        )


# --- deciding -------------------------------------------------------------------------------------------


async def _media_for(session: AsyncSession, request: Request) -> Media:
    """The library record approval creates (or reuses), in the default instance for the content type."""
    media = (
        (
            await session.execute(
                select(Media)
                .where(_title_match(Media, request.content_type, request.tmdb_id, request.tvdb_id))
                .with_for_update()
            )
        )
        .scalars()
        .first()
    )
    instance = (
        await session.execute(
            select(Instance).where(Instance.content_type == request.content_type, Instance.is_default, Instance.enabled)
        )
    ).scalar_one_or_none()
    if media is None:
        media = Media(
            content_type=request.content_type,
            tmdb_id=request.tmdb_id,
            tvdb_id=request.tvdb_id,
            imdb_id=request.imdb_id,
            title=request.title,
            year=request.year,
        )
        session.add(media)
    if media.status != MediaStatus.AVAILABLE:
        media.status = MediaStatus.PROCESSING
    if instance is not None and media.instance_id is None:
        media.instance_id = instance.id
    await session.flush()
    return media


async def _approve_row(session: AsyncSession, request: Request, actor: User) -> None:
    media = await _media_for(session, request)
    request.status = RequestStatus.APPROVED
    request.approved_by_id = actor.id
    request.approved_at = datetime.now(UTC)
    request.media_id = media.id
    request.instance_id = media.instance_id
    await session.flush()
    session.add(_activity(request, actor.id, ActivityType.REQUEST_APPROVED))
    await _notify(session, "request_approved", request, await _followers(session, request), approved_by=actor.username)


async def _decided_error(session: AsyncSession, request_id: int, attempted: str) -> Exception:
    approver = aliased(User)
    row = (
        await session.execute(
            select(Request.status, approver.username)
            .outerjoin(approver, approver.id == Request.approved_by_id)
            .where(Request.id == request_id)
        )
    ).first()
    if row is None:
        return NotFound(f"there is no request #{request_id}")
    by = f" by {row.username}" if row.username else ""
    return AlreadyDecided(f"request #{request_id} was already {row.status.value}{by}; it cannot be {attempted}")


async def _claim_pending(session: AsyncSession, request_id: int, attempted: str, **conditions: Any) -> Request:
    """Lock the request only if it is still pending: the one place a decision is made safe under concurrency."""
    query = select(Request).where(Request.id == request_id, Request.status == RequestStatus.PENDING)
    for column, value in conditions.items():
        query = query.where(getattr(Request, column) == value)
    request = (await session.execute(query.with_for_update())).scalar_one_or_none()
    if request is None:
        raise await _decided_error(session, request_id, attempted)
    return request


async def approve(database: Database, request_id: int, *, actor_id: int) -> RequestView:
    async with database.transaction() as session:
        actor = await _user(session, actor_id)
        _require(actor, Permission.MANAGE_REQUESTS)
        request = await _claim_pending(session, request_id, "approved")
        await _approve_row(session, request, actor)
        return await _view(session, request)


async def deny(database: Database, request_id: int, *, actor_id: int, reason: str) -> RequestView:
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= MAX_REASON:
        raise InvalidInput(f"a denial needs a reason of 1 to {MAX_REASON} characters")
    async with database.transaction() as session:
        actor = await _user(session, actor_id)
        _require(actor, Permission.MANAGE_REQUESTS)
        request = await _claim_pending(session, request_id, "denied")
        request.status = RequestStatus.DENIED
        request.denial_reason = reason
        request.approved_by_id = actor.id
        await session.flush()
        session.add(_activity(request, actor.id, ActivityType.REQUEST_DENIED, reason=reason))
        await _notify(
            session,
            "request_denied",
            request,
            await _followers(session, request),
            reason=reason,
            denied_by=actor.username,
        )
        return await _view(session, request)


async def cancel(database: Database, request_id: int, *, actor_id: int) -> RequestView:
    async with database.transaction() as session:
        actor = await _user(session, actor_id)
        exists = (await session.execute(select(Request.requested_by_id).where(Request.id == request_id))).first()
        if exists is None:
            raise NotFound(f"there is no request #{request_id}")
        if exists.requested_by_id != actor.id:
            raise NotAllowed(f"only the person who made request #{request_id} can cancel it")
        request = await _claim_pending(session, request_id, "cancelled", requested_by_id=actor.id)
        request.status = RequestStatus.CANCELLED
        await session.flush()
        session.add(_activity(request, actor.id, ActivityType.REQUEST_CANCELLED))
        return await _view(session, request)


# --- reading --------------------------------------------------------------------------------------------


async def _view(session: AsyncSession, request: Request) -> RequestView:
    requester = aliased(User)
    approver = aliased(User)
    names = (
        await session.execute(
            select(requester.username, approver.username)
            .select_from(Request)
            .join(requester, requester.id == Request.requested_by_id)
            .outerjoin(approver, approver.id == Request.approved_by_id)
            .where(Request.id == request.id)
        )
    ).one()
    watchers = (
        (
            await session.execute(
                select(User.username)
                .join(RequestWatcher, RequestWatcher.user_id == User.id)
                .where(RequestWatcher.request_id == request.id)
                .order_by(RequestWatcher.id)
            )
        )
        .scalars()
        .all()
    )
    await session.refresh(request, ["modified_at", "created_at"])
    return RequestView(
        id=request.id,
        status=request.status,
        content_type=request.content_type,
        title=request.title,
        year=request.year,
        tmdb_id=request.tmdb_id,
        tvdb_id=request.tvdb_id,
        imdb_id=request.imdb_id,
        seasons=sorted(_season_numbers(request.seasons)),
        requested_by=names[0],
        watchers=list(watchers),
        approved_by=names[1],
        denial_reason=request.denial_reason,
        created_at=request.created_at,
        modified_at=request.modified_at,
    )


async def get(database: Database, request_id: int) -> RequestView:
    async with database.session() as session:
        request = await session.get(Request, request_id)
        if request is None:
            raise NotFound(f"there is no request #{request_id}")
        return await _view(session, request)


async def list_requests(
    database: Database,
    *,
    actor_id: int | None,
    status: RequestStatus | None = None,
    user_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[RequestView]:
    """Newest first. Without permission to see everyone's, a person sees their own and those they follow.

    `actor_id` None is the operator at the shell, who sees everything.
    """
    if not 1 <= limit <= 100:
        raise InvalidInput("limit must be between 1 and 100")
    if offset < 0:
        raise InvalidInput("offset cannot be negative")
    async with database.session() as session:
        actor = await _user(session, actor_id) if actor_id is not None else None
        query = select(Request).order_by(Request.created_at.desc(), Request.id.desc()).limit(limit).offset(offset)
        if status is not None:
            query = query.where(Request.status == status)
        if user_id is not None:
            query = query.where(Request.requested_by_id == user_id)
        if actor is not None and Permission.VIEW_ALL_REQUESTS not in effective_permissions(
            actor.role, actor.permissions
        ):
            followed = select(RequestWatcher.request_id).where(RequestWatcher.user_id == actor.id)
            query = query.where(or_(Request.requested_by_id == actor.id, Request.id.in_(followed)))
        found = (await session.execute(query)).scalars().all()
        return [await _view(session, request) for request in found]
