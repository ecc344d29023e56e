"""Overseerr's and Seerr's terms in idkarr's: the permission bitmask as a role and overrides, and the request
and media statuses. Pure functions: the import (`overseerr_import`) applies them."""

from __future__ import annotations

import re
from enum import IntFlag

from core.enums import MediaStatus, RequestStatus, UserRole
from core.permissions import ROLE_PERMISSIONS, Permission

__all__ = ["Bits", "media_status", "request_status", "role_and_overrides", "username_from"]


class Bits(IntFlag):
    """Overseerr's permission bits (server/lib/permissions.ts); Seerr keeps the same values."""

    ADMIN = 2
    MANAGE_SETTINGS = 4
    MANAGE_USERS = 8
    MANAGE_REQUESTS = 16
    REQUEST = 32
    AUTO_APPROVE = 128
    AUTO_APPROVE_MOVIE = 256
    AUTO_APPROVE_TV = 512
    REQUEST_VIEW = 16384
    REQUEST_MOVIE = 262144
    REQUEST_TV = 524288


def _granted(bits: int) -> set[Permission]:
    has = Bits(bits & sum(Bits))
    request_movie = bool(has & (Bits.REQUEST | Bits.REQUEST_MOVIE))
    request_tv = bool(has & (Bits.REQUEST | Bits.REQUEST_TV))
    # Overseerr approves the requests of anyone who manages requests as they are made.
    auto_movie = bool(has & (Bits.AUTO_APPROVE | Bits.AUTO_APPROVE_MOVIE | Bits.MANAGE_REQUESTS))
    auto_tv = bool(has & (Bits.AUTO_APPROVE | Bits.AUTO_APPROVE_TV | Bits.MANAGE_REQUESTS))
    granted = {
        Permission.REQUEST_MOVIE: request_movie,
        # Overseerr has no anime of its own: anime is requested as TV there.
        Permission.REQUEST_SERIES: request_tv,
        Permission.REQUEST_ANIME: request_tv,
        Permission.AUTO_APPROVE_MOVIE: auto_movie,
        Permission.AUTO_APPROVE_SERIES: auto_tv,
        Permission.AUTO_APPROVE_ANIME: auto_tv,
        Permission.MANAGE_REQUESTS: bool(has & Bits.MANAGE_REQUESTS),
        Permission.MANAGE_USERS: bool(has & Bits.MANAGE_USERS),
        Permission.VIEW_ALL_REQUESTS: bool(has & (Bits.REQUEST_VIEW | Bits.MANAGE_REQUESTS)),
    }
    return {permission for permission, yes in granted.items() if yes}


# Overseerr has no activity feed: whether someone sees idkarr's is left to their role.
_NOT_MAPPED = {Permission.VIEW_ACTIVITY}


def role_and_overrides(bits: int) -> tuple[UserRole, dict[str, bool]]:
    """The role closest to these bits, and the overrides that make up the difference. Admin in Overseerr
    bypasses every check, so it is admin here with nothing to add."""
    if bits & Bits.ADMIN:
        return UserRole.ADMIN, {}
    granted = _granted(bits)
    if Permission.MANAGE_REQUESTS in granted:
        role = UserRole.MODERATOR
    elif granted & {Permission.REQUEST_MOVIE, Permission.REQUEST_SERIES}:
        role = UserRole.USER
    else:
        role = UserRole.VIEWER
    default = ROLE_PERMISSIONS[role] - _NOT_MAPPED
    overrides = {permission.value: True for permission in sorted(granted - default)}
    overrides |= {permission.value: False for permission in sorted(default - granted)}
    return role, overrides


# Overseerr: 1 unknown, 2 pending, 3 processing, 4 partially available, 5 available, 6 deleted.
# Seerr (2.x and later) put "blocklisted" at 6 and moved deleted to 7.
_MEDIA = {
    1: MediaStatus.UNKNOWN,
    2: MediaStatus.PENDING,
    3: MediaStatus.PROCESSING,
    4: MediaStatus.PARTIALLY_AVAILABLE,
    5: MediaStatus.AVAILABLE,
}


def media_status(status: int, *, seerr: bool) -> MediaStatus:
    if status in _MEDIA:
        return _MEDIA[status]
    if status == (7 if seerr else 6):
        return MediaStatus.DELETED
    return MediaStatus.UNKNOWN  # Seerr's blocklist has no counterpart: the title is simply known


def request_status(status: int, media: MediaStatus) -> RequestStatus:
    """1 pending, 2 approved, 3 declined, 4 failed, 5 completed (Seerr). An approved request whose title
    arrived is what idkarr calls available (or partial)."""
    if status == 1:
        return RequestStatus.PENDING
    if status == 3:
        return RequestStatus.DENIED
    if status == 4:
        return RequestStatus.FAILED
    if status == 5 or media == MediaStatus.AVAILABLE:
        return RequestStatus.AVAILABLE
    if media == MediaStatus.PARTIALLY_AVAILABLE:
        return RequestStatus.PARTIAL
    return RequestStatus.APPROVED


_NOT_NAME = re.compile(r"[^\w.\-]+")


def username_from(name: str) -> str:
    """A valid idkarr username from an Overseerr display name: letters, digits, '.', '_', '-', starting with
    a letter, digit or '_', at most 64 characters (60 here, to leave room for a number when two collide)."""
    cleaned = _NOT_NAME.sub("-", name).strip("-.")[:60].strip("-.")
    return cleaned or "user"
