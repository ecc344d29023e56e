"""Watchlists: what each person plans to watch, is watching, has watched, dropped or put on hold, with
progress, a rating from 1 to 10 and a review.

Entries are keyed by the title's external ids (the library may not have it). Someone else's list is shown
only if their privacy settings allow it (`showWatchlist`, on unless turned off); admins see every list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import WatchlistEntry
from core.db.session import Database
from core.enums import ActivityType, ContentType, Visibility, WatchlistType, parse_choice
from core.errors import AlreadyExists, InvalidInput, NotAllowed, NotFound
from core.metadata.types import Title
from core.permissions import Permission, effective_permissions
from core.services import activity_log
from core.services.operator import Operator, Someone
from core.services.requests.common import Person, load_user, title_by_ids, title_ids
from core.services.users import switched_on

__all__ = [
    "CLEAR",
    "MAX_REVIEW",
    "WatchlistView",
    "add",
    "entries",
    "parse_type",
    "remove",
    "update",
]

MAX_REVIEW = 4000


class Clear(Enum):
    """Pass as a rating or review: remove it."""

    CLEAR = "clear"


CLEAR: Final = Clear.CLEAR


@dataclass(frozen=True)
class WatchlistView:
    id: int
    user: str
    type: WatchlistType
    content_type: ContentType
    title: str
    year: int | None
    tmdb_id: int | None
    tvdb_id: int | None
    imdb_id: str | None
    season: int | None
    episode: int | None
    rating: int | None
    review: str | None
    added_at: datetime
    modified_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "type": self.type.value,
            "content_type": self.content_type.value,
            "title": self.title,
            "year": self.year,
            "tmdb_id": self.tmdb_id,
            "tvdb_id": self.tvdb_id,
            "imdb_id": self.imdb_id,
            "season": self.season,
            "episode": self.episode,
            "rating": self.rating,
            "review": self.review,
            "added_at": self.added_at.isoformat(),
            "modified_at": self.modified_at.isoformat(),
        }


def parse_type(value: str) -> WatchlistType:
    return parse_choice(WatchlistType, value, "a list")


def _view(entry: WatchlistEntry, username: str) -> WatchlistView:
    return WatchlistView(
        id=entry.id,
        user=username,
        type=entry.type,
        content_type=entry.content_type,
        title=entry.title,
        year=entry.year,
        tmdb_id=entry.tmdb_id,
        tvdb_id=entry.tvdb_id,
        imdb_id=entry.imdb_id,
        season=entry.current_season,
        episode=entry.current_episode,
        rating=entry.rating,
        review=entry.review,
        added_at=entry.created_at,
        modified_at=entry.modified_at,
    )


async def add(
    database: Database, user_id: int, title: Title, kind: WatchlistType = WatchlistType.WATCHLIST
) -> WatchlistView:
    if title.tmdb_id is None and title.tvdb_id is None:
        raise InvalidInput("{title} has no TMDB or TVDB id to keep it by", code="watchlist.no_id", title=title.title)
    try:
        async with database.transaction() as session:
            user = await load_user(session, user_id)
            existing = await _find(session, user.id, title.type, title.tmdb_id, title.tvdb_id)
            if existing is not None:
                raise AlreadyExists(
                    "{title} is already on your list (as {list})",
                    code="watchlist.exists",
                    title=existing.title,
                    list=existing.type.value,
                )
            entry = WatchlistEntry(
                user_id=user.id,
                content_type=title.type,
                tmdb_id=title.tmdb_id,
                tvdb_id=title.tvdb_id,
                imdb_id=title.imdb_id,
                title=title.title,
                year=title.year,
                poster=title.poster,
                type=kind,
            )
            session.add(entry)
            await session.flush()
            await _record_watching(session, user, entry, _Progress(None, None, None))
            await session.refresh(entry)
            return _view(entry, user.username)
    except IntegrityError:
        raise AlreadyExists("{title} is already on your list", code="watchlist.already", title=title.title) from None


_ENTRY_FOR_TITLE = (
    select(WatchlistEntry)
    .where(WatchlistEntry.user_id == bindparam("user"), title_by_ids(WatchlistEntry))
    .with_for_update()
)


class _Progress(NamedTuple):
    type: WatchlistType | None
    season: int | None
    episode: int | None


async def _record_watching(session: AsyncSession, user: Person, entry: WatchlistEntry, before: _Progress) -> None:
    """The seed's watched activity: a film marked watched; a show's progress moving on, or the show finished.
    Someone whose watch history is private watches privately."""
    finished = entry.type == WatchlistType.WATCHED and before.type != WatchlistType.WATCHED
    moved = (entry.current_season, entry.current_episode) != (before.season, before.episode)
    if entry.content_type == ContentType.MOVIE:
        if not finished:
            return
        kind, details = ActivityType.MOVIE_WATCHED, {}
    elif moved or finished:
        kind = ActivityType.EPISODE_WATCHED
        details = {"season": entry.current_season, "episode": entry.current_episode}
        if finished:
            details["finished"] = True
    else:
        return
    shared = switched_on(user.privacy_settings, "showWatchHistory")
    await activity_log.write(
        session,
        user_id=user.id,
        type=kind,
        content_type=entry.content_type,
        tmdb_id=entry.tmdb_id,
        tvdb_id=entry.tvdb_id,
        imdb_id=entry.imdb_id,
        title=entry.title,
        year=entry.year,
        poster=entry.poster,
        season_number=entry.current_season if kind == ActivityType.EPISODE_WATCHED else None,
        episode_number=entry.current_episode if kind == ActivityType.EPISODE_WATCHED else None,
        details=details or None,
        visibility=Visibility.PUBLIC if shared else Visibility.PRIVATE,
    )


async def _find(
    session: AsyncSession, user_id: int, content_type: ContentType, tmdb_id: int | None, tvdb_id: int | None
) -> WatchlistEntry | None:
    found = await session.execute(_ENTRY_FOR_TITLE, {"user": user_id, **title_ids(content_type, tmdb_id, tvdb_id)})
    return found.scalars().first()


async def _own_entry(
    session: AsyncSession, user_id: int, content_type: ContentType, tmdb_id: int | None, tvdb_id: int | None
) -> WatchlistEntry:
    if tmdb_id is None and tvdb_id is None:
        raise InvalidInput("say which title: a TMDB or TVDB id", code="watchlist.which")
    entry = await _find(session, user_id, content_type, tmdb_id, tvdb_id)
    if entry is None:
        raise NotFound("that title is not on your list", code="watchlist.missing")
    return entry


async def update(
    database: Database,
    user_id: int,
    content_type: ContentType,
    *,
    tmdb_id: int | None = None,
    tvdb_id: int | None = None,
    kind: WatchlistType | None = None,
    season: int | None = None,
    episode: int | None = None,
    rating: int | Clear | None = None,
    review: str | Clear | None = None,
) -> WatchlistView:
    """Change what is given; `CLEAR` removes a rating or review."""
    if rating is not None and rating is not CLEAR and not (isinstance(rating, int) and 1 <= rating <= 10):
        raise InvalidInput("a rating is a whole number from 1 to 10", code="watchlist.rating")
    if review is not None and review is not CLEAR:
        review = review.strip()
        if not review or len(review) > MAX_REVIEW or not review.replace("\n", " ").isprintable():
            raise InvalidInput(
                "a review has 1 to {most} printable characters", code="watchlist.review", most=MAX_REVIEW
            )
    for label, value in (("season", season), ("episode", episode)):
        if value is not None and not 0 <= value <= 10_000:
            raise InvalidInput(
                "{label} must be between 0 and {most}", code="watchlist.progress", label=label, most=10_000
            )
    async with database.transaction() as session:
        user = await load_user(session, user_id)
        entry = await _own_entry(session, user.id, content_type, tmdb_id, tvdb_id)
        if (season is not None or episode is not None) and entry.content_type == ContentType.MOVIE:
            raise InvalidInput("films have no seasons or episodes to track", code="watchlist.film_progress")
        before = _Progress(entry.type, entry.current_season, entry.current_episode)
        if kind is not None:
            entry.type = kind
        if season is not None:
            entry.current_season = season
        if episode is not None:
            entry.current_episode = episode
        if rating is not None:
            entry.rating = None if rating is CLEAR else rating
        if review is not None:
            entry.review = None if review is CLEAR else review
        await _record_watching(session, user, entry, before)
        await session.flush()
        await session.refresh(entry)
        return _view(entry, user.username)


async def remove(
    database: Database,
    user_id: int,
    content_type: ContentType,
    *,
    tmdb_id: int | None = None,
    tvdb_id: int | None = None,
) -> str:
    """Take a title off the list; returns its name."""
    async with database.transaction() as session:
        entry = await _own_entry(session, user_id, content_type, tmdb_id, tvdb_id)
        await session.delete(entry)
        return entry.title


async def entries(
    database: Database,
    *,
    owner_id: int,
    reader: Someone,
    kind: WatchlistType | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[WatchlistView]:
    """`owner_id`'s list as `reader` may see it (the operator sees every list)."""
    if not 1 <= limit <= 100:
        raise InvalidInput("limit must be between 1 and {most}", code="page.limit", most=100)
    if not 0 <= offset <= 100_000:
        raise InvalidInput("offset must be between 0 and {most}", code="page.offset", most=100_000)
    async with database.session() as session:
        owner = await load_user(session, owner_id)
        if not isinstance(reader, Operator) and reader != owner.id:
            someone = await load_user(session, reader)
            admin = Permission.MANAGE_USERS in effective_permissions(someone.role, someone.permissions)
            if not admin and not switched_on(owner.privacy_settings, "showWatchlist"):
                raise NotAllowed("{name} keeps their watchlist private", code="watchlist.private", name=owner.username)
        query = (
            select(WatchlistEntry)
            .where(WatchlistEntry.user_id == owner.id)
            .order_by(WatchlistEntry.modified_at.desc(), WatchlistEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
        if kind is not None:
            query = query.where(WatchlistEntry.type == kind)
        rows = (await session.execute(query)).scalars().all()
        return [_view(entry, owner.username) for entry in rows]
