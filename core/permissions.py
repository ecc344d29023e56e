"""Who may do what: each role's default permissions, and per-user overrides stored on the user.

A user's `permissions` JSON holds only exceptions to the role, e.g. {"auto_approve_movie": true} for a
trusted user or {"request_anime": false} for someone who may not ask for anime. The check is made by the
service at the moment an action runs, never only when a button is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from core.enums import ContentType, UserRole, UserStatus
from core.errors import InvalidInput, NotAllowed

__all__ = [
    "ROLE_PERMISSIONS",
    "Permission",
    "auto_approve_permission",
    "effective_permissions",
    "parse_overrides",
    "request_permission",
    "require",
]


class Permission(StrEnum):
    REQUEST_MOVIE = "request_movie"
    REQUEST_SERIES = "request_series"
    REQUEST_ANIME = "request_anime"
    AUTO_APPROVE_MOVIE = "auto_approve_movie"
    AUTO_APPROVE_SERIES = "auto_approve_series"
    AUTO_APPROVE_ANIME = "auto_approve_anime"
    MANAGE_REQUESTS = "manage_requests"
    MANAGE_USERS = "manage_users"
    VIEW_ALL_REQUESTS = "view_all_requests"
    VIEW_ACTIVITY = "view_activity"


_REQUEST = {Permission.REQUEST_MOVIE, Permission.REQUEST_SERIES, Permission.REQUEST_ANIME}
_AUTO = {Permission.AUTO_APPROVE_MOVIE, Permission.AUTO_APPROVE_SERIES, Permission.AUTO_APPROVE_ANIME}

ROLE_PERMISSIONS: Mapping[UserRole, frozenset[Permission]] = {
    UserRole.ADMIN: frozenset(Permission),
    UserRole.MODERATOR: frozenset(set(Permission) - {Permission.MANAGE_USERS}),
    UserRole.USER: frozenset(_REQUEST | {Permission.VIEW_ACTIVITY}),
    UserRole.VIEWER: frozenset({Permission.VIEW_ACTIVITY}),
    # Integrations asking on a person's behalf: they request, and never decide.
    UserRole.API_USER: frozenset(_REQUEST | {Permission.VIEW_ALL_REQUESTS}),
}

_READABLE = {
    Permission.REQUEST_MOVIE: "request movies",
    Permission.REQUEST_SERIES: "request series",
    Permission.REQUEST_ANIME: "request anime",
    Permission.MANAGE_REQUESTS: "approve or deny requests",
    Permission.MANAGE_USERS: "manage users",
    Permission.VIEW_ALL_REQUESTS: "see everyone's requests",
    Permission.VIEW_ACTIVITY: "see the activity feed",
}


def request_permission(content_type: ContentType) -> Permission:
    return Permission(f"request_{content_type.value}")


def auto_approve_permission(content_type: ContentType) -> Permission:
    return Permission(f"auto_approve_{content_type.value}")


def effective_permissions(role: UserRole, overrides: Mapping[str, Any] | None) -> frozenset[Permission]:
    granted = set(ROLE_PERMISSIONS[role])
    for name, allowed in (overrides or {}).items():
        try:
            permission = Permission(name)
        except ValueError:
            continue  # a permission this version no longer has: ignore rather than fail every check
        if allowed is True:
            granted.add(permission)
        elif allowed is False:
            granted.discard(permission)
    return frozenset(granted)


def parse_overrides(values: Mapping[str, Any]) -> dict[str, bool]:
    """Validate overrides given by an admin: known names, true or false."""
    parsed: dict[str, bool] = {}
    for name, allowed in values.items():
        try:
            Permission(name)
        except ValueError:
            known = ", ".join(p.value for p in Permission)
            raise InvalidInput(
                "{name!r} is not a permission; known: {known}", code="permission.unknown", name=name[:40], known=known
            ) from None
        if not isinstance(allowed, bool):
            raise InvalidInput("{name} must be true or false", code="permission.boolean", name=name)
        parsed[name] = allowed
    return parsed


def require(
    *, username: str, role: UserRole, status: UserStatus, overrides: Mapping[str, Any] | None, permission: Permission
) -> None:
    """Raise NotAllowed, in words a person understands, unless this user may do it now."""
    if status == UserStatus.DISABLED:
        raise NotAllowed("{name}'s account is disabled", code="account.disabled", name=username)
    if status == UserStatus.PENDING:
        raise NotAllowed("{name}'s account is waiting for an admin's approval", code="account.pending", name=username)
    if permission not in effective_permissions(role, overrides):
        what = _READABLE.get(permission, permission.value.replace("_", " "))
        raise NotAllowed(
            "{name} ({role}) may not {what}",
            code="permission.denied",
            name=username,
            role=role.value,
            what=what,
            permission=permission.value,
        )
