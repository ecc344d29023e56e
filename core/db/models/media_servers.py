"""Plex, Jellyfin and Emby connections and what each user has watched on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, created_at_column, updated_at_column
from core.db.pgtypes import CONTENT_TYPE, MEDIA_SERVER_TYPE
from core.enums import ContentType, MediaServerType

__all__ = ["Handoff", "LibraryItem", "MediaServer", "WatchedItem"]


class MediaServer(Base):
    __tablename__ = "media_server"
    __table_args__ = (
        CheckConstraint("port BETWEEN 1 AND 65535", name="port_range"),
        CheckConstraint("sync_interval >= 60", name="sync_interval_minimum"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[MediaServerType] = mapped_column(MEDIA_SERVER_TYPE)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    host: Mapped[str]
    port: Mapped[int]
    use_https: Mapped[bool] = mapped_column(server_default=text("false"))
    base_path: Mapped[str] = mapped_column(server_default="")  # behind a reverse proxy: /jellyfin
    api_key_encrypted: Mapped[str]
    version: Mapped[str | None]
    machine_identifier: Mapped[str | None]
    user_id: Mapped[str | None]  # the server's own id of its main user
    enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    sync_watched_status: Mapped[bool] = mapped_column(server_default=text("true"))
    sync_library: Mapped[bool] = mapped_column(server_default=text("true"))
    sync_interval: Mapped[int] = mapped_column(server_default=text("3600"))  # seconds
    last_sync: Mapped[datetime | None]
    last_sync_success: Mapped[bool] = mapped_column(server_default=text("true"))
    last_sync_error: Mapped[str | None]
    # Where the next incremental sync starts: when the last successful one started (its cursor moves only on
    # success, so a sync killed mid-way is read again whole).
    synced_until: Mapped[datetime | None]
    last_full_sync: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()

    @property
    def url(self) -> str:
        scheme = "https" if self.use_https else "http"
        return f"{scheme}://{self.host}:{self.port}{self.base_path}"


class WatchedItem(Base):
    __tablename__ = "watched_item"
    __table_args__ = (
        # Episode and edition are null for whole movies; NULLS NOT DISTINCT makes those collide as they should.
        UniqueConstraint(
            "media_server_id",
            "user_id",
            "media_id",
            "episode_id",
            "edition",
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_watched_item_user_id_last_watched", "user_id", "last_watched"),
        CheckConstraint("play_count >= 0", name="play_count_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    media_server_id: Mapped[int] = mapped_column(ForeignKey("media_server.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    content_type: Mapped[ContentType] = mapped_column(CONTENT_TYPE)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    tvdb_id: Mapped[int | None]
    tmdb_id: Mapped[int | None]
    anidb_id: Mapped[int | None]
    imdb_id: Mapped[str | None] = mapped_column(String(16))
    episode_id: Mapped[int | None]
    season_number: Mapped[int | None]
    episode_number: Mapped[int | None]
    movie_file_id: Mapped[int | None]
    edition: Mapped[str | None]
    watched: Mapped[bool] = mapped_column(server_default=text("true"))
    last_watched: Mapped[datetime | None]
    play_count: Mapped[int] = mapped_column(server_default=text("1"))
    media_server_key: Mapped[str | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class LibraryItem(Base):
    """A film or show as one server holds it: which title it is and how many episodes of each season it has.

    A title's availability is worked out from these rows of every server, so one server losing a title
    leaves it available while another still has it."""

    __tablename__ = "library_item"
    __table_args__ = (
        UniqueConstraint("media_server_id", "item_key"),
        Index("ix_library_item_media_id", "media_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    media_server_id: Mapped[int] = mapped_column(ForeignKey("media_server.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(200))
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    # Season number (as text, JSON's keys) -> episodes on the server; {} for films.
    seasons: Mapped[dict[str, int]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    seen_at: Mapped[datetime]


class Handoff(Base):
    """An approved request still to be sent to its instance's Sonarr or Radarr, or sent (sent_at).

    Written with the approval, in its transaction; the hand-off job takes due rows with SKIP LOCKED and a
    lease (due_at pushed ahead), so each is sent by one process, and retried with backoff when it fails."""

    __tablename__ = "handoff"
    __table_args__ = (Index("ix_handoff_due", "due_at", postgresql_where=text("sent_at IS NULL")),)

    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    last_error: Mapped[str | None]
    sent_at: Mapped[datetime | None]
    external_id: Mapped[int | None]  # the series' or movie's id in Sonarr/Radarr
