"""Writing notifications: outbox rows committed in the transaction of the change they report.

Each recipient's notification settings (the seed's keys, all on unless turned off) decide whether they hear
of an event; disabled users hear of nothing. The dedup key names the event and the recipient, so a replay
of the same event can never notify anyone twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import OutboxMessage, User
from core.db.session import OUTBOX, signal
from core.enums import UserStatus

__all__ = ["SETTING_FOR_EVENT", "enqueue", "wants"]

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


def wants(settings: Mapping[str, Any] | None, event: str) -> bool:
    key = SETTING_FOR_EVENT.get(event)
    return key is None or (settings or {}).get(key, True) is not False


async def enqueue(
    session: AsyncSession, *, event: str, dedup_base: str, recipients: Iterable[int], payload: dict[str, Any]
) -> list[int]:
    """Queue `event` for each recipient who wants it; returns who was queued."""
    ids = sorted(set(recipients))
    if not ids:
        return []
    rows = (
        await session.execute(select(User.id, User.status, User.notification_settings).where(User.id.in_(ids)))
    ).all()
    chosen = [row.id for row in rows if row.status == UserStatus.ACTIVE and wants(row.notification_settings, event)]
    if chosen:
        await session.execute(
            insert(OutboxMessage)
            .values(
                [
                    {
                        "dedup_key": f"{dedup_base}:user:{user_id}",
                        "event": event,
                        "recipient_user_id": user_id,
                        "payload": payload,
                    }
                    for user_id in chosen
                ]
            )
            .on_conflict_do_nothing(index_elements=[OutboxMessage.dedup_key])
        )
        signal(session, OUTBOX, event)
    return chosen
