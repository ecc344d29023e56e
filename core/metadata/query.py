"""What a person types into search: free text, `tmdb:550`, `tvdb:81189`, `imdb:tt0137523`, `year:1999`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.enums import ContentType, parse_choice
from core.errors import InvalidInput
from core.metadata.provider import ExternalIds
from core.text import clean_text

__all__ = ["MAX_SEARCH_LENGTH", "SearchQuery", "parse_content_type", "parse_search", "parse_seasons", "parse_title_id"]

# TMDB ignores more than this, and no title is longer.
MAX_SEARCH_LENGTH = 200
_TOKEN = re.compile(r"\b(tmdb|tvdb|imdb|year):(\S*)", re.IGNORECASE)
_IMDB = re.compile(r"^tt\d{5,10}$")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str
    ids: ExternalIds | None = None
    year: int | None = None


def parse_search(raw: str) -> SearchQuery:
    text = clean_text(raw[: MAX_SEARCH_LENGTH * 4])
    tmdb = tvdb = year = None
    imdb: str | None = None
    for match in _TOKEN.finditer(text):
        name, value = match.group(1).lower(), match.group(2)
        if name == "imdb":
            if not _IMDB.match(value.lower()):
                raise InvalidInput(
                    "imdb: takes an IMDb id such as imdb:tt0137523, not {value!r}", code="search.imdb", value=value[:20]
                )
            imdb = value.lower()
            continue
        if not value.isdigit() or len(value) > 9:
            raise InvalidInput(
                "{name}: takes a number, as in {name}:{example}",
                code="search.number",
                name=name,
                example=1999 if name == "year" else 550,
            )
        number = int(value)
        if name == "year":
            if not 1870 <= number <= 2100:
                raise InvalidInput(
                    "year:{year} is not a year films or series were released in", code="search.year", year=number
                )
            year = number
        elif name == "tmdb":
            tmdb = number
        else:
            tvdb = number
    remaining = clean_text(_TOKEN.sub(" ", text))[:MAX_SEARCH_LENGTH]
    ids = ExternalIds(tmdb_id=tmdb, tvdb_id=tvdb, imdb_id=imdb) if (tmdb or tvdb or imdb) else None
    if ids is None and not remaining:
        raise InvalidInput(
            "type something to search for, e.g. a title, tmdb:550 or imdb:tt0137523", code="search.empty"
        )
    return SearchQuery(text=remaining, ids=ids, year=year)


# --- naming one title and its seasons, as every front end lets people type them ---------------------------


def parse_content_type(value: str) -> ContentType:
    return parse_choice(ContentType, value, "a content type")


def parse_title_id(content_type: ContentType, value: str) -> ExternalIds:
    """`603`, `tmdb:603`, `tvdb:81189` or `imdb:tt0133093`; a bare number is TMDB for films, TVDB for shows."""
    text = value.strip().lower()
    source, _, number = text.rpartition(":")
    if source == "imdb" or text.startswith("tt"):
        imdb = number if source else text
        if not (imdb.startswith("tt") and imdb[2:].isdigit()):
            raise InvalidInput("{value!r} is not an IMDb id such as tt0133093", code="title.imdb", value=value[:40])
        return ExternalIds(imdb_id=imdb)
    if not number.isdigit() or len(number) > 9 or source not in ("", "tmdb", "tvdb"):
        raise InvalidInput(
            "{value!r} is not a title id; use a number, tmdb:ID, tvdb:ID or imdb:ttID",
            code="title.id",
            value=value[:40],
        )
    if source == "tmdb" or (not source and content_type == ContentType.MOVIE):
        return ExternalIds(tmdb_id=int(number))
    return ExternalIds(tvdb_id=int(number))


def parse_seasons(text: str | None) -> list[int] | None:
    """`1,2`, `1-3` or a mix; None (nothing, or "all") means every season but specials."""
    if text is None or not text.strip() or text.strip().lower() == "all":
        return None
    numbers: set[int] = set()
    for part in text.split(","):
        piece = part.strip()
        low, dash, high = piece.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()) or len(piece) > 9:
            raise InvalidInput(
                "{value!r} is not a season number; write seasons as 1,2 or 1-3", code="seasons.number", value=piece[:20]
            )
        first, last = int(low), int(high) if dash else int(low)
        if last < first or last - first > 200:
            raise InvalidInput("{value!r} is not a season range", code="seasons.range", value=piece[:20])
        numbers.update(range(first, last + 1))
    return sorted(numbers)
