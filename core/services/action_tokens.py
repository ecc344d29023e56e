"""What a button means: a short token standing for an action, its arguments, who may press it and until when.

Buttons carry only the token (it fits Telegram's 64-byte callback_data and Discord's 100-character
custom_id) and keep working after a restart, in whichever process receives the press. Pressing re-reads the
token; the action itself checks the presser's permission again when it runs.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    String,
    Text,
    bindparam,
    cast,
    column,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from core.db.models import ActionToken, User
from core.db.prepared import Prepared
from core.db.session import Database
from core.errors import DomainError
from core.permissions import Permission, effective_permissions

__all__ = [
    "DEFAULT_TTL",
    "LINK_ACTION",
    "MODERATION_TTL",
    "Issued",
    "Pressed",
    "TokenRefused",
    "issue",
    "new_token",
    "purge_expired",
    "redeem",
    "well_formed",
]

LINK_ACTION = "link"
# Moderation buttons wait in a moderator's chat for days; a search result's buttons need not live as long.
DEFAULT_TTL = timedelta(days=1)
MODERATION_TTL = timedelta(days=14)
# Kept a while past expiry, so a late press reads "expired" rather than "no longer works".
PURGE_AFTER = timedelta(days=7)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,16}")


class TokenRefused(DomainError):
    """Why a press was refused; `reason` is a catalog key (token.unknown, token.expired, token.not_yours)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Issued:
    """A token to write: made by a front-end-neutral caller, saved with its siblings in one insert."""

    token: str
    action: str
    arguments: Mapping[str, Any]
    issued_to: int | None
    open_to_moderators: bool
    expires_at: datetime


@dataclass(frozen=True)
class Pressed:
    action: str
    arguments: dict[str, Any]


def new_token() -> str:
    return secrets.token_urlsafe(8)  # 11 characters, 64 random bits


def well_formed(token: str) -> bool:
    """Whether `token` could be one of ours: checked before any database sees it (a NUL byte, 10 kB)."""
    return _TOKEN.fullmatch(token) is not None


# Every reply with buttons writes its tokens: one prepared statement over arrays, on the lean unit of work
# (the ORM's executemany of a search page's 16 tokens cost 5 ms, a third of the reply).
_TOKENS = (
    func.unnest(
        bindparam("ids", type_=ARRAY(String)),
        bindparam("actions", type_=ARRAY(String)),
        bindparam("arguments", type_=ARRAY(Text)),
        bindparam("issued_to", type_=ARRAY(BigInteger)),
        bindparam("open", type_=ARRAY(Boolean)),
        bindparam("expires", type_=ARRAY(DateTime(timezone=True))),
    )
    .table_valued(
        column("id", String),
        column("action", String),
        column("arguments", Text),
        column("issued_to", BigInteger),
        column("open", Boolean),
        column("expires", DateTime(timezone=True)),
    )
    .render_derived(name="issued")
)
_ISSUE = Prepared(
    insert(ActionToken).from_select(
        ["id", "action", "arguments", "issued_to_user_id", "open_to_moderators", "expires_at"],
        select(
            _TOKENS.c.id,
            _TOKENS.c.action,
            cast(_TOKENS.c.arguments, JSONB),
            _TOKENS.c.issued_to,
            _TOKENS.c.open,
            _TOKENS.c.expires,
        ),
    )
)


async def issue(database: Database, tokens: Sequence[Issued]) -> None:
    if not tokens:
        return
    async with database.unit() as unit:
        await _ISSUE.rows(
            unit,
            ids=[token.token for token in tokens],
            actions=[token.action for token in tokens],
            arguments=[orjson.dumps(dict(token.arguments)).decode() for token in tokens],
            issued_to=[token.issued_to for token in tokens],
            open=[token.open_to_moderators for token in tokens],
            expires=[token.expires_at for token in tokens],
        )


async def redeem(database: Database, token: str, presser_id: int) -> Pressed:
    """What a pressed button means, if `presser_id` may press it now."""
    if not well_formed(token):
        raise TokenRefused("token.unknown")
    async with database.session() as session:
        row = (
            await session.execute(
                select(ActionToken, User.role, User.permissions)
                .join(User, User.id == presser_id)
                .where(ActionToken.id == token, ActionToken.action != LINK_ACTION)
            )
        ).first()
    if row is None:
        raise TokenRefused("token.unknown")
    action_token, role, overrides = row
    if action_token.expires_at <= datetime.now(UTC) or action_token.used_at is not None:
        raise TokenRefused("token.expired")
    if action_token.issued_to_user_id not in (None, presser_id):
        moderator = Permission.MANAGE_REQUESTS in effective_permissions(role, overrides)
        if not (action_token.open_to_moderators and moderator):
            raise TokenRefused("token.not_yours")
    return Pressed(action_token.action, dict(action_token.arguments))


async def purge_expired(database: Database, *, now: datetime | None = None) -> int:
    """Delete tokens expired more than a week ago; safe in several processes at once (a plain DELETE)."""
    cutoff = (now or datetime.now(UTC)) - PURGE_AFTER
    async with database.transaction() as session:
        result = await session.execute(delete(ActionToken).where(ActionToken.expires_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
