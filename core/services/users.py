"""Users: create, list, change role, disable, and the bootstrap admin of a fresh install."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import User
from core.db.pgtypes import USER_ROLE
from core.db.session import Database
from core.enums import ActivityType, UserRole, UserStatus, Visibility, parse_choice
from core.errors import AlreadyExists, InvalidInput, NotAllowed, NotFound
from core.services import activity_log

__all__ = [
    "NOTIFICATION_KEYS",
    "PRIVACY_KEYS",
    "MediaAccounts",
    "Preferences",
    "UserSummary",
    "add_user",
    "disable_user",
    "enable_user",
    "ensure_bootstrap_admin",
    "find_user",
    "follow_platform_role",
    "get_by_name",
    "list_users",
    "set_media_accounts",
    "set_role",
    "switched_on",
    "update_preferences",
    "validate_username",
]

# Letters and digits of any script, plus . _ - ; no spaces, no @ or : (they read as mentions and ids in chat).
_USERNAME = re.compile(r"^[^\W][\w.\-]{0,63}$")


class UserColumns(Protocol):
    """A row read with a user's summary columns (a prepared statement's)."""

    id: int
    username: str
    role: UserRole
    status: UserStatus
    created_at: datetime
    language: str


@dataclass(frozen=True)
class UserSummary:
    id: int
    username: str
    role: UserRole
    status: UserStatus
    created_at: datetime
    language: str = "en"

    @classmethod
    def of(cls, user: User | UserColumns) -> UserSummary:
        """From a user row, or any row read with these columns (a prepared statement's)."""
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            status=user.status,
            created_at=user.created_at,
            language=user.language,
        )


