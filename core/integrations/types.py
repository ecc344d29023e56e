"""What every media server's client returns, in idkarr's own shape."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.enums import ContentType

__all__ = ["LibraryItem", "Played", "ServerInfo", "ServerUser", "id_number", "imdb_id", "mapping"]


@dataclass(frozen=True, slots=True)
class ServerInfo:
    name: str
    version: str
    identifier: str | None = None


@dataclass(slots=True)
class LibraryItem:
    """A film or show on a server, by the server's own key, with the external ids its agent found.

    `seasons` (shows only): season number -> episodes the server has of it."""

    key: str
    content_type: ContentType
    title: str
    year: int | None = None
    tmdb_id: int | None = None
    tvdb_id: int | None = None
    imdb_id: str | None = None
    seasons: dict[int, int] = field(default_factory=dict)

    @property
    def identified(self) -> bool:
        return any((self.tmdb_id, self.tvdb_id, self.imdb_id))


@dataclass(frozen=True, slots=True)
class ServerUser:
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class Played:
    """One film or episode a server user has played."""

    item_key: str
    content_type: ContentType
    tmdb_id: int | None
    tvdb_id: int | None
    imdb_id: str | None
    season_number: int | None
    episode_number: int | None
    play_count: int
    last_played: datetime | None


def id_number(value: object) -> int | None:
    """An external id as a positive number, or None for anything else (agents leave blanks and junk)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if 0 < number < 2**31 else None
    return None


_IMDB = re.compile(r"tt\d{5,10}")


def imdb_id(value: object) -> str | None:
    return value if isinstance(value, str) and _IMDB.fullmatch(value) else None


def mapping(value: object) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else (a server's optional objects come as null)."""
    return value if isinstance(value, dict) else {}
