"""Buttons as action tokens: a short id standing for an action, its arguments, who may press it and until
when (the action_token table). Pressing re-reads the token; the action itself re-checks permission."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from bots.conversation.replies import Button, Style
from core.db.models import ActionToken, User
from core.db.session import Database
from core.errors import DomainError
from core.permissions import Permission, effective_permissions
from core.services.identity import LINK_ACTION

__all__ = ["ButtonMaker", "Pressed", "TokenRefused", "redeem"]

# Moderation buttons wait in a moderator's chat for days; a search result's buttons need not live as long.
DEFAULT_TTL = timedelta(days=1)
MODERATION_TTL = timedelta(days=14)


class TokenRefused(DomainError):
    """Why a button press was refused; `reason` is a catalog key (token.unknown, token.expired, ...)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Pressed:
    action: str
    arguments: dict[str, Any]


class ButtonMaker:
    """Makes a reply's buttons and saves all their tokens in one insert."""

    def __init__(self, user_id: int) -> None:
        self._user_id = user_id
        self._rows: list[dict[str, Any]] = []

    def make(
        self,
        label: str,
        action: str,
        style: Style = "secondary",
        *,
        open_to_moderators: bool = False,
        ttl: timedelta = DEFAULT_TTL,
        **arguments: Any,
    ) -> Button:
        token = secrets.token_urlsafe(8)  # 11 characters, 64 random bits
        self._rows.append(
            {
                "id": token,
                "action": action,
                "arguments": arguments,
                "issued_to_user_id": self._user_id,
                "open_to_moderators": open_to_moderators,
                "expires_at": datetime.now(UTC) + (MODERATION_TTL if open_to_moderators else ttl),
            }
        )
        return Button(label=label, token=token, style=style)

    async def save(self, database: Database) -> None:
        if not self._rows:
            return
        async with database.transaction() as session:
            await session.execute(insert(ActionToken), self._rows)
        self._rows = []


async def redeem(database: Database, token: str, presser_id: int) -> Pressed:
    """What a pressed button means, if `presser_id` may press it now."""
    if not 1 <= len(token) <= 16 or not token.isascii():
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
