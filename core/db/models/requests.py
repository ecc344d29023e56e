"""Requests: who asked for what, the decision on it, and everyone following it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, created_at_column, updated_at_column
from core.db.pgtypes import CONTENT_TYPE, REQUEST_STATUS
from core.enums import ContentType, RequestStatus

__all__ = ["Request", "RequestWatcher"]

# One *pending* request per title: a second person asking joins it as a watcher. Decided requests may
# coexist (a show approved for season 1 can get a new pending request for season 2).
_PENDING = text("status = 'pending'")


class Request(Base):
    __tablename__ = "request"
    __table_args__ = (
        Index(
            "uq_request_pending_tmdb_id",
            "content_type",
            "tmdb_id",
            unique=True,
            postgresql_where=text("status = 'pending' AND tmdb_id IS NOT NULL"),
        ),
        Index(
            "uq_request_pending_tvdb_id",
            "content_type",
            "tvdb_id",
            unique=True,
            postgresql_where=text("status = 'pending' AND tvdb_id IS NOT NULL"),
        ),
        Index("ix_request_status_created_at", "status", "created_at"),
        Index("ix_request_requested_by_id_created_at", "requested_by_id", "created_at"),
        Index("ix_request_tmdb_id", "tmdb_id"),
        Index("ix_request_tvdb_id", "tvdb_id"),
        # The expiry job scans only what can still expire.
        Index("ix_request_expires_at", "expires_at", postgresql_where=_PENDING),
        CheckConstraint("tmdb_id IS NOT NULL OR tvdb_id IS NOT NULL", name="has_title_id"),
        CheckConstraint(
            "denial_reason IS NULL OR length(denial_reason) BETWEEN 1 AND 500", name="denial_reason_length"
        ),
        CheckConstraint("status <> 'denied' OR denial_reason IS NOT NULL", name="denied_has_reason"),
        CheckConstraint("status <> 'failed' OR failure_reason IS NOT NULL", name="failed_has_reason"),
        CheckConstraint(
            "status NOT IN ('approved', 'available', 'partial') OR approved_at IS NOT NULL",
            name="approved_has_time",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    content_type: Mapped[ContentType] = mapped_column(CONTENT_TYPE)
    tvdb_id: Mapped[int | None]
    tmdb_id: Mapped[int | None]
    anidb_id: Mapped[int | None]
    imdb_id: Mapped[str | None] = mapped_column(String(16))

    # Denormalised from metadata so lists render without a lookup.
    title: Mapped[str]
    year: Mapped[int | None]
    poster: Mapped[str | None]
    overview: Mapped[str | None]

    # [{"season_number": 1, "monitored": true}, ...] in TVDB numbering; empty for movies.
    seasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    status: Mapped[RequestStatus] = mapped_column(REQUEST_STATUS, server_default=RequestStatus.PENDING.value)

    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    denial_reason: Mapped[str | None]
    failure_reason: Mapped[str | None]

    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id", ondelete="SET NULL"))
    quality_profile_id: Mapped[int | None] = mapped_column(ForeignKey("quality_profile.id", ondelete="SET NULL"))
    root_folder_id: Mapped[int | None] = mapped_column(ForeignKey("root_folder.id", ondelete="SET NULL"))

    created_at: Mapped[datetime] = created_at_column()
    modified_at: Mapped[datetime] = updated_at_column()
    expires_at: Mapped[datetime | None]

    # Timestamps the server sets come back with the INSERT or UPDATE (RETURNING): every use case shows them.
    __mapper_args__ = {"eager_defaults": True}


class RequestWatcher(Base):
    """Someone other than the requester who wants the same title; notified exactly like the requester."""

    __tablename__ = "request_watcher"
    __table_args__ = (UniqueConstraint("request_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at_column()