def validate_username(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("a username cannot be empty", code="username.empty")
    if len(name) > 64:
        raise InvalidInput(
            "a username has at most 64 characters, this one has {length}", code="username.long", length=len(name)
        )
    if not _USERNAME.match(name):
        raise InvalidInput(
            "{name!r} is not a valid username: use letters, digits, '.', '_' or '-', starting with a letter or digit",
            code="username.invalid",
            name=name,
        )
    return name


def parse_role(value: str) -> UserRole:
    return parse_choice(UserRole, value, "a role")


async def get_by_name(session: AsyncSession, username: str, *, lock: bool = False) -> User:
    query = select(User).where(func.lower(User.username) == username.strip().lower())
    if lock:
        query = query.with_for_update()
    user = (await session.execute(query)).scalar_one_or_none()
    if user is None:
        raise NotFound("there is no user named {name!r}", code="user.unknown", name=username.strip()[:64])
    return user


async def add_user(database: Database, username: str, role: UserRole, *, by_id: int | None = None) -> UserSummary:
    username = validate_username(username)
    try:
        async with database.transaction() as session:
            user = User(username=username, role=role, created_by_id=by_id)
            session.add(user)
            await session.flush()
            await activity_log.write(
                session, user_id=user.id, type=ActivityType.USER_JOINED, details={"role": role.value}
            )
            await session.flush()
            await session.refresh(user)
            return UserSummary.of(user)
    except IntegrityError:
        raise AlreadyExists("a user named {name!r} already exists", code="user.exists", name=username) from None


async def find_user(database: Database, username: str) -> UserSummary:
    async with database.session() as session:
        return UserSummary.of(await get_by_name(session, username))


async def list_users(database: Database) -> list[UserSummary]:
    async with database.session() as session:
        users = (await session.execute(select(User).order_by(User.id))).scalars().all()
        return [UserSummary.of(user) for user in users]


async def _lock_active_admins(session: AsyncSession) -> list[int]:
    """Lock every active admin row, always in id order and before any other user row.

    Two admins demoting each other at once would otherwise each lock their target first and then wait
    for the other's: a deadlock. Taking the admin rows first, in one order, serialises them instead.
    """
    query = (
        select(User.id)
        .where(User.role == UserRole.ADMIN, User.status == UserStatus.ACTIVE)
        .order_by(User.id)
        .with_for_update()
    )
    return list((await session.execute(query)).scalars().all())


def _ensure_another_admin(admins: list[int], user: User) -> None:
    if user.role == UserRole.ADMIN and user.status == UserStatus.ACTIVE and len(admins) <= 1:
        raise NotAllowed(
            "{name} is the last active admin; make someone else admin first", code="user.last_admin", name=user.username
        )


async def set_role(database: Database, username: str, role: UserRole, *, by_id: int | None = None) -> UserSummary:
    async with database.transaction() as session:
        admins = await _lock_active_admins(session)
        user = await get_by_name(session, username, lock=True)
        if role != UserRole.ADMIN:
            _ensure_another_admin(admins, user)
        user.role = role
        user.updated_by_id = by_id
        await session.flush()
        await session.refresh(user)
        return UserSummary.of(user)


async def follow_platform_role(database: Database, user_id: int, role: UserRole) -> bool:
    """Give a user the role their chat platform's roles map to (Discord's role_map), at the moment they act.
    Admins are left alone, and nobody becomes one this way. True when the role changed."""
    if role == UserRole.ADMIN:
        raise InvalidInput("a platform role cannot make an admin", code="user.platform_admin")
    async with database.transaction() as session:
        changed = await session.execute(
            update(User)
            .where(User.id == user_id, User.role != UserRole.ADMIN, User.role != role)
            .values(role=role)
            .returning(User.id)
        )
        return changed.first() is not None


async def disable_user(database: Database, username: str, *, by_id: int | None = None) -> UserSummary:
    async with database.transaction() as session:
        admins = await _lock_active_admins(session)
        user = await get_by_name(session, username, lock=True)
        _ensure_another_admin(admins, user)
        user.status = UserStatus.DISABLED
        user.updated_by_id = by_id
        await activity_log.write(session, user_id=user.id, type=ActivityType.USER_LEFT, visibility=Visibility.PRIVATE)
        await session.flush()
        await session.refresh(user)
        return UserSummary.of(user)


@dataclass(frozen=True)
class MediaAccounts:
    """Who a person is on the media servers, for watched sync; None leaves one as it is, "" clears it."""

    jellyfin: str | None = None
    emby: str | None = None
    plex: str | None = None


def _account(value: str, label: str) -> str | None:
    cleaned = value.strip()
    if not cleaned:
        return None
    if len(cleaned) > 100 or not cleaned.isprintable():
        raise InvalidInput(
            "a {label} account is at most 100 printable characters", code="user.media_account", label=label
        )
    return cleaned


async def set_media_accounts(database: Database, username: str, accounts: MediaAccounts) -> dict[str, str | None]:
    """Set who `username` is on Jellyfin (user id), Emby (user id) and Plex (account name)."""
    async with database.transaction() as session:
        user = await get_by_name(session, username, lock=True)
        if accounts.jellyfin is not None:
            user.jellyfin_user_id = _account(accounts.jellyfin, "Jellyfin")
        if accounts.emby is not None:
            user.emby_user_id = _account(accounts.emby, "Emby")
        if accounts.plex is not None:
            user.plex_username = _account(accounts.plex, "Plex")
        return {"jellyfin": user.jellyfin_user_id, "emby": user.emby_user_id, "plex": user.plex_username}


async def enable_user(database: Database, username: str, *, by_id: int | None = None) -> UserSummary:
    async with database.transaction() as session:
        user = await get_by_name(session, username, lock=True)
        user.status = UserStatus.ACTIVE
        user.updated_by_id = by_id
        await session.flush()
        await session.refresh(user)
        return UserSummary.of(user)


async def ensure_bootstrap_admin(database: Database, username: str) -> bool:
    """On an empty user table, create the admin named in config. True when it was created now.

    Two processes starting at once both see the table empty; the unique username makes one insert a no-op.
    """
    name = validate_username(username)
    async with database.transaction() as session:
        if (await session.execute(select(User.id).limit(1))).first() is not None:
            return False
        statement = (
            insert(User)
            .from_select(
                ["username", "role"],
                select(literal(name), literal(UserRole.ADMIN, type_=USER_ROLE)).where(~select(User.id).exists()),
            )
            .on_conflict_do_nothing()
            .returning(User.id)
        )
        created = (await session.execute(statement)).first()
        if created is None:
            return False
        details = {"role": UserRole.ADMIN.value, "bootstrap": True}
        await activity_log.write(session, user_id=created[0], type=ActivityType.USER_JOINED, details=details)
        return True


NOTIFICATION_KEYS = ("onRequestApproved", "onRequestDenied", "onRequestAvailable", "onDownloadFailed")
# The seed's privacy keys that something honours: the watchlist itself, what was watched (the feed's watched
# entries), and requests (the feed's request entries and the names in announcements). On unless turned off.
PRIVACY_KEYS = ("showWatchlist", "showWatchHistory", "showRequestHistory")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


@dataclass(frozen=True)
class Preferences:
    language: str
    notifications: dict[str, bool]
    privacy: dict[str, bool]


def switched_on(settings: Mapping[str, Any] | None, key: str) -> bool:
    """A notification or privacy switch: on unless turned off."""
    return (settings or {}).get(key, True) is not False


def _switches(settings: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, bool]:
    return {key: switched_on(settings, key) for key in keys}


def _unknown(given: dict[str, bool] | None, keys: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(given or {}) - set(keys))
    if unknown:
        raise InvalidInput(
            "{value!r} is not a {what} setting; choose {choices}",
            code="settings.unknown",
            value=unknown[0][:40],
            what=what,
            choices=", ".join(keys),
        )


async def update_preferences(
    database: Database,
    user_id: int,
    *,
    language: str | None = None,
    notifications: dict[str, bool] | None = None,
    privacy: dict[str, bool] | None = None,
) -> Preferences:
    """Change a person's language, notification or privacy switches (the seed's keys); nothing given only
    reads them."""
    if language is not None and not _LANGUAGE.match(language):
        raise InvalidInput(
            "{value!r} is not a language code like en or pt-BR", code="settings.language", value=language[:20]
        )
    _unknown(notifications, NOTIFICATION_KEYS, "notification")
    _unknown(privacy, PRIVACY_KEYS, "privacy")
    async with database.transaction() as session:
        user = (await session.execute(select(User).where(User.id == user_id).with_for_update())).scalar_one_or_none()
        if user is None:
            raise NotFound("there is no user with id {id}", code="user.no_id", id=user_id)
        changed: dict[str, object] = {}
        if language is not None and language != user.language:
            user.language = language
            changed["language"] = language
        if notifications:
            user.notification_settings = {**(user.notification_settings or {}), **notifications}
            changed.update(notifications)
        if privacy:
            user.privacy_settings = {**(user.privacy_settings or {}), **privacy}
            changed.update(privacy)
        if changed:
            await activity_log.write(
                session,
                user_id=user.id,
                type=ActivityType.SETTINGS_UPDATED,
                visibility=Visibility.PRIVATE,
                details=changed,
            )
        return Preferences(
            user.language,
            _switches(user.notification_settings, NOTIFICATION_KEYS),
            _switches(user.privacy_settings, PRIVACY_KEYS),
        )
