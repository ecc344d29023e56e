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

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import OutboxMessage, User
from core.db.session import OUTBOX, signal
from core.enums import UserStatus

__all__ = ["ANNOUNCED", "SETTING_FOR_EVENT", "Announcement", "enqueue", "wants"]

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


async def _people(session: AsyncSession, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    query = select(User.id, User.username, User.status, User.notification_settings, User.privacy_settings)
    return {row.id: row for row in (await session.execute(query.where(User.id.in_(sorted(ids))))).all()}


async def enqueue(
    session: AsyncSession,
    *,
    event: str,
    dedup_base: str,
    recipients: Iterable[int],
    payload: dict[str, Any],
    announcement: Announcement | None = None,
) -> list[int]:
    """Queue `event` for each recipient who wants it, and the announcement if any; returns who was queued.

    One query reads every person involved and one insert writes every row: this runs inside each change.
    """
    ids = set(recipients)
    if announcement is not None and announcement.kind not in ANNOUNCED:
        announcement = None
    named = {announcement.actor_id, announcement.requester_id} if announcement else set()
    people = await _people(session, ids | {user_id for user_id in named if user_id is not None})
    chosen = sorted(
        user_id
        for user_id in ids
        if (row := people.get(user_id)) is not None
        and row.status == UserStatus.ACTIVE
        and wants(row.notification_settings, event)
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
