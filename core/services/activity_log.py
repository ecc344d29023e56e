"""Writing the activity feed: the one way an entry is written and announced.

Every entry, whoever writes it (a user joining, a watchlist moving), is one INSERT of the same columns,
returning what `announce` tells real-time listeners once its transaction commits. An entry about a request
(its change, a library event) is written by requests/common.py in the statement that also queues its
notifications, reading the title from the request's row, and announced the same way.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import jsonb
from core.db.models import Activity
from core.db.prepared import Prepared
from core.db.session import ACTIVITY, Work, signal
from core.enums import ActivityType, ContentType, Visibility

__all__ = ["ANNOUNCED", "COLUMNS", "WRITE", "Entry", "announce", "values", "write"]


class Entry(NamedTuple):
    """An entry as its INSERT returns it: what real-time listeners are told of it."""

    id: int
    type: ActivityType
    user_id: int | None
    content_type: ContentType | None
    title: str | None
    request_id: int | None
    visibility: Visibility
    details: dict[str, Any] | None


# Every column an entry is written with: all but its id and creation time.
COLUMNS = tuple(column.key for column in Activity.__table__.columns if column.key not in ("id", "created_at"))
_COLUMN_SET = frozenset(COLUMNS)
_NONE = dict.fromkeys(f"new_{key}" for key in COLUMNS)
ANNOUNCED = tuple(getattr(Activity, name) for name in Entry._fields)
_INSERT = insert(Activity).values({key: bindparam(f"new_{key}") for key in COLUMNS}).returning(*ANNOUNCED)
WRITE = Prepared(_INSERT, Entry)


def values(*, type: ActivityType, visibility: Visibility = Visibility.PUBLIC, **fields: Any) -> dict[str, Any]:
    """An entry's values as WRITE binds them (`new_<column>`); columns not given are NULL."""
    if not _COLUMN_SET.issuperset(fields):
        raise TypeError(f"activity has no column {sorted(set(fields) - _COLUMN_SET)}")
    bound = dict(_NONE)
    bound.update({f"new_{key}": value for key, value in fields.items()})
    bound["new_type"], bound["new_visibility"] = type, visibility
    return bound


def announce(work: Work, entry: Entry) -> None:
    """Tell real-time listeners of `entry` once the transaction that wrote it commits."""
    message = {
        "id": entry.id,
        "type": str(entry.type),
        "user_id": entry.user_id,
        "content_type": str(entry.content_type) if entry.content_type else None,
        "title": entry.title,
        "request_id": entry.request_id,
        "visibility": str(entry.visibility),
        "details": entry.details or {},
    }
    # Its values are as read from the database (details are JSONB), which orjson writes as they came.
    signal(work, ACTIVITY, jsonb.dumps_text(message))


async def write(work: Work, *, type: ActivityType, visibility: Visibility = Visibility.PUBLIC, **fields: Any) -> int:
    """Write one entry in `work`'s transaction and announce it, as written, when that commits; its id. In the
    style of the use case it belongs to: through the ORM session's own connection, or as the prepared
    statement on a unit of work."""
    bound = values(type=type, visibility=visibility, **fields)
    if isinstance(work, AsyncSession):
        entry = Entry(*(await work.execute(_INSERT, bound)).one())
    else:
        (entry,) = await WRITE.rows(work, **bound)
    announce(work, entry)
    return entry.id
