"""The activity feed: append-only, one row per event, written with the change it records (always through
core/services/activity_log.py, which also announces it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, JsonDict, created_at_column
from core.db.pgtypes import ACTIVITY_TYPE, CONTENT_TYPE, VISIBILITY
from core.enums import ActivityType, ContentType, Visibility

__all__ = ["Activity"]


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
