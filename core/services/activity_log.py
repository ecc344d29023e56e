"""Writing the activity feed: the one way an entry is written and announced.

Every entry, whoever writes it (a request's change, a library event, a user joining, a watchlist moving),
is one prepared INSERT of the same columns, and is announced to real-time listeners by `announce` once its
transaction commits. A request's change sends the same columns inside the statement that also queues its
notifications (see requests/common.py), and announces the same way.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Activity
from core.db.prepared import Prepared
from core.db.session import ACTIVITY, Work, signal
from core.enums import ActivityType, ContentType, Visibility

__all__ = ["COLUMNS", "WRITE", "announce", "values", "write"]

# Every column an entry is written with: all but its id and creation time.
COLUMNS = tuple(column.key for column in Activity.__table__.columns if column.key not in ("id", "created_at"))
WRITE = Prepared(insert(Activity).values({key: bindparam(f"new_{key}") for key in COLUMNS}).returning(Activity.id))


def values(*, type: ActivityType, visibility: Visibility = Visibility.PUBLIC, **fields: Any) -> dict[str, Any]:
    """An entry's values as WRITE binds them (`new_<column>`); columns not given are NULL."""
    unknown = set(fields) - set(COLUMNS)
    if unknown:
        raise TypeError(f"activity has no column {sorted(unknown)}")
    given = {"type": type, "visibility": visibility, **fields}
    return {f"new_{key}": given.get(key) for key in COLUMNS}


def announce(work: Work, entry_id: int, bound: dict[str, Any]) -> None:
    """Tell real-time listeners of entry `entry_id` (written with `bound`, as `values` made them) once the
    transaction commits."""
    content_type: ContentType | None = bound.get("new_content_type")
    message = {
        "id": entry_id,
        "type": str(bound["new_type"]),
        "user_id": bound.get("new_user_id"),
        "content_type": str(content_type) if content_type else None,
        "title": bound.get("new_title"),
        "request_id": bound.get("new_request_id"),
        "visibility": str(bound.get("new_visibility") or Visibility.PUBLIC),
        "details": bound.get("new_details") or {},
    }
    signal(work, ACTIVITY, json.dumps(message, default=str))


async def write(work: Work, *, type: ActivityType, visibility: Visibility = Visibility.PUBLIC, **fields: Any) -> int:
    """Write one entry in `work`'s transaction and announce it when that commits; its id. In the style of the
    use case it belongs to: through the ORM session's own connection, or as the prepared statement on a
    unit of work."""
    bound = values(type=type, visibility=visibility, **fields)
    if isinstance(work, AsyncSession):
        inserted = insert(Activity).values({key: bound[f"new_{key}"] for key in COLUMNS}).returning(Activity.id)
        entry_id = int((await work.execute(inserted)).scalar_one())
    else:
        (row,) = await WRITE.rows(work, **bound)
        entry_id = int(row.id)
    announce(work, entry_id, bound)
    return entry_id
