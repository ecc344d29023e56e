"""Per-user lists: plan to watch, watching, watched, dropped, on hold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, created_at_column, updated_at_column
from core.db.pgtypes import CONTENT_TYPE, WATCHLIST_TYPE
from core.enums import ContentType, WatchlistType

__all__ = ["WatchlistEntry"]


class WatchlistEntry(Base):
    __tablename__ = "watchlist"
    __table_args__ = (
        # media_id is null until the title is in the library, so uniqueness rests on the external ids.
        Index(
            "uq_watchlist_user_tmdb_id",
            "user_id",
            "content_type",
            "tmdb_id",
            unique=True,
            postgresql_where=text("tmdb_id IS NOT NULL"),
        ),
        Index(
            "uq_watchlist_user_tvdb_id",
            "user_id",
            "content_type",
            "tvdb_id",
            unique=True,
            postgresql_where=text("tvdb_id IS NOT NULL"),
        ),
        Index("ix_watchlist_user_id_type", "user_id", "type"),
        CheckConstraint("tmdb_id IS NOT NULL OR tvdb_id IS NOT NULL", name="has_title_id"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 10", name="rating_range"),
        CheckConstraint("review IS NULL OR length(review) <= 4000", name="review_length"),
        CheckConstraint(
            "(current_season IS NULL OR current_season >= 0) AND (current_episode IS NULL OR current_episode >= 0)",
            name="progress_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    content_type: Mapped[ContentType] = mapped_column(CONTENT_TYPE)
    tvdb_id: Mapped[int | None]
    tmdb_id: Mapped[int | None]
    anidb_id: Mapped[int | None]
    imdb_id: Mapped[str | None] = mapped_column(String(16))
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    title: Mapped[str]
    year: Mapped[int | None]
    poster: Mapped[str | None]
    type: Mapped[WatchlistType] = mapped_column(WATCHLIST_TYPE, server_default=WatchlistType.WATCHLIST.value)
    current_season: Mapped[int | None]
    current_episode: Mapped[int | None]
    rating: Mapped[int | None]
    review: Mapped[str | None]
    created_at: Mapped[datetime] = created_at_column()
    modified_at: Mapped[datetime] = updated_at_column()
