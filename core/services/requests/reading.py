"""Reading requests: one, or a page of them, as the reader is allowed to see."""

from __future__ import annotations

from sqlalchemy import or_, select

from core.db.models import Request, RequestWatcher
from core.db.session import Database
from core.enums import RequestStatus
from core.errors import InvalidInput, NotFound
from core.permissions import Permission, effective_permissions
from core.services.requests.common import RequestView, load_user, view_of


async def get(database: Database, request_id: int) -> RequestView:
    async with database.session() as session:
        request = await session.get(Request, request_id)
        if request is None:
            raise NotFound(f"there is no request #{request_id}")
        return await view_of(session, request)


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
        actor = await load_user(session, actor_id) if actor_id is not None else None
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
        return [await view_of(session, request) for request in found]
