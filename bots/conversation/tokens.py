"""A reply's buttons: each an action token issued by the core (core/services/action_tokens.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bots.conversation.replies import Button, Style
from core.db.session import Database
from core.services import action_tokens
from core.services.action_tokens import DEFAULT_TTL, MODERATION_TTL, Issued

__all__ = ["ASKING", "ButtonMaker"]

# Actions whose answer is a question (see replies.Question); their buttons say so, for Discord's modal.
ASKING = frozenset({"request.deny"})


class ButtonMaker:
    """Makes a reply's buttons and has the core save all their tokens in one insert."""

    def __init__(self, user_id: int | None) -> None:
        """`user_id` None: buttons anyone may press (a post in a moderators' chat); the action still checks."""
        self._user_id = user_id
        self._issued: list[Issued] = []

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
        token = action_tokens.new_token()
        self._issued.append(
            Issued(
                token=token,
                action=action,
                arguments=arguments,
                issued_to=self._user_id,
                open_to_moderators=open_to_moderators,
                expires_at=datetime.now(UTC) + (MODERATION_TTL if open_to_moderators else ttl),
            )
        )
        return Button(label=label, token=token, style=style, asks=action in ASKING)

    async def save(self, database: Database) -> None:
        issued, self._issued = self._issued, []
        await action_tokens.issue(database, issued)
