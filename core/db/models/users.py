"""People: one idkarr user, reachable from any number of chats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, JsonDict, created_at_column, updated_at_column
from core.db.pgtypes import CHAT_PLATFORM, USER_ROLE, USER_STATUS
from core.enums import ChatPlatform, UserRole, UserStatus

__all__ = ["ChatIdentity", "User"]

_EMPTY_JSON = text("'{}'::jsonb")


class User(Base):
    __tablename__ = "user"
    __table_args__ = (
        # Usernames are shown as typed but compared without case: "Alice" and "alice" are one person.
        Index("uq_user_username_lower", func.lower(text("username")), unique=True),
        CheckConstraint("length(username) BETWEEN 1 AND 64", name="username_length"),
        CheckConstraint("request_count >= 0", name="request_count_not_negative"),
        CheckConstraint("request_limit IS NULL OR request_limit >= 0", name="request_limit_not_negative"),
        CheckConstraint(
            "(movie_quota_limit IS NULL OR movie_quota_limit >= 0)"
            " AND (series_quota_limit IS NULL OR series_quota_limit >= 0)"
            " AND (anime_quota_limit IS NULL OR anime_quota_limit >= 0)",
            name="quota_limits_not_negative",
        ),
        CheckConstraint(
            "(movie_quota_days IS NULL OR movie_quota_days >= 1)"
            " AND (series_quota_days IS NULL OR series_quota_days >= 1)"
            " AND (anime_quota_days IS NULL OR anime_quota_days >= 1)",
            name="quota_days_positive",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(unique=True)
    # Chat-only users never get a password; these hold hashes, never the secret.
    password_hash: Mapped[str | None]
    api_key_hash: Mapped[str | None] = mapped_column(unique=True)

    first_name: Mapped[str | None]
    last_name: Mapped[str | None]
    avatar: Mapped[str | None]
    bio: Mapped[str | None]

    role: Mapped[UserRole] = mapped_column(USER_ROLE, server_default=UserRole.USER.value)
    status: Mapped[UserStatus] = mapped_column(USER_STATUS, server_default=UserStatus.ACTIVE.value)
    email_verified: Mapped[bool] = mapped_column(server_default=text("false"))
    last_login: Mapped[datetime | None]
    last_active: Mapped[datetime | None]

    # Per-user overrides of the role's permission set, e.g. {"auto_approve_movie": true}.
    permissions: Mapped[JsonDict] = mapped_column(server_default=_EMPTY_JSON)
    request_limit: Mapped[int | None]
    request_count: Mapped[int] = mapped_column(server_default=text("0"))
    movie_quota_limit: Mapped[int | None]
    movie_quota_days: Mapped[int | None]
    series_quota_limit: Mapped[int | None]
    series_quota_days: Mapped[int | None]
    anime_quota_limit: Mapped[int | None]
    anime_quota_days: Mapped[int | None]

    plex_username: Mapped[str | None]
    plex_token_encrypted: Mapped[str | None]
    jellyfin_user_id: Mapped[str | None]
    emby_user_id: Mapped[str | None]

    language: Mapped[str] = mapped_column(String(16), server_default="en")
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    theme: Mapped[str] = mapped_column(String(16), server_default="dark")
    date_format: Mapped[str] = mapped_column(String(32), server_default="YYYY-MM-DD")
    time_format: Mapped[str] = mapped_column(String(8), server_default="24h")
    notification_settings: Mapped[JsonDict] = mapped_column(server_default=_EMPTY_JSON)
    privacy_settings: Mapped[JsonDict] = mapped_column(server_default=_EMPTY_JSON)
    ui_settings: Mapped[JsonDict] = mapped_column(server_default=_EMPTY_JSON)
    instance_preferences: Mapped[JsonDict] = mapped_column(server_default=_EMPTY_JSON)
    default_instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id", ondelete="SET NULL"))

    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class ChatIdentity(Base):
    """A person as one chat platform knows them; (platform, platform user id) belongs to exactly one user."""

    __tablename__ = "chat_identity"
    __table_args__ = (
        UniqueConstraint("platform", "platform_user_id"),
        CheckConstraint("length(platform_user_id) BETWEEN 1 AND 64", name="platform_user_id_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[ChatPlatform] = mapped_column(CHAT_PLATFORM)
    platform_user_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = created_at_column()
    last_seen_at: Mapped[datetime | None]
