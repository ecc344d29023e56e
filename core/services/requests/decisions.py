"""Decisions on a request. Each claims the request only while it is in a state that allows the change (a
row lock on a conditional select), so two moderators pressing at once give one result and a clear answer
to the other."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.db.models import Instance, Media, Request, User
from core.db.session import Database
from core.enums import ActivityType, MediaStatus, RequestStatus
from core.errors import AlreadyDecided, InvalidInput, NotAllowed, NotFound
from core.permissions import Permission
from core.services.requests.common import (
    MAX_REASON,
    RequestView,
    followers_of,
    load_user,
    record,
    require_permission,
    title_match,
    view_of,
)


async def media_for(session: AsyncSession, request: Request) -> Media:
    """The library record approval creates (or reuses), in the default instance for the content type."""
    media = (
        (
            await session.execute(
                select(Media)
                .where(title_match(Media, request.content_type, request.tmdb_id, request.tvdb_id))
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


async def approve_row(session: AsyncSession, request: Request, actor: User, *, retry: bool = False) -> None:
    """Approve (or, after a failure, approve again): library record, status, activity and notifications."""
    media = await media_for(session, request)
    request.status = RequestStatus.APPROVED
    request.failure_reason = None
    request.approved_by_id = actor.id
    request.approved_at = datetime.now(UTC)
    request.media_id = media.id
    request.instance_id = media.instance_id
    await session.flush()
    await record(
        session,
        request,
        actor.id,
        ActivityType.REQUEST_APPROVED,
        await followers_of(session, request),
        approved_by=actor.username,
        **({"retry": True} if retry else {}),
    )


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


async def claim(
    session: AsyncSession,
    request_id: int,
    attempted: str,
    allowed: tuple[RequestStatus, ...] = (RequestStatus.PENDING,),
    **conditions: Any,
) -> Request:
    """Lock the request only if it is in a state that allows the change: the one place every transition is
    made safe under concurrency. Anyone arriving second is told who got there first."""
    query = select(Request).where(Request.id == request_id, Request.status.in_(allowed))
    for column, value in conditions.items():
        query = query.where(getattr(Request, column) == value)
    request = (await session.execute(query.with_for_update())).scalar_one_or_none()
    if request is None:
        raise await _decided_error(session, request_id, attempted)
    return request


async def approve(database: Database, request_id: int, *, actor_id: int) -> RequestView:
    async with database.transaction() as session:
        actor = await load_user(session, actor_id)
        require_permission(actor, Permission.MANAGE_REQUESTS)
        request = await claim(session, request_id, "approved")
        await approve_row(session, request, actor)
        return await view_of(session, request)


async def deny(database: Database, request_id: int, *, actor_id: int, reason: str) -> RequestView:
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= MAX_REASON:
        raise InvalidInput(f"a denial needs a reason of 1 to {MAX_REASON} characters")
    async with database.transaction() as session:
        actor = await load_user(session, actor_id)
        require_permission(actor, Permission.MANAGE_REQUESTS)
        request = await claim(session, request_id, "denied")
        request.status = RequestStatus.DENIED
        request.denial_reason = reason
        request.approved_by_id = actor.id
        await session.flush()
        await record(
            session,
            request,
            actor.id,
            ActivityType.REQUEST_DENIED,
            await followers_of(session, request),
            reason=reason,
            denied_by=actor.username,
        )
        return await view_of(session, request)


async def cancel(database: Database, request_id: int, *, actor_id: int) -> RequestView:
    async with database.transaction() as session:
        actor = await load_user(session, actor_id)
        exists = (await session.execute(select(Request.requested_by_id).where(Request.id == request_id))).first()
        if exists is None:
            raise NotFound(f"there is no request #{request_id}")
        if exists.requested_by_id != actor.id:
            raise NotAllowed(f"only the person who made request #{request_id} can cancel it")
        request = await claim(session, request_id, "cancelled", requested_by_id=actor.id)
        request.status = RequestStatus.CANCELLED
        await session.flush()
        await record(session, request, actor.id, ActivityType.REQUEST_CANCELLED)
        return await view_of(session, request)
