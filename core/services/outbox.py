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
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    CTE,
    ColumnElement,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    column,
    func,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert

from core.db.models import OutboxMessage, User
from core.db.prepared import Prepared
from core.db.session import OUTBOX, Work, signal
from core.enums import UserRole, UserStatus
from core.permissions import Permission, effective_permissions
from core.services.users import switched_on

__all__ = [
    "ANNOUNCED",
    "SETTING_FOR_EVENT",
    "Announcement",
    "Audience",
    "PersonRow",
    "Queued",
    "Recipients",
    "enqueue",
    "people_query",
    "plan",
    "reading",
    "wants",
    "written_with",
]

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


R = TypeVar("R")


def wants(settings: Mapping[str, Any] | None, event: str) -> bool:
    key = SETTING_FOR_EVENT.get(event)
    return key is None or switched_on(settings, key)


_PERSON = (
    User.id,
    User.username,
    User.status,
    User.role,
    User.permissions,
    User.notification_settings,
    User.privacy_settings,
)


class PersonRow(NamedTuple):
    """Someone an event concerns, as the one read of everyone involved returns them."""

    id: int
    username: str
    status: UserStatus
    role: UserRole
    permissions: dict[str, Any] | None
    notification_settings: dict[str, Any] | None
    privacy_settings: dict[str, Any] | None
    recipient: bool  # picked as a recipient (else only named by the announcement)
    watched: int | None  # for a request's followers: when they began watching it (None: its requester)


def people_query(chosen: ColumnElement[bool], watched: ColumnElement[int] | None = None) -> Prepared[PersonRow]:
    """A query of the people `chosen` picks as recipients, plus those an announcement names (`named`), and,
    for a request's followers, when each began watching it (`watched`: what its view lists them by).

    Each kind of audience is one prepared statement, so reading everyone a change involves is one round trip.
    """
    named = User.id == any_(bindparam("named", type_=ARRAY(Integer)))
    began = (watched if watched is not None else null()).label("watched")
    return Prepared(select(*_PERSON, chosen.label("recipient"), began).where(or_(chosen, named)), PersonRow)


_BY_ID = people_query(User.id == any_(bindparam("ids", type_=ARRAY(Integer))))


@dataclass(frozen=True)
class Audience:
    """Recipients given as a query (`people_query`) and its values: the followers of a request, moderators."""

    query: Prepared[PersonRow]
    values: Mapping[str, Any]


Recipients = Iterable[int] | Audience


def _planned_rows(prefix: ColumnElement[str], under: ColumnElement[Any] | None = None) -> Select[Any]:
    """The planned rows (`Queued.values`), their dedup keys `prefix` + each row's suffix; each payload laid
    over `under` (a JSON object the statement reads), when given."""
    # One JSON value carries every row: dumped once, where four arrays would each be escaped element by element.
    planned = (
        func.jsonb_to_recordset(bindparam("planned", type_=JSONB))
        .table_valued(
            column("suffix", String),
            column("event", String),
            column("recipient_user_id", Integer),
            column("payload", JSONB),
        )
        .render_derived(name="planned", with_types=True)
    )
    payload = planned.c.payload if under is None else type_coerce(under.op("||")(planned.c.payload), JSONB)
    return select(func.concat(prefix, planned.c.suffix), planned.c.event, planned.c.recipient_user_id, payload)


def _write(rows: Select[Any]) -> Any:
    return (
        insert(OutboxMessage)
        .from_select(["dedup_key", "event", "recipient_user_id", "payload"], rows)
        .on_conflict_do_nothing(index_elements=[OutboxMessage.dedup_key])
    )


_WRITE = Prepared(_write(_planned_rows(bindparam("prefix", type_=String))))


def written_with(
    source: CTE,
    prefix: str,
    shape: type[R],
    *,
    under: tuple[ColumnElement[object], ColumnElement[bool]] | None = None,
) -> Prepared[R]:
    """One statement that runs `source` (an INSERT ... RETURNING id and what else, as a CTE) and queues the
    planned rows, their dedup keys `prefix` + the new id + each suffix; it returns `source`'s rows, typed as
    `shape`. A change's record and its notifications are then one round trip. `under`: a JSON object each
    payload is laid over, and the condition that finds the row it is read from."""
    keyed = _planned_rows(func.concat(prefix, source.c.id), under[0] if under else None).select_from(source)
    if under is not None:
        keyed = keyed.where(under[1])
    queued = _write(keyed).cte("queued")
    return Prepared(select(*source.c).add_cte(queued), shape)


