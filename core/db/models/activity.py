"""The activity feed: append-only, one row per event, written with the change it records."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, JsonDict, created_at_column
from core.db.pgtypes import ACTIVITY_TYPE, CONTENT_TYPE, VISIBILITY
from core.db.session import ACTIVITY
from core.enums import ActivityType, ContentType, Visibility

__all__ = ["Activity", "activity_announcement"]


class Activity(Base):
    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_created_at", "created_at"),
        Index("ix_activity_type_created_at", "type", "created_at"),
        Index("ix_activity_user_id_created_at", "user_id", "created_at"),
        Index("ix_activity_request_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    type: Mapped[ActivityType] = mapped_column(ACTIVITY_TYPE)
    content_type: Mapped[ContentType | None] = mapped_column(CONTENT_TYPE)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))
    tvdb_id: Mapped[int | None]
    tmdb_id: Mapped[int | None]
    anidb_id: Mapped[int | None]
    imdb_id: Mapped[str | None] = mapped_column(String(16))
    episode_id: Mapped[int | None]
    season_number: Mapped[int | None]
    episode_number: Mapped[int | None]
    movie_file_id: Mapped[int | None]
    edition: Mapped[str | None]
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id", ondelete="SET NULL"))
    title: Mapped[str | None]
    poster: Mapped[str | None]
    year: Mapped[int | None]
    overview: Mapped[str | None]
    details: Mapped[JsonDict | None]
    visibility: Mapped[Visibility] = mapped_column(VISIBILITY, server_default=Visibility.PUBLIC.value)
    created_at: Mapped[datetime] = created_at_column()

    def announcement(self) -> tuple[str, str]:
        """What real-time listeners hear once this entry is committed (see core.db.session)."""
        # Only what was set before the flush: server defaults are not loaded, and loading them here would
        # need I/O inside a flush.
        loaded = self.__dict__
        return activity_announcement(
            id=self.id,
            type=loaded["type"],
            user_id=loaded.get("user_id"),
            content_type=loaded.get("content_type"),
            title=loaded.get("title"),
            request_id=loaded.get("request_id"),
            visibility=loaded.get("visibility") or Visibility.PUBLIC,
            details=loaded.get("details"),
        )


def activity_announcement(
    *,
    id: int,
    type: ActivityType,
    user_id: int | None,
    content_type: ContentType | None,
    title: str | None,
    request_id: int | None,
    visibility: Visibility,
    details: JsonDict | None,
) -> tuple[str, str]:
    """The real-time message for an activity entry, however it was written."""
    message = {
        "id": id,
        "type": str(type),
        "user_id": user_id,
        "content_type": str(content_type) if content_type else None,
        "title": title,
        "request_id": request_id,
        "visibility": str(visibility),
        "details": details or {},
    }
    return ACTIVITY, json.dumps(message, default=str)
