"""What a person types into search: free text, `tmdb:550`, `tvdb:81189`, `imdb:tt0137523`, `year:1999`."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.errors import InvalidInput
from core.metadata.provider import ExternalIds

__all__ = ["MAX_SEARCH_LENGTH", "SearchQuery", "parse_search"]

# TMDB ignores more than this, and no title is longer.
MAX_SEARCH_LENGTH = 200
_TOKEN = re.compile(r"\b(tmdb|tvdb|imdb|year):(\S*)", re.IGNORECASE)
_IMDB = re.compile(r"^tt\d{5,10}$")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str
    ids: ExternalIds | None = None
    year: int | None = None


def _clean(text: str) -> str:
    # Control and format characters (newlines, zero-width joiners, bidi overrides) never belong in a title.
    kept = "".join(char if unicodedata.category(char)[0] != "C" else " " for char in text)
    return " ".join(kept.split())


def parse_search(raw: str) -> SearchQuery:
    text = _clean(raw[: MAX_SEARCH_LENGTH * 4])
    tmdb = tvdb = year = None
    imdb: str | None = None
    for match in _TOKEN.finditer(text):
        name, value = match.group(1).lower(), match.group(2)
        if name == "imdb":
            if not _IMDB.match(value.lower()):
                raise InvalidInput(f"imdb: takes an IMDb id such as imdb:tt0137523, not {value[:20]!r}")
            imdb = value.lower()
            continue
        if not value.isdigit() or len(value) > 9:
            raise InvalidInput(f"{name}: takes a number, as in {name}:{1999 if name == 'year' else 550}")
        number = int(value)
        if name == "year":
            if not 1870 <= number <= 2100:
                raise InvalidInput(f"year:{number} is not a year films or series were released in")
            year = number
        elif name == "tmdb":
            tmdb = number
        else:
            tvdb = number
    remaining = _clean(_TOKEN.sub(" ", text))[:MAX_SEARCH_LENGTH]
    ids = ExternalIds(tmdb_id=tmdb, tvdb_id=tvdb, imdb_id=imdb) if (tmdb or tvdb or imdb) else None
    if ids is None and not remaining:
        raise InvalidInput("type something to search for, e.g. a title, tmdb:550 or imdb:tt0137523")
    return SearchQuery(text=remaining, ids=ids, year=year)
