"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24 23:21:43.256509
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# PostgreSQL enum types are created once here and shared by every column that uses them; create_table
# would otherwise try to create a shared type once per table.
ENUMS: dict[str, tuple[str, ...]] = {
    "content_type": (
        "series",
        "anime",
        "movie",
    ),
    "instance_backend": (
        "none",
        "sonarr",
        "radarr",
    ),
    "media_server_type": (
        "plex",
        "jellyfin",
        "emby",
    ),
    "user_role": (
        "admin",
        "moderator",
        "user",
        "viewer",
        "api-user",
    ),
    "user_status": (
        "active",
        "pending",
        "disabled",
    ),
    "chat_platform": (
        "discord",
        "telegram",
        "console",
    ),
    "media_status": (
        "unknown",
        "pending",
        "processing",
        "partially_available",
        "available",
        "deleted",
    ),
    "outbox_status": (
        "pending",
        "delivered",
        "failed",
    ),
    "request_status": (
        "pending",
        "approved",
        "available",
        "partial",
        "denied",
        "failed",
        "cancelled",
        "expired",
    ),
    "watchlist_type": (
        "watchlist",
        "watched",
        "watching",
        "dropped",
        "hold",
    ),
    "activity_type": (
        "media_added",
        "media_updated",
        "media_deleted",
        "download_started",
        "download_completed",
        "download_failed",
        "download_paused",
        "request_created",
        "request_approved",
        "request_denied",
        "request_available",
        "request_partial",
        "request_joined",
        "request_cancelled",
        "request_failed",
        "request_expired",
        "episode_watched",
        "movie_watched",
        "episode_added",
        "movie_added",
        "episode_deleted",
        "movie_deleted",
        "user_joined",
        "user_left",
        "settings_updated",
    ),
    "visibility": (
        "public",
        "private",
        "friends",
    ),
}


