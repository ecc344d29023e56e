"""The product's vocabularies, shared by the models, the services and the front ends.

Values are the seed design's (`../shared/seed`), which is why some carry hyphens (`api-user`, `top-rated`):
they are stored and shown as written there.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from core.errors import InvalidInput

_Choice = TypeVar("_Choice", bound=StrEnum)


def parse_choice(vocabulary: type[_Choice], value: str, noun: str) -> _Choice:
    """`value` as typed by a person (any case, spaces around), or a refusal listing what would do."""
    try:
        return vocabulary(value.strip().lower())
    except ValueError:
        choices = ", ".join(member.value for member in vocabulary)
        raise InvalidInput(
            "{value!r} is not {noun}; choose one of {choices}",
            code="choice",
            value=value[:40],
            noun=noun,
            choices=choices,
        ) from None


__all__ = [
    "OPEN_REQUEST_STATUSES",
    "ActivityType",
    "ChatPlatform",
    "ContentType",
    "DiscoveryKind",
    "InstanceBackend",
    "MediaServerType",
    "MediaStatus",
    "OutboxStatus",
    "RequestStatus",
    "UserRole",
    "UserStatus",
    "Visibility",
    "WatchlistType",
    "parse_choice",
]


class UserRole(StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    USER = "user"
    VIEWER = "viewer"
    API_USER = "api-user"


class UserStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"  # self-registered, waiting for an admin
    DISABLED = "disabled"


class ContentType(StrEnum):
    SERIES = "series"
    ANIME = "anime"
    MOVIE = "movie"


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    AVAILABLE = "available"
    PARTIAL = "partial"
    DENIED = "denied"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# Statuses in which a request still wants something to happen; the rest are final.
OPEN_REQUEST_STATUSES = (RequestStatus.PENDING, RequestStatus.APPROVED, RequestStatus.PARTIAL)


class MediaStatus(StrEnum):
    UNKNOWN = "unknown"
    PENDING = "pending"
    PROCESSING = "processing"
    PARTIALLY_AVAILABLE = "partially_available"
    AVAILABLE = "available"
    DELETED = "deleted"


class WatchlistType(StrEnum):
    WATCHLIST = "watchlist"
    WATCHED = "watched"
    WATCHING = "watching"
    DROPPED = "dropped"
    HOLD = "hold"


class ActivityType(StrEnum):
    MEDIA_ADDED = "media_added"
    MEDIA_UPDATED = "media_updated"
    MEDIA_DELETED = "media_deleted"
    DOWNLOAD_STARTED = "download_started"
    DOWNLOAD_COMPLETED = "download_completed"
    DOWNLOAD_FAILED = "download_failed"
    DOWNLOAD_PAUSED = "download_paused"
    REQUEST_CREATED = "request_created"
    REQUEST_APPROVED = "request_approved"
    REQUEST_DENIED = "request_denied"
    REQUEST_AVAILABLE = "request_available"
    REQUEST_PARTIAL = "request_partial"
    # Beyond the seed: the request lifecycle idkarr adds (watchers, cancel, failure, expiry).
    REQUEST_JOINED = "request_joined"
    REQUEST_CANCELLED = "request_cancelled"
    REQUEST_FAILED = "request_failed"
    REQUEST_EXPIRED = "request_expired"
    EPISODE_WATCHED = "episode_watched"
    MOVIE_WATCHED = "movie_watched"
    EPISODE_ADDED = "episode_added"
    MOVIE_ADDED = "movie_added"
    EPISODE_DELETED = "episode_deleted"
    MOVIE_DELETED = "movie_deleted"
    USER_JOINED = "user_joined"
    USER_LEFT = "user_left"
    SETTINGS_UPDATED = "settings_updated"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    FRIENDS = "friends"


class DiscoveryKind(StrEnum):
    TRENDING = "trending"
    POPULAR = "popular"
    UPCOMING = "upcoming"
    TOP_RATED = "top-rated"
    AIRING_TODAY = "airing-today"
    ON_THE_AIR = "on-the-air"
    SIMILAR = "similar"
    RECOMMENDED = "recommended"


class MediaServerType(StrEnum):
    PLEX = "plex"
    JELLYFIN = "jellyfin"
    EMBY = "emby"


class ChatPlatform(StrEnum):
    DISCORD = "discord"
    TELEGRAM = "telegram"
    CONSOLE = "console"


class InstanceBackend(StrEnum):
    """What an instance hands approved media to: nothing yet (library only), Sonarr or Radarr."""

    NONE = "none"
    SONARR = "sonarr"
    RADARR = "radarr"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last retry; kept for the record
