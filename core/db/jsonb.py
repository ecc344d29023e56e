"""How JSONB values cross the wire: orjson, several times faster than the standard library's json.

Every request change reads people's settings and writes its notifications' payloads as JSONB; with the
standard library, encoding and decoding them was a sixteenth of the CPU of a create or an approval.
Both pools' connections use these (`adapters`), so the ORM and core.db.prepared read and write alike.
"""

from __future__ import annotations

from typing import Any

import orjson
from psycopg.adapt import AdaptersMap
from psycopg.postgres import adapters as postgres_adapters
from psycopg.types.json import set_json_dumps, set_json_loads

__all__ = ["adapters", "dumps", "dumps_text", "loads"]


def dumps(value: Any) -> bytes:
    # As json.dumps does: keys that are numbers become strings.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def dumps_text(value: Any) -> str:
    """`dumps` as text, for SQLAlchemy (it quotes JSON literals as strings)."""
    return dumps(value).decode()


loads = orjson.loads


def adapters() -> AdaptersMap:
    """psycopg's adapters with JSON through `dumps` and `loads`, for a connection's `context`."""
    mapping = AdaptersMap(postgres_adapters)
    set_json_dumps(dumps, mapping)
    set_json_loads(loads, mapping)
    return mapping
