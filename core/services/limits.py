"""A user's open-request limit and quotas: their own where set, else the configured default ([requests]).

One rule for what `idkarr access show` reports and what creating a request enforces; admins and moderators
have none at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from core.config import RequestSettings
from core.enums import ContentType, UserRole

__all__ = ["EXEMPT_ROLES", "Limited", "Quota", "exempt", "limited_by_default", "open_limit", "quota"]

EXEMPT_ROLES = (UserRole.ADMIN, UserRole.MODERATOR)


class Limited(Protocol):
    """What the rule reads of a user (a row of the user table, or a statement's row with those columns)."""

    role: UserRole
    request_limit: int | None


@dataclass(frozen=True)
class Quota:
    """N requests (or seasons, for shows when so configured) every D days; `own` if set on the user."""

    limit: int | None  # None: no quota
    days: int
    own: bool

    def to_json(self) -> dict[str, Any]:
        return {"limit": self.limit, "days": self.days, "own": self.own}


def exempt(role: UserRole) -> bool:
    """Admins and moderators have no limits or quotas."""
    return role in EXEMPT_ROLES


def open_limit(user: Limited, defaults: RequestSettings) -> int | None:
    """How many open requests the user may have at once (None: no limit)."""
    return user.request_limit if user.request_limit is not None else defaults.request_limit


def limited_by_default(defaults: RequestSettings, content_type: ContentType) -> tuple[bool, bool]:
    """Whether the defaults alone limit everyone's open requests, and whether they limit anything a request of
    the content type is counted against (the open requests or the type's quota)."""
    by_open = defaults.request_limit is not None
    return by_open, by_open or getattr(defaults, f"{content_type.value}_quota_limit") is not None


def quota(user: Limited, content_type: ContentType, defaults: RequestSettings) -> Quota:
    """The user's quota for one content type. The per-type columns (movie_quota_limit, ...) are read by name,
    on the user and on the defaults alike."""
    kind = content_type.value
    own_limit: int | None = getattr(user, f"{kind}_quota_limit")
    own_days: int | None = getattr(user, f"{kind}_quota_days")
    return Quota(
        limit=own_limit if own_limit is not None else getattr(defaults, f"{kind}_quota_limit"),
        days=own_days or getattr(defaults, f"{kind}_quota_days"),
        own=own_limit is not None,
    )
