"""One person, one user: chat identities, one-time link codes, self-registration and API keys.

A link code and an API key are secrets handed to a person once; only their SHA-256 digests are stored.
Both are long random strings, so a fast digest is enough (a slow password hash guards guessable secrets).
A link code lives in the action_token table as a single-use "link" token whose id is derived from the
digest: it expires, is used at most once, and survives restarts like any other token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import String, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import ActionToken, ChatIdentity, User
from core.db.prepared import Prepared
from core.db.session import Database
from core.enums import ActivityType, ChatPlatform, UserRole, UserStatus, Visibility
from core.errors import AlreadyExists, InvalidInput, NotAllowed, NotFound
from core.permissions import Permission
from core.services import activity_log, outbox
from core.services.action_tokens import LINK_ACTION
from core.services.operator import Operator, Someone
from core.services.requests.common import load_user, require_permission
from core.services.users import UserSummary, get_by_name
from core.text import clean_text

__all__ = [
    "LINK_ACTION",
    "NotLinked",
    "Registration",
    "authenticate_api_key",
    "identify",
    "issue_api_key",
    "issue_link_code",
    "redeem_link_code",
    "register",
    "unlink",
]

Registration = Literal["open", "approval", "closed"]

# No 0/O, 1/I/L: a code is read off one screen and typed into another.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 10  # 31^10 ≈ 8e14 codes
_API_KEY_PREFIX = "idk_"


_NOT_LINKED: dict[Registration, str] = {
    "closed": "this {platform} account is not linked to an idkarr user yet: "
    "ask an admin for a link code and send it with /link CODE",
    "approval": "this {platform} account is not linked to an idkarr user yet: "
    "ask an admin for a link code and send it with /link CODE, or send /register to sign up "
    "(an admin then approves you)",
    "open": "this {platform} account is not linked to an idkarr user yet: "
    "ask an admin for a link code and send it with /link CODE, or send /register to sign up",
}


class NotLinked(NotAllowed):
    """A chat identity that belongs to nobody yet; says how to get linked under the registration policy."""

    def __init__(self, platform: ChatPlatform, registration: Registration) -> None:
        self.platform = platform
        self.registration = registration
        shown = {ChatPlatform.DISCORD: "Discord", ChatPlatform.TELEGRAM: "Telegram"}.get(platform, platform.value)
        super().__init__(_NOT_LINKED[registration], code=f"not_linked.{registration}", platform=shown)


@dataclass(frozen=True)
class Identity:
    user: UserSummary
    platform: ChatPlatform
    platform_user_id: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _normalise_code(code: str) -> str:
    cleaned = re.sub(r"[\s\-]", "", code).upper()
    if len(cleaned) != _CODE_LENGTH or any(char not in _ALPHABET for char in cleaned):
        raise InvalidInput("that is not a link code: it has 10 letters and digits, like ABCDE-FGHJK", code="link.shape")
    return cleaned


def _token_id(code: str) -> str:
    return "lk" + _digest(code)[:14]


def _check_platform_id(platform_user_id: str) -> str:
    value = platform_user_id.strip()
    if not 1 <= len(value) <= 64 or not value.isprintable():
        raise InvalidInput("a platform user id has 1 to 64 printable characters", code="link.platform_id")
    return value


async def identify(
    database: Database,
    platform: ChatPlatform,
    platform_user_id: str,
    *,
    display_name: str | None = None,
    registration: Registration = "approval",
) -> UserSummary:
    """The user behind a chat identity, or NotLinked saying how to get linked.

    Asked for every message a chat front end receives: one prepared statement, which also notes when the
    person was last seen (at most once a minute, so a busy chat does not rewrite two rows per message)."""
    platform_user_id = _check_platform_id(platform_user_id)
    name = clean_text(display_name or "")[:256] or None
    async with database.unit() as unit:
        found = await _IDENTIFY.first(unit, platform=platform, platform_user_id=platform_user_id, name=name)
    if found is None:
        raise NotLinked(platform, registration)
    return UserSummary.of(found)


_SEEN = (
    select(
        ChatIdentity.id.label("identity_id"),
        ChatIdentity.display_name,
        ChatIdentity.last_seen_at,
        User.id,
        User.username,
        User.role,
        User.status,
        User.created_at,
        User.language,
    )
    .join(User, User.id == ChatIdentity.user_id)
    .where(
        ChatIdentity.platform == bindparam("platform"),
        ChatIdentity.platform_user_id == bindparam("platform_user_id"),
    )
    .cte("seen")
)
_STALE = or_(
    _SEEN.c.last_seen_at.is_(None),
    _SEEN.c.last_seen_at < func.now() - text("interval '1 minute'"),
    and_(bindparam("name", type_=String).is_not(None), _SEEN.c.display_name.is_distinct_from(bindparam("name"))),
)
_TOUCH_IDENTITY = (
    update(ChatIdentity)
    .where(ChatIdentity.id == _SEEN.c.identity_id, _STALE)
    .values(last_seen_at=func.now(), display_name=func.coalesce(bindparam("name"), ChatIdentity.display_name))
    .cte("touched_identity")
)
_TOUCH_USER = update(User).where(User.id == _SEEN.c.id, _STALE).values(last_active=func.now()).cte("touched_user")
_IDENTIFY = Prepared(
    select(_SEEN.c.id, _SEEN.c.username, _SEEN.c.role, _SEEN.c.status, _SEEN.c.created_at, _SEEN.c.language)
    .add_cte(_TOUCH_IDENTITY)
    .add_cte(_TOUCH_USER)
)


async def issue_link_code(database: Database, username: str, *, by: Someone, minutes: int = 60) -> tuple[str, datetime]:
    """A one-time code that links whichever chat account redeems it to `username`; shown once, stored hashed.
    A user issuing one needs the manage-users permission."""
    if not 1 <= minutes <= 7 * 24 * 60:
        raise InvalidInput("a link code lives between 1 minute and 7 days", code="link.lifetime")
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    async with database.transaction() as session:
        if not isinstance(by, Operator):
            require_permission(await load_user(session, by), Permission.MANAGE_USERS)
        user = await get_by_name(session, username)
        if user.status == UserStatus.DISABLED:
            raise NotAllowed(
                "{name} is disabled; enable them before linking a chat account",
                code="link.disabled",
                name=user.username,
            )
        session.add(
            ActionToken(
                id=_token_id(raw),
                action=LINK_ACTION,
                arguments={"user_id": user.id},
                issued_to_user_id=user.id,
                single_use=True,
                expires_at=expires,
            )
        )
    return f"{raw[:5]}-{raw[5:]}", expires


async def redeem_link_code(
    database: Database,
    code: str,
    platform: ChatPlatform,
    platform_user_id: str,
    *,
    display_name: str | None = None,
) -> UserSummary:
    platform_user_id = _check_platform_id(platform_user_id)
    token_id = _token_id(_normalise_code(code))
    async with database.transaction() as session:
        token = (
            await session.execute(
                select(ActionToken)
                .where(ActionToken.id == token_id, ActionToken.action == LINK_ACTION)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if token is None:
            raise NotFound("that link code is not valid; ask an admin for a new one", code="link.unknown")
        if token.used_at is not None:
            raise NotAllowed("that link code was already used; ask an admin for a new one", code="link.used")
        if token.expires_at <= datetime.now(UTC):
            raise NotAllowed("that link code has expired; ask an admin for a new one", code="link.expired")
        user = await session.get(User, int(token.arguments["user_id"]), with_for_update=True)
        if user is None:  # deleted after the code was issued
            raise NotFound("that link code is not valid; ask an admin for a new one", code="link.unknown")
        if user.status == UserStatus.DISABLED:
            raise NotAllowed("{name}'s account is disabled", code="account.disabled", name=user.username)
        await _attach(session, user, platform, platform_user_id, display_name)
        token.used_at = datetime.now(UTC)
        await activity_log.write(
            session,
            user_id=user.id,
            type=ActivityType.USER_JOINED,
            visibility=Visibility.PRIVATE,
            details={"linked": platform.value},
        )
        return UserSummary.of(user)


async def _attach(
    session: AsyncSession, user: User, platform: ChatPlatform, platform_user_id: str, display_name: str | None
) -> None:
    existing = (
        await session.execute(
            select(ChatIdentity.user_id, User.username)
            .join(User, User.id == ChatIdentity.user_id)
            .where(ChatIdentity.platform == platform, ChatIdentity.platform_user_id == platform_user_id)
        )
    ).first()
    if existing is not None:
        if existing.user_id == user.id:
            return
        raise AlreadyExists(
            "this {platform} account is already linked to {name}; an admin can unlink it first",
            code="link.taken",
            platform=platform.value,
            name=existing.username,
        )
    inserted = await session.execute(
        insert(ChatIdentity)
        .values(
            platform=platform,
            platform_user_id=platform_user_id,
            user_id=user.id,
            display_name=clean_text(display_name or "")[:256] or None,
            last_seen_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
        .returning(ChatIdentity.id)
    )
    if inserted.first() is None:  # linked by someone else a moment ago
        raise AlreadyExists(
            "this {platform} account was just linked to another user", code="link.race", platform=platform.value
        )


def _username_from(display_name: str | None, platform: ChatPlatform, platform_user_id: str) -> str:
    base = re.sub(r"[^\w.\-]", "", (display_name or "").replace(" ", "_"))[:48].strip("._-")
    fallback = re.sub(r"[^\w]", "", platform_user_id)[:40] or "user"
    return base or f"{platform.value}-{fallback}"


async def register(
    database: Database,
    platform: ChatPlatform,
    platform_user_id: str,
    *,
    display_name: str | None = None,
    registration: Registration,
) -> UserSummary:
    """Sign up from chat, as the registration policy allows: open (a user at once), approval (pending until
    an admin enables them; admins are told) or closed."""
    if registration == "closed":
        raise NotAllowed("registration is closed here; ask an admin for a link code", code="register.closed")
    platform_user_id = _check_platform_id(platform_user_id)
    base = _username_from(display_name, platform, platform_user_id)
    status = UserStatus.ACTIVE if registration == "open" else UserStatus.PENDING
    for attempt in range(20):
        name = base if attempt == 0 else f"{base}{attempt + 1}"
        try:
            async with database.transaction() as session:
                taken = await session.execute(select(User.id).where(func.lower(User.username) == name.lower()))
                if taken.first() is not None:
                    continue
                user = User(username=name, role=UserRole.USER, status=status)
                session.add(user)
                await session.flush()
                await _attach(session, user, platform, platform_user_id, display_name)
                await activity_log.write(
                    session,
                    user_id=user.id,
                    type=ActivityType.USER_JOINED,
                    visibility=Visibility.PUBLIC if status == UserStatus.ACTIVE else Visibility.PRIVATE,
                    details={"registered": platform.value, "status": status.value},
                )
                if status == UserStatus.PENDING:
                    admins = await session.execute(
                        select(User.id).where(User.role == UserRole.ADMIN, User.status == UserStatus.ACTIVE)
                    )
                    await outbox.enqueue(
                        session,
                        event="user_pending",
                        dedup_base=f"user_pending:{user.id}",
                        recipients=admins.scalars().all(),
                        payload={"username": user.username, "platform": platform.value},
                    )
                await session.flush()
                await session.refresh(user)
                return UserSummary.of(user)
        except IntegrityError:
            continue  # the name was taken a moment ago: try the next one
    raise AlreadyExists("could not find a free username; ask an admin to add you", code="register.no_name")


async def unlink(database: Database, platform: ChatPlatform, platform_user_id: str) -> str:
    """Forget a chat identity; returns the username it belonged to."""
    async with database.transaction() as session:
        row = (
            await session.execute(
                select(ChatIdentity, User.username)
                .join(User, User.id == ChatIdentity.user_id)
                .where(ChatIdentity.platform == platform, ChatIdentity.platform_user_id == platform_user_id.strip())
            )
        ).first()
        if row is None:
            raise NotFound(
                "no {platform} account {id!r} is linked",
                code="link.missing",
                platform=platform.value,
                id=platform_user_id[:64],
            )
        await session.delete(row[0])
        return str(row[1])


async def issue_api_key(database: Database, username: str) -> str:
    """A new API key for `username`, replacing any old one; shown once, stored as a digest."""
    key = _API_KEY_PREFIX + secrets.token_urlsafe(32)
    async with database.transaction() as session:
        user = await get_by_name(session, username, lock=True)
        user.api_key_hash = _digest(key)
    return key


async def revoke_api_key(database: Database, username: str) -> bool:
    """Take `username`'s API key away (every idkarr process refuses it within seconds); whether there was one."""
    async with database.transaction() as session:
        user = await get_by_name(session, username, lock=True)
        had = user.api_key_hash is not None
        user.api_key_hash = None
    return had


async def authenticate_api_key(database: Database, key: str) -> UserSummary:
    if not key.startswith(_API_KEY_PREFIX) or len(key) > 100:
        raise NotAllowed("that API key is not valid", code="api_key.invalid")
    async with database.transaction() as session:
        user = (await session.execute(select(User).where(User.api_key_hash == _digest(key)))).scalar_one_or_none()
        if user is None or user.status != UserStatus.ACTIVE:
            raise NotAllowed("that API key is not valid", code="api_key.invalid")
        # At most once a minute: a script calling many times a second would otherwise write (and flush the
        # log for) a row at every call.
        stale = or_(User.last_active.is_(None), User.last_active < func.now() - timedelta(minutes=1))
        await session.execute(update(User).where(User.id == user.id, stale).values(last_active=datetime.now(UTC)))
        return UserSummary.of(user)