def upgrade() -> None:
    bind = op.get_bind()
    for name, values in ENUMS.items():
        postgresql.ENUM(*values, name=name).create(bind, checkfirst=False)
    op.create_table(
        "discovery_cache",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cache_key", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("items", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discovery_cache")),
        sa.UniqueConstraint("cache_key", name=op.f("uq_discovery_cache_cache_key")),
    )
    op.create_index("ix_discovery_cache_expires_at", "discovery_cache", ["expires_at"], unique=False)
    op.create_table(
        "instance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "content_type",
            postgresql.ENUM("series", "anime", "movie", name="content_type", create_type=False),
            nullable=False,
        ),
        sa.Column(
            "backend",
            postgresql.ENUM("none", "sonarr", "radarr", name="instance_backend", create_type=False),
            server_default="none",
            nullable=False,
        ),
        sa.Column("base_url", sa.Text(), nullable=True),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("backend = 'none' OR base_url IS NOT NULL", name=op.f("ck_instance_backend_has_url")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance")),
        sa.UniqueConstraint("name", name=op.f("uq_instance_name")),
    )
    op.create_index(
        "uq_instance_default_per_content_type",
        "instance",
        ["content_type"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "media_server",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            postgresql.ENUM("plex", "jellyfin", "emby", name="media_server_type", create_type=False),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("use_https", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("api_key_encrypted", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=True),
        sa.Column("machine_identifier", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("sync_watched_status", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("sync_library", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("sync_interval", sa.Integer(), server_default=sa.text("3600"), nullable=False),
        sa.Column("last_sync", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_success", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("last_sync_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("port BETWEEN 1 AND 65535", name=op.f("ck_media_server_port_range")),
        sa.CheckConstraint("sync_interval >= 60", name=op.f("ck_media_server_sync_interval_minimum")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_server")),
        sa.UniqueConstraint("name", name=op.f("uq_media_server_name")),
    )
    op.create_table(
        "quality_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("external_id", sa.Integer(), nullable=True),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instance.id"],
            name=op.f("fk_quality_profile_instance_id_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_profile")),
        sa.UniqueConstraint("instance_id", "name", name=op.f("uq_quality_profile_instance_id_name")),
    )
    op.create_index(
        "uq_quality_profile_default",
        "quality_profile",
        ["instance_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "root_folder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Integer(), nullable=True),
        sa.Column("free_space", sa.BigInteger(), nullable=True),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instance.id"],
            name=op.f("fk_root_folder_instance_id_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_root_folder")),
        sa.UniqueConstraint("instance_id", "path", name=op.f("uq_root_folder_instance_id_path")),
    )
    op.create_index(
        "uq_root_folder_default",
        "root_folder",
        ["instance_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("api_key_hash", sa.Text(), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("avatar", sa.Text(), nullable=True),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column(
            "role",
            postgresql.ENUM("admin", "moderator", "user", "viewer", "api-user", name="user_role", create_type=False),
            server_default="user",
            nullable=False,
        ),
        sa.Column(
            "status",
            postgresql.ENUM("active", "pending", "disabled", name="user_status", create_type=False),
            server_default="active",
            nullable=False,
        ),
        sa.Column("email_verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("last_login", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_active", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "permissions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("request_limit", sa.Integer(), nullable=True),
        sa.Column("request_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("movie_quota_limit", sa.Integer(), nullable=True),
        sa.Column("movie_quota_days", sa.Integer(), nullable=True),
        sa.Column("series_quota_limit", sa.Integer(), nullable=True),
        sa.Column("series_quota_days", sa.Integer(), nullable=True),
        sa.Column("anime_quota_limit", sa.Integer(), nullable=True),
        sa.Column("anime_quota_days", sa.Integer(), nullable=True),
        sa.Column("plex_username", sa.Text(), nullable=True),
        sa.Column("plex_token_encrypted", sa.Text(), nullable=True),
        sa.Column("jellyfin_user_id", sa.Text(), nullable=True),
        sa.Column("emby_user_id", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=16), server_default="en", nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("theme", sa.String(length=16), server_default="dark", nullable=False),
        sa.Column("date_format", sa.String(length=32), server_default="YYYY-MM-DD", nullable=False),
        sa.Column("time_format", sa.String(length=8), server_default="24h", nullable=False),
        sa.Column(
            "notification_settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "privacy_settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "ui_settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "instance_preferences",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("default_instance_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(movie_quota_days IS NULL OR movie_quota_days >= 1) AND (series_quota_days IS NULL OR series_quota_days >= 1) AND (anime_quota_days IS NULL OR anime_quota_days >= 1)",
            name=op.f("ck_user_quota_days_positive"),
        ),
        sa.CheckConstraint(
            "(movie_quota_limit IS NULL OR movie_quota_limit >= 0) AND (series_quota_limit IS NULL OR series_quota_limit >= 0) AND (anime_quota_limit IS NULL OR anime_quota_limit >= 0)",
            name=op.f("ck_user_quota_limits_not_negative"),
        ),
        sa.CheckConstraint("length(username) BETWEEN 1 AND 64", name=op.f("ck_user_username_length")),
        sa.CheckConstraint("request_count >= 0", name=op.f("ck_user_request_count_not_negative")),
        sa.CheckConstraint(
            "request_limit IS NULL OR request_limit >= 0", name=op.f("ck_user_request_limit_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_user_created_by_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["default_instance_id"],
            ["instance.id"],
            name=op.f("fk_user_default_instance_id_instance"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_user_updated_by_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("api_key_hash", name=op.f("uq_user_api_key_hash")),
        sa.UniqueConstraint("email", name=op.f("uq_user_email")),
    )
    op.create_index("uq_user_username_lower", "user", [sa.literal_column("lower(username)")], unique=True)
    op.create_table(
        "action_token",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column(
            "arguments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("issued_to_user_id", sa.Integer(), nullable=True),
        sa.Column("open_to_moderators", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("single_use", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("length(id) BETWEEN 6 AND 16", name=op.f("ck_action_token_id_length")),
        sa.ForeignKeyConstraint(
            ["issued_to_user_id"],
            ["user.id"],
            name=op.f("fk_action_token_issued_to_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_token")),
    )
    op.create_index("ix_action_token_expires_at", "action_token", ["expires_at"], unique=False)
    op.create_table(
        "chat_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "platform",
            postgresql.ENUM("discord", "telegram", "console", name="chat_platform", create_type=False),
            nullable=False,
        ),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "length(platform_user_id) BETWEEN 1 AND 64", name=op.f("ck_chat_identity_platform_user_id_length")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_chat_identity_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_identity")),
        sa.UniqueConstraint("platform", "platform_user_id", name=op.f("uq_chat_identity_platform_platform_user_id")),
    )
    op.create_index(op.f("ix_chat_identity_user_id"), "chat_identity", ["user_id"], unique=False)
    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "content_type",
            postgresql.ENUM("series", "anime", "movie", name="content_type", create_type=False),
            nullable=False,
        ),
        sa.Column("tmdb_id", sa.Integer(), nullable=True),
        sa.Column("tvdb_id", sa.Integer(), nullable=True),
        sa.Column("anidb_id", sa.Integer(), nullable=True),
        sa.Column("imdb_id", sa.String(length=16), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            postgresql.ENUM(
                "unknown",
                "pending",
                "processing",
                "partially_available",
                "available",
                "deleted",
                name="media_status",
                create_type=False,
            ),
            server_default="unknown",
            nullable=False,
        ),
        sa.Column("monitored", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("quality_profile_id", sa.Integer(), nullable=True),
        sa.Column("root_folder_id", sa.Integer(), nullable=True),
        sa.Column("external_service_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "content_type = 'movie' OR tmdb_id IS NOT NULL OR tvdb_id IS NOT NULL",
            name=op.f("ck_media_show_id"),
        ),
        sa.CheckConstraint(
            "tmdb_id IS NOT NULL OR tvdb_id IS NOT NULL OR anidb_id IS NOT NULL OR imdb_id IS NOT NULL",
            name=op.f("ck_media_has_external_id"),
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["instance.id"], name=op.f("fk_media_instance_id_instance"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["quality_profile_id"],
            ["quality_profile.id"],
            name=op.f("fk_media_quality_profile_id_quality_profile"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["root_folder_id"],
            ["root_folder.id"],
            name=op.f("fk_media_root_folder_id_root_folder"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
    )
    op.create_index("ix_media_anidb_id", "media", ["anidb_id"], unique=False)
    op.create_index("ix_media_imdb_id", "media", ["imdb_id"], unique=False)
    op.create_index("ix_media_status", "media", ["status"], unique=False)
    op.create_index("ix_media_tmdb_id", "media", ["tmdb_id"], unique=False)
    op.create_index("ix_media_tvdb_id", "media", ["tvdb_id"], unique=False)
    op.create_index(
        "uq_media_content_type_tmdb_id",
        "media",
        ["content_type", "tmdb_id"],
        unique=True,
        postgresql_where=sa.text("tmdb_id IS NOT NULL"),
    )
    op.create_index(
        "uq_media_content_type_tvdb_id",
        "media",
        ["content_type", "tvdb_id"],
        unique=True,
        postgresql_where=sa.text("tvdb_id IS NOT NULL"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("recipient_user_id", sa.Integer(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "status",
            postgresql.ENUM("pending", "delivered", "failed", name="outbox_status", create_type=False),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["recipient_user_id"],
            ["user.id"],
            name=op.f("fk_outbox_recipient_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_dedup_key")),
    )
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_outbox_recipient_user_id", "outbox", ["recipient_user_id"], unique=False)
    op.create_table(
        "media_season",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("season_number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            postgresql.ENUM(
                "unknown",
                "pending",
                "processing",
                "partially_available",
                "available",
                "deleted",
                name="media_status",
                create_type=False,
            ),
            server_default="unknown",
            nullable=False,
        ),
        sa.Column("episode_count", sa.Integer(), nullable=True),
        sa.Column("available_episode_count", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "episode_count IS NULL OR (episode_count >= 0 AND (available_episode_count IS NULL OR available_episode_count <= episode_count))",
            name=op.f("ck_media_season_episode_counts"),
        ),
        sa.CheckConstraint("season_number >= 0", name=op.f("ck_media_season_season_number_not_negative")),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media.id"], name=op.f("fk_media_season_media_id_media"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_season")),
        sa.UniqueConstraint("media_id", "season_number", name=op.f("uq_media_season_media_id_season_number")),
    )
    op.create_table(
        "request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "content_type",
            postgresql.ENUM("series", "anime", "movie", name="content_type", create_type=False),
            nullable=False,
        ),
        sa.Column("tvdb_id", sa.Integer(), nullable=True),
        sa.Column("tmdb_id", sa.Integer(), nullable=True),
        sa.Column("anidb_id", sa.Integer(), nullable=True),
        sa.Column("imdb_id", sa.String(length=16), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("poster", sa.Text(), nullable=True),
        sa.Column("overview", sa.Text(), nullable=True),
        sa.Column(
            "seasons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "status",
            postgresql.ENUM(
                "pending",
                "approved",
                "available",
                "partial",
                "denied",
                "failed",
                "cancelled",
                "expired",
                name="request_status",
                create_type=False,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("denial_reason", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("quality_profile_id", sa.Integer(), nullable=True),
        sa.Column("root_folder_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status <> 'denied' OR denial_reason IS NOT NULL", name=op.f("ck_request_denied_has_reason")
        ),
        sa.CheckConstraint(
            "status <> 'failed' OR failure_reason IS NOT NULL", name=op.f("ck_request_failed_has_reason")
        ),
        sa.CheckConstraint(
            "status NOT IN ('approved', 'available', 'partial') OR approved_at IS NOT NULL",
            name=op.f("ck_request_approved_has_time"),
        ),
        sa.CheckConstraint(
            "denial_reason IS NULL OR length(denial_reason) BETWEEN 1 AND 500",
            name=op.f("ck_request_denial_reason_length"),
        ),
        sa.CheckConstraint("tmdb_id IS NOT NULL OR tvdb_id IS NOT NULL", name=op.f("ck_request_has_title_id")),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["user.id"], name=op.f("fk_request_approved_by_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instance.id"],
            name=op.f("fk_request_instance_id_instance"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media.id"], name=op.f("fk_request_media_id_media"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["quality_profile_id"],
            ["quality_profile.id"],
            name=op.f("fk_request_quality_profile_id_quality_profile"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["user.id"], name=op.f("fk_request_requested_by_id_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["root_folder_id"],
            ["root_folder.id"],
            name=op.f("fk_request_root_folder_id_root_folder"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request")),
    )
    op.create_index(
        "ix_request_expires_at",
        "request",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_request_requested_by_id_created_at", "request", ["requested_by_id", "created_at"], unique=False)
    op.create_index("ix_request_status_created_at", "request", ["status", "created_at"], unique=False)
    op.create_index("ix_request_tmdb_id", "request", ["tmdb_id"], unique=False)
    op.create_index("ix_request_tvdb_id", "request", ["tvdb_id"], unique=False)
    op.create_index(
        "uq_request_pending_tmdb_id",
        "request",
        ["content_type", "tmdb_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending' AND tmdb_id IS NOT NULL"),
    )
    op.create_index(
        "uq_request_pending_tvdb_id",
        "request",
        ["content_type", "tvdb_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending' AND tvdb_id IS NOT NULL"),
    )
    op.create_table(
        "watched_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_server_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "content_type",
            postgresql.ENUM("series", "anime", "movie", name="content_type", create_type=False),
            nullable=False,
        ),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.Column("tvdb_id", sa.Integer(), nullable=True),
        sa.Column("tmdb_id", sa.Integer(), nullable=True),
        sa.Column("anidb_id", sa.Integer(), nullable=True),
        sa.Column("imdb_id", sa.String(length=16), nullable=True),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.Column("season_number", sa.Integer(), nullable=True),
        sa.Column("episode_number", sa.Integer(), nullable=True),
        sa.Column("movie_file_id", sa.Integer(), nullable=True),
        sa.Column("edition", sa.Text(), nullable=True),
        sa.Column("watched", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("last_watched", sa.DateTime(timezone=True), nullable=True),
        sa.Column("play_count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("media_server_key", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("play_count >= 0", name=op.f("ck_watched_item_play_count_not_negative")),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media.id"], name=op.f("fk_watched_item_media_id_media"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["media_server_id"],
            ["media_server.id"],
            name=op.f("fk_watched_item_media_server_id_media_server"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_watched_item_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watched_item")),
        sa.UniqueConstraint(
            "media_server_id",
            "user_id",
            "media_id",
            "episode_id",
            "edition",
            name=op.f("uq_watched_item_media_server_id_user_id_media_id_episode_id_edition"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index("ix_watched_item_user_id_last_watched", "watched_item", ["user_id", "last_watched"], unique=False)
    op.create_table(
        "watchlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "content_type",
            postgresql.ENUM("series", "anime", "movie", name="content_type", create_type=False),
            nullable=False,
        ),
        sa.Column("tvdb_id", sa.Integer(), nullable=True),
        sa.Column("tmdb_id", sa.Integer(), nullable=True),
        sa.Column("anidb_id", sa.Integer(), nullable=True),
        sa.Column("imdb_id", sa.String(length=16), nullable=True),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("poster", sa.Text(), nullable=True),
        sa.Column(
            "type",
            postgresql.ENUM(
                "watchlist",
                "watched",
                "watching",
                "dropped",
                "hold",
                name="watchlist_type",
                create_type=False,
            ),
            server_default="watchlist",
            nullable=False,
        ),
        sa.Column("current_season", sa.Integer(), nullable=True),
        sa.Column("current_episode", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("review", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(current_season IS NULL OR current_season >= 0) AND (current_episode IS NULL OR current_episode >= 0)",
            name=op.f("ck_watchlist_progress_not_negative"),
        ),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 10", name=op.f("ck_watchlist_rating_range")),
        sa.CheckConstraint("review IS NULL OR length(review) <= 4000", name=op.f("ck_watchlist_review_length")),
        sa.CheckConstraint("tmdb_id IS NOT NULL OR tvdb_id IS NOT NULL", name=op.f("ck_watchlist_has_title_id")),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media.id"], name=op.f("fk_watchlist_media_id_media"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_watchlist_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist")),
    )
    op.create_index("ix_watchlist_user_id_type", "watchlist", ["user_id", "type"], unique=False)
    op.create_index(
        "uq_watchlist_user_tmdb_id",
        "watchlist",
        ["user_id", "content_type", "tmdb_id"],
        unique=True,
        postgresql_where=sa.text("tmdb_id IS NOT NULL"),
    )
    op.create_index(
        "uq_watchlist_user_tvdb_id",
        "watchlist",
        ["user_id", "content_type", "tvdb_id"],
        unique=True,
        postgresql_where=sa.text("tvdb_id IS NOT NULL"),
    )
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column(
            "type",
            postgresql.ENUM(
                "media_added",
                "media_updated",
                "media_deleted",
                "download_started",
                "download_completed",
                "download_failed",
                "download_paused",
                "request_created",
                "request_approved",
                "request_denied",
                "request_available",
                "request_partial",
                "request_joined",
                "request_cancelled",
                "request_failed",
                "request_expired",
                "episode_watched",
                "movie_watched",
                "episode_added",
                "movie_added",
                "episode_deleted",
                "movie_deleted",
                "user_joined",
                "user_left",
                "settings_updated",
                name="activity_type",
                create_type=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "content_type",
            postgresql.ENUM("series", "anime", "movie", name="content_type", create_type=False),
            nullable=True,
        ),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.Column("tvdb_id", sa.Integer(), nullable=True),
        sa.Column("tmdb_id", sa.Integer(), nullable=True),
        sa.Column("anidb_id", sa.Integer(), nullable=True),
        sa.Column("imdb_id", sa.String(length=16), nullable=True),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.Column("season_number", sa.Integer(), nullable=True),
        sa.Column("episode_number", sa.Integer(), nullable=True),
        sa.Column("movie_file_id", sa.Integer(), nullable=True),
        sa.Column("edition", sa.Text(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("poster", sa.Text(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("overview", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "visibility",
            postgresql.ENUM("public", "private", "friends", name="visibility", create_type=False),
            server_default="public",
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media.id"], name=op.f("fk_activity_media_id_media"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["request.id"], name=op.f("fk_activity_request_id_request"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_activity_user_id_user"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    op.create_index("ix_activity_created_at", "activity", ["created_at"], unique=False)
    op.create_index("ix_activity_request_id", "activity", ["request_id"], unique=False)
    op.create_index("ix_activity_type_created_at", "activity", ["type", "created_at"], unique=False)
    op.create_index("ix_activity_user_id_created_at", "activity", ["user_id", "created_at"], unique=False)
    op.create_table(
        "request_watcher",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
            name=op.f("fk_request_watcher_request_id_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_request_watcher_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_watcher")),
        sa.UniqueConstraint("request_id", "user_id", name=op.f("uq_request_watcher_request_id_user_id")),
    )
    op.create_index(op.f("ix_request_watcher_user_id"), "request_watcher", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_request_watcher_user_id"), table_name="request_watcher")
    op.drop_table("request_watcher")
    op.drop_index("ix_activity_user_id_created_at", table_name="activity")
    op.drop_index("ix_activity_type_created_at", table_name="activity")
    op.drop_index("ix_activity_request_id", table_name="activity")
    op.drop_index("ix_activity_created_at", table_name="activity")
    op.drop_table("activity")
    op.drop_index("uq_watchlist_user_tvdb_id", table_name="watchlist", postgresql_where=sa.text("tvdb_id IS NOT NULL"))
    op.drop_index("uq_watchlist_user_tmdb_id", table_name="watchlist", postgresql_where=sa.text("tmdb_id IS NOT NULL"))
    op.drop_index("ix_watchlist_user_id_type", table_name="watchlist")
    op.drop_table("watchlist")
    op.drop_index("ix_watched_item_user_id_last_watched", table_name="watched_item")
    op.drop_table("watched_item")
    op.drop_index(
        "uq_request_pending_tvdb_id",
        table_name="request",
        postgresql_where=sa.text("status = 'pending' AND tvdb_id IS NOT NULL"),
    )
    op.drop_index(
        "uq_request_pending_tmdb_id",
        table_name="request",
        postgresql_where=sa.text("status = 'pending' AND tmdb_id IS NOT NULL"),
    )
    op.drop_index("ix_request_tvdb_id", table_name="request")
    op.drop_index("ix_request_tmdb_id", table_name="request")
    op.drop_index("ix_request_status_created_at", table_name="request")
    op.drop_index("ix_request_requested_by_id_created_at", table_name="request")
    op.drop_index("ix_request_expires_at", table_name="request", postgresql_where=sa.text("status = 'pending'"))
    op.drop_table("request")
    op.drop_table("media_season")
    op.drop_index("ix_outbox_recipient_user_id", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox", postgresql_where=sa.text("status = 'pending'"))
    op.drop_table("outbox")
    op.drop_index("uq_media_content_type_tvdb_id", table_name="media", postgresql_where=sa.text("tvdb_id IS NOT NULL"))
    op.drop_index("uq_media_content_type_tmdb_id", table_name="media", postgresql_where=sa.text("tmdb_id IS NOT NULL"))
    op.drop_index("ix_media_tvdb_id", table_name="media")
    op.drop_index("ix_media_tmdb_id", table_name="media")
    op.drop_index("ix_media_status", table_name="media")
    op.drop_index("ix_media_imdb_id", table_name="media")
    op.drop_index("ix_media_anidb_id", table_name="media")
    op.drop_table("media")
    op.drop_index(op.f("ix_chat_identity_user_id"), table_name="chat_identity")
    op.drop_table("chat_identity")
    op.drop_index("ix_action_token_expires_at", table_name="action_token")
    op.drop_table("action_token")
    op.drop_index("uq_user_username_lower", table_name="user")
    op.drop_table("user")
    op.drop_index("uq_root_folder_default", table_name="root_folder", postgresql_where=sa.text("is_default"))
    op.drop_table("root_folder")
    op.drop_index("uq_quality_profile_default", table_name="quality_profile", postgresql_where=sa.text("is_default"))
    op.drop_table("quality_profile")
    op.drop_table("media_server")
    op.drop_index("uq_instance_default_per_content_type", table_name="instance", postgresql_where=sa.text("is_default"))
    op.drop_table("instance")
    op.drop_index("ix_discovery_cache_expires_at", table_name="discovery_cache")
    op.drop_table("discovery_cache")
    bind = op.get_bind()
    for name, values in ENUMS.items():
        postgresql.ENUM(*values, name=name).drop(bind, checkfirst=False)
