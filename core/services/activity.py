"""The activity feed: what happened, newest first, as the reader may see it.

Private entries are shown to the person they concern and to moderators; someone whose privacy settings
hide their request (or watch) history has their request (or watched) activity shown to nobody else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, not_, or_, select

from core.db.models import Activity, User
from core.db.session import Database
from core.enums import ActivityType, ContentType, Visibility
from core.errors import InvalidInput, NotFound
from core.permissions import Permission, effective_permissions, require
from core.services.operator import Operator, Someone

__all__ = ["ActivityEntry", "feed", "latest_id"]

_REQUEST_TYPES = [kind for kind in ActivityType if kind.value.startswith("request_")]
_WATCHED_TYPES = [ActivityType.EPISODE_WATCHED, ActivityType.MOVIE_WATCHED]
# Which entries each privacy setting keeps from others: read at every read, so turning one off hides the past too.
_PRIVATE_KINDS = ((_REQUEST_TYPES, "showRequestHistory"), (_WATCHED_TYPES, "showWatchHistory"))


def _hiding(setting: str) -> Any:
    return select(User.id).where(User.privacy_settings[setting].as_boolean().is_(False))


@dataclass(frozen=True)
class ActivityEntry:
    id: int
    type: ActivityType
    user: str | None
    content_type: ContentType | None
    title: str | None
    request_id: int | None
    details: dict[str, Any]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type.value,
            "user": self.user,
            "content_type": self.content_type.value if self.content_type else None,
            "title": self.title,
            "request_id": self.request_id,
            "details": self.details,
            "created_at": self.created_at.isoformat(),
        }


async def feed(
    database: Database,
    *,
    reader: Someone,
    types: list[ActivityType] | None = None,
    content_type: ContentType | None = None,
    user_id: int | None = None,
    limit: int = 20,
    offset: int = 0,
    after: int | None = None,
) -> list[ActivityEntry]:
    """The feed as `reader` may see it: a user sees the public activity (and their own); the operator all.
    Newest first; with `after`, the entries written after that one, oldest first (a live stream catching up)."""
    if not 1 <= limit <= 100:
        raise InvalidInput("limit must be between 1 and {most}", code="page.limit", most=100)
    if not 0 <= offset <= 100_000:
        raise InvalidInput("offset must be between 0 and {most}", code="page.offset", most=100_000)
    async with database.session() as session:
        query = (
            select(Activity, User.username)
            .outerjoin(User, User.id == Activity.user_id)
            .order_by(Activity.created_at.desc(), Activity.id.desc())
            .limit(limit)
            .offset(offset)
        )
        if after is not None:
            query = query.order_by(None).order_by(Activity.id).where(Activity.id > after)
        if types:
            query = query.where(Activity.type.in_(types))
        if content_type is not None:
            query = query.where(Activity.content_type == content_type)
        if user_id is not None:
            query = query.where(Activity.user_id == user_id)
        if not isinstance(reader, Operator):
            someone = await session.get(User, reader)
            if someone is None:
                raise NotFound("there is no user with id {id}", code="user.no_id", id=reader)
            require(
                username=someone.username,
                role=someone.role,
                status=someone.status,
                overrides=someone.permissions,
                permission=Permission.VIEW_ACTIVITY,
            )
            if Permission.MANAGE_REQUESTS not in effective_permissions(someone.role, someone.permissions):
                own = Activity.user_id == someone.id
                query = query.where(
                    or_(own, Activity.visibility == Visibility.PUBLIC),
                    *(
                        or_(own, not_(and_(Activity.type.in_(types), Activity.user_id.in_(_hiding(setting)))))
                        for types, setting in _PRIVATE_KINDS
                    ),
                )
        rows = (await session.execute(query)).all()
    return [
        ActivityEntry(
            row.Activity.id,
            row.Activity.type,
            row.username,
            row.Activity.content_type,
            row.Activity.title,
            row.Activity.request_id,
            row.Activity.details or {},
            row.Activity.created_at,
        )
        for row in rows
    ]


async def latest_id(database: Database) -> int:
    """The newest entry's id (0 with none): where a live stream that asked for nothing earlier starts."""
    async with database.session() as session:
        return int(await session.scalar(select(func.max(Activity.id))) or 0)
