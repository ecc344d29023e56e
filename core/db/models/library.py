"""Where approved media goes (instances and their settings) and what the library holds (media, seasons)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, created_at_column, updated_at_column
from core.db.pgtypes import CONTENT_TYPE, INSTANCE_BACKEND, MEDIA_STATUS
from core.enums import ContentType, InstanceBackend, MediaStatus

__all__ = ["Instance", "Media", "MediaSeason", "QualityProfile", "RootFolder"]


class Instance(Base):
    """A destination such as "TV", "Anime" or "Movies 4K", optionally backed by a Sonarr or Radarr server."""

    __tablename__ = "instance"
    __table_args__ = (
        # Approval picks "the instance for this content type": there can be only one default per type.
        Index(
            "uq_instance_default_per_content_type",
            "content_type",
            unique=True,
            postgresql_where=text("is_default"),
        ),
        CheckConstraint("backend = 'none' OR base_url IS NOT NULL", name="backend_has_url"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[ContentType] = mapped_column(CONTENT_TYPE)
    backend: Mapped[InstanceBackend] = mapped_column(INSTANCE_BACKEND, server_default=InstanceBackend.NONE.value)
    base_url: Mapped[str | None]
    api_key_encrypted: Mapped[str | None]
    is_default: Mapped[bool] = mapped_column(server_default=text("false"))
    enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class QualityProfile(Base):
    __tablename__ = "quality_profile"
    __table_args__ = (
        UniqueConstraint("instance_id", "name"),
        Index("uq_quality_profile_default", "instance_id", unique=True, postgresql_where=text("is_default")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[int | None]  # the profile's id in Sonarr/Radarr
    is_default: Mapped[bool] = mapped_column(server_default=text("false"))


class RootFolder(Base):
    __tablename__ = "root_folder"
    __table_args__ = (
        UniqueConstraint("instance_id", "path"),
        Index("uq_root_folder_default", "instance_id", unique=True, postgresql_where=text("is_default")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id", ondelete="CASCADE"))
    path: Mapped[str]
    external_id: Mapped[int | None]
    free_space: Mapped[int | None] = mapped_column(BigInteger)
    is_default: Mapped[bool] = mapped_column(server_default=text("false"))


class Media(Base):
    """A title the library knows, by content type and external ids; availability is per season for shows."""

    __tablename__ = "media"
    __table_args__ = (
        # One library record per title: lookups by any external id hit one of these indexes.
        Index(
            "uq_media_content_type_tmdb_id",
            "content_type",
            "tmdb_id",
            unique=True,
            postgresql_where=text("tmdb_id IS NOT NULL"),
        ),
        Index(
            "uq_media_content_type_tvdb_id",
            "content_type",
            "tvdb_id",
            unique=True,
            postgresql_where=text("tvdb_id IS NOT NULL"),
        ),
        Index("ix_media_tmdb_id", "tmdb_id"),
        Index("ix_media_tvdb_id", "tvdb_id"),
        Index("ix_media_anidb_id", "anidb_id"),
        Index("ix_media_imdb_id", "imdb_id"),
        Index("ix_media_status", "status"),
        CheckConstraint(
            "tmdb_id IS NOT NULL OR tvdb_id IS NOT NULL OR anidb_id IS NOT NULL OR imdb_id IS NOT NULL",
            name="has_external_id",
        ),
        CheckConstraint("content_type = 'movie' OR tmdb_id IS NOT NULL OR tvdb_id IS NOT NULL", name="show_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    content_type: Mapped[ContentType] = mapped_column(CONTENT_TYPE)
    tmdb_id: Mapped[int | None]
    tvdb_id: Mapped[int | None]
    anidb_id: Mapped[int | None]
    imdb_id: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str]
    year: Mapped[int | None]
    status: Mapped[MediaStatus] = mapped_column(MEDIA_STATUS, server_default=MediaStatus.UNKNOWN.value)
    monitored: Mapped[bool] = mapped_column(server_default=text("true"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id", ondelete="SET NULL"))
    quality_profile_id: Mapped[int | None] = mapped_column(ForeignKey("quality_profile.id", ondelete="SET NULL"))
    root_folder_id: Mapped[int | None] = mapped_column(ForeignKey("root_folder.id", ondelete="SET NULL"))
    external_service_id: Mapped[int | None]  # the series' or movie's id inside Sonarr/Radarr
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    available_at: Mapped[datetime | None]


class MediaSeason(Base):
    __tablename__ = "media_season"
    __table_args__ = (
        UniqueConstraint("media_id", "season_number"),
        CheckConstraint("season_number >= 0", name="season_number_not_negative"),
        CheckConstraint(
            "episode_count IS NULL OR (episode_count >= 0"
            " AND (available_episode_count IS NULL OR available_episode_count <= episode_count))",
            name="episode_counts",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    season_number: Mapped[int]
    status: Mapped[MediaStatus] = mapped_column(MEDIA_STATUS, server_default=MediaStatus.UNKNOWN.value)
    episode_count: Mapped[int | None]
    available_episode_count: Mapped[int | None]
    updated_at: Mapped[datetime] = updated_at_column()