@dataclass(frozen=True)
class Queued:
    """What a change queues: one row per recipient who wants it, and the announcement if any."""

    event: str
    people: dict[int, PersonRow]  # everyone read: the recipients' query rows and the people the announcement names
    chosen: list[int]  # who will hear of it
    suffixes: list[str]
    events: list[str]
    recipients: list[int | None]
    payloads: list[dict[str, Any]]

    def values(self) -> dict[str, Any]:
        """The values a statement from `written_with` (or the plain write) takes."""
        rows = zip(self.suffixes, self.events, self.recipients, self.payloads, strict=True)
        return {
            "planned": [
                {"suffix": suffix, "event": event, "recipient_user_id": recipient, "payload": payload}
                for suffix, event, recipient, payload in rows
            ]
        }

    def signal(self, session: Work) -> None:
        if self.suffixes:
            signal(session, OUTBOX, self.event)


def _announced(announcement: Announcement | None) -> Announcement | None:
    return announcement if announcement is not None and announcement.kind in ANNOUNCED else None


def reading(
    recipients: Recipients, announcement: Announcement | None = None
) -> tuple[Prepared[PersonRow], dict[str, Any]]:
    """The one read `plan` starts with: who may hear the event, and who the announcement names. A caller
    with other statements to send can send this one with them (`together`) and give `plan` its rows."""
    if isinstance(recipients, Audience):
        query, values = recipients.query, dict(recipients.values)
    else:
        query, values = _BY_ID, {"ids": sorted(set(recipients))}
    announced = _announced(announcement)
    named = {announced.actor_id, announced.requester_id} if announced else set()
    return query, {**values, "named": sorted(user_id for user_id in named if user_id is not None)}


async def plan(
    session: Work,
    *,
    event: str,
    recipients: Recipients,
    payload: dict[str, Any],
    holding: Permission | None = None,
    excluding: int | None = None,
    announcement: Announcement | None = None,
    read: list[PersonRow] | None = None,
) -> Queued:
    """Who hears of `event` (each recipient who wants it) and the announcement if any, read in one query.

    `recipients` are user ids or a query of them; `holding` keeps only those with that permission at this
    moment, `excluding` drops the person who caused the event. `read`: the rows of `reading(recipients,
    announcement)` when the caller has already read them.
    """
    announcement = _announced(announcement)
    if read is None:
        query, values = reading(recipients, announcement)
        # Nobody to tell and nobody to name (a join, a cancel): nothing to read.
        nobody = query is _BY_ID and not values["ids"] and not values["named"]
        read = [] if nobody else await query.rows(session, **values)
    people = {row.id: row for row in read}
    asked = {row.id for row in read if row.recipient}
    chosen = sorted(
        user_id
        for user_id in asked - {excluding}
        if (row := people[user_id]).status == UserStatus.ACTIVE
        and wants(row.notification_settings, event)
        and (holding is None or holding in effective_permissions(row.role, row.permissions))
    )
    queued = Queued(
        event=event,
        people=people,
        chosen=chosen,
        suffixes=[f":user:{user_id}" for user_id in chosen],
        events=[event] * len(chosen),
        recipients=list(chosen),
        payloads=[payload] * len(chosen),
    )
    if announcement is not None:

        def name(user_id: int | None) -> str | None:
            row = people.get(user_id) if user_id is not None else None
            return row.username if row is not None and switched_on(row.privacy_settings, "showRequestHistory") else None

        queued.suffixes.append(":announce")
        queued.events.append(announcement.kind)
        queued.payloads.append(
            {**payload, "by": name(announcement.actor_id), "requested_by": name(announcement.requester_id)}
        )
        queued.recipients.append(None)
    return queued


async def enqueue(
    session: Work,
    *,
    event: str,
    dedup_base: str,
    recipients: Recipients,
    payload: dict[str, Any],
    holding: Permission | None = None,
    excluding: int | None = None,
    announcement: Announcement | None = None,
) -> list[int]:
    """Queue `event` as `plan` decides, with dedup keys `dedup_base` + suffix; returns who was queued."""
    queued = await plan(
        session,
        event=event,
        recipients=recipients,
        payload=payload,
        holding=holding,
        excluding=excluding,
        announcement=announcement,
    )
    if queued.suffixes:
        await _WRITE.rows(session, prefix=dedup_base, **queued.values())
        queued.signal(session)
    return queued.chosen
