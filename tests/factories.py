"""Small builders for test data: each test arranges exactly what it needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Request, User, WatchlistEntry
from core.enums import ContentType, RequestStatus, UserRole

_counter = iter(range(1, 10**9))


async def make_user(session: AsyncSession, name: str | None = None, role: UserRole = UserRole.USER) -> User:
    user = User(username=name or f"user{next(_counter)}", role=role)
    session.add(user)
    await session.flush()
    return user


async def make_request(
    session: AsyncSession,
    requester: User,
    *,
    tmdb_id: int | None = 603,
    tvdb_id: int | None = None,
    content_type: ContentType = ContentType.MOVIE,
    status: RequestStatus = RequestStatus.PENDING,
    **fields: Any,
) -> Request:
    request = Request(
        requested_by_id=requester.id,
        content_type=content_type,
        tmdb_id=tmdb_id,
        tvdb_id=tvdb_id,
        title=fields.pop("title", "The Matrix"),
        year=fields.pop("year", 1999),
        status=status,
        **fields,
    )
    session.add(request)
    await session.flush()
    return request


async def make_watchlist_entry(
    session: AsyncSession, user: User, *, tmdb_id: int = 603, **fields: Any
) -> WatchlistEntry:
    entry = WatchlistEntry(
        user_id=user.id,
        content_type=fields.pop("content_type", ContentType.MOVIE),
        tmdb_id=tmdb_id,
        title="The Matrix",
        **fields,
    )
    session.add(entry)
    await session.flush()
    return entry
