"""The offline catalog: real titles shipped with idkarr, so discovery works with no account anywhere.

It answers every discovery kind from what it holds: popularity, ratings, genres, release dates and whether
a show is still running. It cannot know broadcast schedules, so "airing today" and "on the air" both list
the shows still running; and its "upcoming" lists future releases first, then the newest ones.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources

from core.enums import ContentType, DiscoveryKind
from core.metadata.provider import ExternalIds
from core.metadata.types import ContentFilter, DiscoverQuery, Page, Season, Title, TitleDetails
from core.upstream_errors import UpstreamNotFound

__all__ = ["OfflineCatalog", "normalise"]

PAGE_SIZE = 20
# Matching a query longer than any title is wasted work: compare its start only.
_MAX_QUERY = 120
_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Case-, accent- and punctuation-blind form used for matching ("Shōgun" -> "shogun")."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", stripped.casefold())).strip()


def _similarity(a: str, b: str) -> float:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    # The cheap upper bounds rule most pairs out before the quadratic comparison.
    if matcher.real_quick_ratio() < 0.6 or matcher.quick_ratio() < 0.6:
        return 0.0
    return matcher.ratio()


@dataclass(frozen=True, slots=True)
class _Entry:
    title: Title
    seasons: tuple[Season, ...]
    running: bool
    name: str  # normalised title
    words: tuple[str, ...]


def _load() -> list[_Entry]:
    raw = json.loads(resources.files("core.metadata.catalog").joinpath("titles.json").read_text("utf-8"))
    entries = []
    for item in raw["titles"]:
        title = Title.from_json({**item, "poster": None})
        seasons = tuple(Season(number, count) for number, count in enumerate(item.get("seasons") or (), start=1))
        name = normalise(title.title)
        entries.append(_Entry(title, seasons, item.get("status") == "returning", name, tuple(name.split())))
    return entries


def _page(items: list[Title], page: int, source: str) -> Page:
    total_pages = max(1, math.ceil(len(items) / PAGE_SIZE))
    start = (page - 1) * PAGE_SIZE
    return Page(tuple(items[start : start + PAGE_SIZE]), page, total_pages, len(items), source=source)


class OfflineCatalog:
    name = "offline catalog"

    def __init__(self, *, today: date | None = None) -> None:
        self._entries = _load()
        self._today = today
        self._by_tmdb = {(entry.title.type, entry.title.tmdb_id): entry for entry in self._entries}
        self._by_tvdb = {
            (entry.title.type, entry.title.tvdb_id): entry for entry in self._entries if entry.title.tvdb_id is not None
        }
        self._by_imdb = {entry.title.imdb_id: entry for entry in self._entries if entry.title.imdb_id}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def today(self) -> date:
        return self._today or date.today()

    def _of(self, content: ContentFilter) -> list[_Entry]:
        return [entry for entry in self._entries if content is None or entry.title.type == content]

    # --- search ------------------------------------------------------------------------------------

    @staticmethod
    def _score(query: str, query_words: list[str], entry: _Entry) -> float:
        if query == entry.name:
            return 3.0
        if entry.name.startswith(query):
            return 2.5
        if len(query) >= 3 and query in entry.name:
            return 2.0
        whole = _similarity(query, entry.name)
        # Each query word against its best-matching title word: "brekaing" still finds "breaking".
        per_word = [max(_similarity(word, candidate) for candidate in entry.words) for word in query_words]
        words = sum(per_word) / len(per_word) if per_word else 0.0
        if per_word and min(per_word) < 0.6:
            words *= 0.8  # one word matching nothing ("the matrix" vs "the way of water") is not a match
        return max(whole, words * 0.95)

    async def search(
        self, term: str, content: ContentFilter, *, page: int = 1, year: int | None = None, language: str = "en-US"
    ) -> Page:
        query = normalise(term[: _MAX_QUERY * 2])[:_MAX_QUERY]
        candidates = [entry for entry in self._of(content) if year is None or entry.title.year == year]
        if not query:
            found = [entry.title for entry in sorted(candidates, key=lambda e: -e.title.popularity)] if year else []
            return _page(found, page, self.name)
        words = query.split()[:8]
        scored = [(self._score(query, words, entry), entry) for entry in candidates]
        matches = [(score, entry) for score, entry in scored if score >= 0.72]
        matches.sort(key=lambda pair: (-round(pair[0], 2), -pair[1].title.popularity))
        return _page([entry.title for _, entry in matches], page, self.name)

    # --- discovery ---------------------------------------------------------------------------------

    def _released(self, entry: _Entry) -> date | None:
        try:
            return date.fromisoformat(entry.title.release_date) if entry.title.release_date else None
        except ValueError:
            return None

    async def discover(
        self, kind: DiscoveryKind, content: ContentFilter, *, page: int = 1, query: DiscoverQuery = DiscoverQuery()
    ) -> Page:
        entries = [entry for entry in self._of(content) if self._matches(entry, query)]
        if kind == DiscoveryKind.TRENDING:
            # Popular now: popularity, lifted for what came out in the last few years.
            def trend(entry: _Entry) -> float:
                released = self._released(entry)
                age = (self.today - released).days / 365 if released else 50
                return entry.title.popularity * (1.6 if age < 2 else 1.25 if age < 5 else 1.0)

            entries.sort(key=trend, reverse=True)
        elif kind == DiscoveryKind.POPULAR:
            entries.sort(key=lambda entry: entry.title.popularity, reverse=True)
        elif kind == DiscoveryKind.TOP_RATED:
            entries = [entry for entry in entries if entry.title.vote_count >= 300]
            entries.sort(key=lambda entry: (entry.title.rating or 0, entry.title.vote_count), reverse=True)
        elif kind == DiscoveryKind.UPCOMING:
            return await self.upcoming(content, days=3650, page=page)
        elif kind in (DiscoveryKind.AIRING_TODAY, DiscoveryKind.ON_THE_AIR):
            entries = [entry for entry in entries if entry.running and entry.title.type != ContentType.MOVIE]
            entries.sort(key=lambda entry: entry.title.popularity, reverse=True)
        else:
            raise ValueError(f"{kind.value} needs a title to start from; use related()")
        return _page([entry.title for entry in entries], page, self.name)

    def _matches(self, entry: _Entry, query: DiscoverQuery) -> bool:
        title = entry.title
        if query.genre and normalise(query.genre) not in {normalise(genre) for genre in title.genres}:
            return False
        if query.year_from and (title.year or 0) < query.year_from:
            return False
        return not (query.year_to and (title.year or 9999) > query.year_to)

    async def upcoming(self, content: ContentFilter, *, days: int = 30, page: int = 1, language: str = "en-US") -> Page:
        horizon = self.today + timedelta(days=days)
        dated = [(self._released(entry), entry) for entry in self._of(content)]
        future = sorted(
            ((when, e) for when, e in dated if when and self.today <= when <= horizon), key=lambda pair: pair[0]
        )
        recent = sorted(
            ((when, e) for when, e in dated if when and when < self.today), key=lambda pair: pair[0], reverse=True
        )
        ordered = [entry.title for _, entry in future] + [entry.title for _, entry in recent[: PAGE_SIZE * 2]]
        return _page(ordered, page, self.name)

    # --- one title ---------------------------------------------------------------------------------

    def _find(self, content_type: ContentType | None, ids: ExternalIds) -> _Entry | None:
        types = [content_type] if content_type else list(ContentType)
        for kind in types:
            if ids.tvdb_id is not None and (entry := self._by_tvdb.get((kind, ids.tvdb_id))):
                return entry
            if ids.tmdb_id is not None and (entry := self._by_tmdb.get((kind, ids.tmdb_id))):
                return entry
        if ids.imdb_id and (entry := self._by_imdb.get(ids.imdb_id)):
            return entry if content_type in (None, entry.title.type) else None
        return None

    async def details(self, content_type: ContentType, ids: ExternalIds, *, language: str = "en-US") -> TitleDetails:
        entry = self._find(content_type, ids)
        if entry is None:
            raise UpstreamNotFound(self.name, f"no {content_type.value} with {ids.described()}")
        status = None if content_type == ContentType.MOVIE else ("Returning Series" if entry.running else "Ended")
        return TitleDetails(entry.title, entry.seasons, status, self.name if entry.seasons else None)

    async def related(
        self,
        kind: DiscoveryKind,
        content_type: ContentType,
        ids: ExternalIds,
        *,
        page: int = 1,
        language: str = "en-US",
    ) -> Page:
        source = self._find(content_type, ids)
        if source is None:
            raise UpstreamNotFound(self.name, f"no {content_type.value} with {ids.described()}")
        genres = set(source.title.genres)

        def closeness(entry: _Entry) -> float:
            shared = len(genres & set(entry.title.genres)) / max(1, len(genres | set(entry.title.genres)))
            if kind == DiscoveryKind.RECOMMENDED:
                return shared * 2 + (entry.title.rating or 0) / 10
            return shared * 2 + entry.title.popularity / 100

        others = [entry for entry in self._of(content_type) if entry is not source and genres & set(entry.title.genres)]
        others.sort(key=closeness, reverse=True)
        return _page([entry.title for entry in others], page, self.name)

    async def resolve(self, ids: ExternalIds) -> Title | None:
        entry = self._find(None, ids)
        return entry.title if entry else None

    def titles(self) -> list[Title]:
        return [entry.title for entry in self._entries]
