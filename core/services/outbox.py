"""Writing notifications: outbox rows committed in the transaction of the change they report.

Each recipient's notification settings (the seed's keys, all on unless turned off) decide whether they hear
of an event; disabled users hear of nothing. The dedup key names the event and the recipient, so a replay
of the same event can never notify anyone twice.

A change worth telling everyone (a title requested, approved, available, ...) is also queued once as an
announcement: a row with no recipient, which each front end posts where its community reads (the console
prints it; a bot posts in its announcement channel). People are named in it only if their privacy settings
share their request history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false, select, true, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import OutboxMessage, User
from core.db.session import OUTBOX, signal
from core.enums import UserStatus
from core.permissions import Permission, effective_permissions

__all__ = ["ANNOUNCED", "SETTING_FOR_EVENT", "Announcement", "Recipients", "enqueue", "wants"]

# Which of a user's notification settings governs each event. Events not listed (a moderator's "a request
# is waiting") always go out: they are part of the job, not a preference.
SETTING_FOR_EVENT: Mapping[str, str] = {
    "request_approved": "onRequestApproved",
    "request_denied": "onRequestDenied",
    "request_available": "onRequestAvailable",
    "request_partial": "onRequestAvailable",
    "request_failed": "onDownloadFailed",
    "request_expired": "onRequestDenied",
}


# The activity types announced to everyone. Joining, cancelling and expiry are between the people involved.
ANNOUNCED = frozenset(
    {"request_created", "request_approved", "request_denied", "request_available", "request_partial", "request_failed"}
)


@dataclass(frozen=True)
class Announcement:
    """An activity told to everyone: its type, who did it and whose request it concerns (None: idkarr itself)."""

    kind: str
    actor_id: int | None
    requester_id: int | None


def wants(settings: Mapping[str, Any] | None, event: str) -> bool:
    key = SETTING_FOR_EVENT.get(event)
    return key is None or (settings or {}).get(key, True) is not False


def _shares_history(privacy: Mapping[str, Any] | None) -> bool:
    return (privacy or {}).get("showRequestHistory", True) is not False


Recipients = Iterable[int] | Select[Any]


async def _people(session: AsyncSession, recipients: Recipients, named: set[int]) -> tuple[dict[int, Any], set[int]]:
    """Everyone involved, read in one round trip: who may hear the event, and who an announcement names."""
    columns = [User.id, User.username, User.status, User.role, User.permissions]
    columns += [User.notification_settings, User.privacy_settings]
    chosen = recipients if isinstance(recipients, Select) else sorted(set(recipients))
    parts = []
    if isinstance(chosen, Select) or chosen:
        parts.append(select(*columns, true().label("recipient")).where(User.id.in_(chosen)))
    if named:
        parts.append(select(*columns, false().label("recipient")).where(User.id.in_(sorted(named))))
    if not parts:
        return {}, set()
    rows = (await session.execute(union_all(*parts) if len(parts) > 1 else parts[0])).all()
    return {row.id: row for row in rows}, {row.id for row in rows if row.recipient}


async def enqueue(
    session: AsyncSession,
    *,
    event: str,
    dedup_base: str,
    recipients: Recipients,
    payload: dict[str, Any],
    holding: Permission | None = None,
    excluding: int | None = None,
    announcement: Announcement | None = None,
) -> list[int]:
    """Queue `event` for each recipient who wants it, and the announcement if any; returns who was queued.

    `recipients` are user ids or a query of them; `holding` keeps only those with that permission at this
    moment, `excluding` drops the person who caused the event. One query reads every person involved and
    one insert writes every row: this runs inside each change.
    """
    if announcement is not None and announcement.kind not in ANNOUNCED:
        announcement = None
    named = {announcement.actor_id, announcement.requester_id} if announcement else set()
    people, asked = await _people(session, recipients, {user_id for user_id in named if user_id is not None})
    chosen = sorted(
        user_id
        for user_id in asked - {excluding}
        if (row := people[user_id]).status == UserStatus.ACTIVE
        and wants(row.notification_settings, event)
        and (holding is None or holding in effective_permissions(row.role, row.permissions))
    )
    rows = [
        {"dedup_key": f"{dedup_base}:user:{user_id}", "event": event, "recipient_user_id": user_id, "payload": payload}
        for user_id in chosen
    ]
    if announcement is not None:

        def name(user_id: int | None) -> str | None:
            row = people.get(user_id) if user_id is not None else None
            return row.username if row is not None and _shares_history(row.privacy_settings) else None

        told = {**payload, "by": name(announcement.actor_id), "requested_by": name(announcement.requester_id)}
        announce = {"dedup_key": f"{dedup_base}:announce", "event": announcement.kind, "payload": told}
        rows.append({**announce, "recipient_user_id": None})
    if rows:
        await session.execute(
            insert(OutboxMessage).values(rows).on_conflict_do_nothing(index_elements=[OutboxMessage.dedup_key])
        )
        signal(session, OUTBOX, event)
    return chosen
