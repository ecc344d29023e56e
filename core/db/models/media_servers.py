"""Plex, Jellyfin and Emby connections and what each user has watched on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, created_at_column, updated_at_column
from core.db.pgtypes import CONTENT_TYPE, MEDIA_SERVER_TYPE
from core.enums import ContentType, MediaServerType

__all__ = ["MediaServer", "WatchedItem"]


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
    created_at: Mapped[datetime] = created_at_column()


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
