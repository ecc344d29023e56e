"""The interfaces every metadata source implements: TMDB, TheTVDB, the offline catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.enums import ContentType, DiscoveryKind
from core.metadata.types import ContentFilter, DiscoverQuery, Page, Title, TitleDetails

__all__ = ["ExternalIds", "MetadataProvider", "TitleSource"]


@dataclass(frozen=True, slots=True)
class ExternalIds:
    tmdb_id: int | None = None
    tvdb_id: int | None = None
    imdb_id: str | None = None

    def __post_init__(self) -> None:
        if self.tmdb_id is None and self.tvdb_id is None and not self.imdb_id:
            raise ValueError("at least one external id is needed")

    @property
    def cache_part(self) -> str:
        return f"{self.tmdb_id or '-'}:{self.tvdb_id or '-'}:{self.imdb_id or '-'}"

    def described(self) -> str:
        """The ids as a person reads them: "TMDB id 603 or IMDb id tt0133093"."""
        named = (("TMDB", self.tmdb_id), ("TheTVDB", self.tvdb_id), ("IMDb", self.imdb_id))
        return " or ".join(f"{source} id {value}" for source, value in named if value)


class TitleSource(Protocol):
    """A source of titles: search, one title's details, id resolution. TheTVDB is one (it has no lists).

    Every method raises a `core.upstream_errors.UpstreamError` when the source fails.
    """

    name: str

    async def search(
        self, term: str, content: ContentFilter, *, page: int, year: int | None, language: str
    ) -> Page: ...

    async def details(self, content_type: ContentType, ids: ExternalIds, *, language: str) -> TitleDetails: ...

    async def resolve(self, ids: ExternalIds) -> Title | None:
        """The title behind an IMDb, TVDB or TMDB id, with every id the source knows filled in."""
        ...


class MetadataProvider(TitleSource, Protocol):
    """A full source: titles and the discovery lists (TMDB, the offline catalog)."""

    async def discover(
        self, kind: DiscoveryKind, content: ContentFilter, *, page: int, query: DiscoverQuery
    ) -> Page: ...

    async def related(
        self, kind: DiscoveryKind, content_type: ContentType, ids: ExternalIds, *, page: int, language: str
    ) -> Page:
        """`similar` or `recommended` titles for one title."""
        ...

    async def upcoming(self, content: ContentFilter, *, days: int, page: int, language: str) -> Page: ...
