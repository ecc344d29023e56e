"""The PostgreSQL enum types, one object each, shared by every column that uses them."""

from __future__ import annotations

from core.db.base import pg_enum
from core.enums import (
    ActivityType,
    ChatPlatform,
    ContentType,
    InstanceBackend,
    MediaServerType,
    MediaStatus,
    OutboxStatus,
    RequestStatus,
    UserRole,
    UserStatus,
    Visibility,
    WatchlistType,
)

USER_ROLE = pg_enum(UserRole, "user_role")
USER_STATUS = pg_enum(UserStatus, "user_status")
CONTENT_TYPE = pg_enum(ContentType, "content_type")
REQUEST_STATUS = pg_enum(RequestStatus, "request_status")
MEDIA_STATUS = pg_enum(MediaStatus, "media_status")
WATCHLIST_TYPE = pg_enum(WatchlistType, "watchlist_type")
ACTIVITY_TYPE = pg_enum(ActivityType, "activity_type")
VISIBILITY = pg_enum(Visibility, "visibility")
MEDIA_SERVER_TYPE = pg_enum(MediaServerType, "media_server_type")
CHAT_PLATFORM = pg_enum(ChatPlatform, "chat_platform")
INSTANCE_BACKEND = pg_enum(InstanceBackend, "instance_backend")
OUTBOX_STATUS = pg_enum(OutboxStatus, "outbox_status")

ALL_ENUMS = (
    USER_ROLE,
    USER_STATUS,
    CONTENT_TYPE,
    REQUEST_STATUS,
    MEDIA_STATUS,
    WATCHLIST_TYPE,
    ACTIVITY_TYPE,
    VISIBILITY,
    MEDIA_SERVER_TYPE,
    CHAT_PLATFORM,
    INSTANCE_BACKEND,
    OUTBOX_STATUS,
)
