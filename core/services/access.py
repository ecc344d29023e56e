"""What one user may do and how much: the role's permissions with that user's overrides, and their own
open-request limit and quotas where they differ from the global defaults ([requests] in the config).

An admin changes them; the change is recorded in the user's (private) activity. Nothing here decides an
action: the services check permissions and limits when the action runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from core.config import RequestSettings
from core.db.models import User
from core.db.session import Database
from core.enums import ActivityType, ContentType, UserRole, UserStatus, Visibility
from core.errors import InvalidInput
from core.permissions import Permission, effective_permissions, parse_overrides
from core.services import activity_log
from core.services.limits import Quota, exempt, open_limit, quota
from core.services.users import get_by_name

__all__ = [
    "DEFAULT",
    "MAX_LIMIT",
    "Access",
    "Default",
    "Quota",
    "access",
    "parse_quota",
    "set_limits",
    "set_permissions",
]

MAX_LIMIT = 10_000
MAX_DAYS = 365


class Default(Enum):
    """Pass as a limit or quota: back to the global default."""

    DEFAULT = "default"


DEFAULT: Final = Default.DEFAULT


@dataclass(frozen=True)
class Access:
    username: str
    role: UserRole
    status: UserStatus
    permissions: frozenset[Permission]
    overrides: dict[str, bool]
    exempt: bool  # admins and moderators: no limit or quota applies
    request_limit: int | None
    own_request_limit: bool
    quotas: dict[ContentType, Quota]

    def to_json(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role.value,
            "status": self.status.value,
            "permissions": sorted(p.value for p in self.permissions),
            "overrides": self.overrides,
            "exempt": self.exempt,
            "request_limit": {"limit": self.request_limit, "own": self.own_request_limit},
            "quotas": {kind.value: quota.to_json() for kind, quota in self.quotas.items()},
        }


def _access(user: User, defaults: RequestSettings) -> Access:
    return Access(
        username=user.username,
        role=user.role,
        status=user.status,
        permissions=effective_permissions(user.role, user.permissions),
        overrides=dict(user.permissions or {}),
        exempt=exempt(user.role),
        request_limit=open_limit(user, defaults),
        own_request_limit=user.request_limit is not None,
        quotas={kind: quota(user, kind, defaults) for kind in ContentType},
    )


async def access(database: Database, username: str, defaults: RequestSettings = RequestSettings()) -> Access:
    async with database.session() as session:
        return _access(await get_by_name(session, username), defaults)


async def _record(session: AsyncSession, user: User, details: dict[str, Any]) -> None:
    await activity_log.write(
        session, user_id=user.id, type=ActivityType.SETTINGS_UPDATED, visibility=Visibility.PRIVATE, details=details
    )


async def set_permissions(
    database: Database,
    username: str,
    changes: Mapping[str, bool | None],
    *,
    by_id: int | None = None,
    defaults: RequestSettings = RequestSettings(),
) -> Access:
    """Grant (True) or withhold (False) a permission whatever the role says, or (None) go back to the role's."""
    granted = parse_overrides({name: allowed for name, allowed in changes.items() if allowed is not None})
    reset = [name for name, allowed in changes.items() if allowed is None]
    parse_overrides(dict.fromkeys(reset, False))  # the same clear refusal for an unknown name
    async with database.transaction() as session:
        user = await get_by_name(session, username, lock=True)
        overrides = {name: allowed for name, allowed in (user.permissions or {}).items() if name not in reset}
        overrides.update(granted)
        if overrides != (user.permissions or {}):
            user.permissions = overrides
            user.updated_by_id = by_id
            await _record(session, user, {"permissions": {name: changes[name] for name in sorted(changes)}})
            await session.flush()
        return _access(user, defaults)


def parse_quota(text: str) -> tuple[int, int] | Default:
    """`3/7` is three every seven days; `default` goes back to the global quota."""
    value = text.strip().lower()
    if value == "default":
        return DEFAULT
    count, slash, days = value.partition("/")
    if not slash or not count.isdigit() or not days.isdigit() or len(value) > 12:
        raise InvalidInput(
            "{value!r} is not a quota: write N/DAYS (3/7 is three every seven days) or default",
            code="quota.format",
            value=text[:20],
        )
    return _checked(int(count), int(days))


def _checked(limit: int, days: int) -> tuple[int, int]:
    if not 0 <= limit <= MAX_LIMIT:
        raise InvalidInput("a limit is between 0 and {most}", code="limit.range", most=MAX_LIMIT)
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput("a quota's days are between 1 and {most}", code="quota.days", most=MAX_DAYS)
    return limit, days


async def set_limits(
    database: Database,
    username: str,
    *,
    request_limit: int | Default | None = None,
    quotas: Mapping[ContentType, tuple[int, int] | Default] | None = None,
    by_id: int | None = None,
    defaults: RequestSettings = RequestSettings(),
) -> Access:
    """The user's own open-request limit (`DEFAULT` to clear it) and quotas per content type ((limit, days)
    or `DEFAULT`); what is not given stays as it is."""
    if request_limit is not None and request_limit is not DEFAULT:
        _checked(request_limit, 1)
    for given in (quotas or {}).values():
        if given is not DEFAULT:
            _checked(*given)
    async with database.transaction() as session:
        user = await get_by_name(session, username, lock=True)
        changed: dict[str, Any] = {}
        if request_limit is not None:
            value = None if request_limit is DEFAULT else request_limit
            if value != user.request_limit:
                user.request_limit = value
                changed["request_limit"] = value
        for kind, given in (quotas or {}).items():
            limit, days = (None, None) if given is DEFAULT else given
            if (limit, days) != (getattr(user, f"{kind.value}_quota_limit"), getattr(user, f"{kind.value}_quota_days")):
                setattr(user, f"{kind.value}_quota_limit", limit)
                setattr(user, f"{kind.value}_quota_days", days)
                changed[f"{kind.value}_quota"] = None if limit is None else f"{limit}/{days}"
        if changed:
            user.updated_by_id = by_id
            await _record(session, user, changed)
            await session.flush()
        return _access(user, defaults)
