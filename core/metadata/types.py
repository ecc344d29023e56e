"""What every metadata provider returns: titles, seasons and pages, in idkarr's own shape.

Plain dataclasses with explicit JSON conversion: pages are cached as JSON and read back on every warm request,
so (de)serialisation must be cheap and must not depend on any upstream's field names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from core.enums import ContentType

__all__ = ["ContentFilter", "DiscoverQuery", "Page", "Season", "Title", "TitleDetails"]

# None means every content type.
ContentFilter = ContentType | None


@dataclass(frozen=True, slots=True)
class Title:
    type: ContentType
    title: str
    year: int | None = None
    tmdb_id: int | None = None
    tvdb_id: int | None = None
    imdb_id: str | None = None
    overview: str = ""
    poster: str | None = None
    rating: float | None = None  # 0 to 10
    vote_count: int = 0
    genres: tuple[str, ...] = ()
    popularity: float = 0.0
    release_date: str | None = None  # ISO date; first air date for shows
    original_language: str | None = None

    @property
    def key(self) -> str:
        """Identity across providers: shows by TVDB id when known (the download side's numbering)."""
        if self.type != ContentType.MOVIE and self.tvdb_id is not None:
            return f"{self.type.value}:tvdb:{self.tvdb_id}"
        if self.tmdb_id is not None:
            return f"{self.type.value}:tmdb:{self.tmdb_id}"
        if self.imdb_id:
            return f"{self.type.value}:imdb:{self.imdb_id}"
        return f"{self.type.value}:title:{self.title.casefold()}:{self.year}"

    def merged_with(self, other: Title) -> Title:
        """Fill what this one lacks from another provider's view of the same title."""
        return replace(
            self,
            year=self.year or other.year,
            tmdb_id=self.tmdb_id or other.tmdb_id,
            tvdb_id=self.tvdb_id or other.tvdb_id,
            imdb_id=self.imdb_id or other.imdb_id,
            overview=self.overview or other.overview,
            poster=self.poster or other.poster,
            rating=self.rating if self.rating is not None else other.rating,
            vote_count=max(self.vote_count, other.vote_count),
            genres=self.genres or other.genres,
            popularity=max(self.popularity, other.popularity),
            release_date=self.release_date or other.release_date,
            original_language=self.original_language or other.original_language,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "title": self.title,
            "year": self.year,
            "tmdb_id": self.tmdb_id,
            "tvdb_id": self.tvdb_id,
            "imdb_id": self.imdb_id,
            "overview": self.overview,
            "poster": self.poster,
            "rating": self.rating,
            "vote_count": self.vote_count,
            "genres": list(self.genres),
            "popularity": self.popularity,
            "release_date": self.release_date,
            "original_language": self.original_language,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Title:
        return cls(
            type=ContentType(data["type"]),
            title=data["title"],
            year=data.get("year"),
            tmdb_id=data.get("tmdb_id"),
            tvdb_id=data.get("tvdb_id"),
            imdb_id=data.get("imdb_id"),
            overview=data.get("overview") or "",
            poster=data.get("poster"),
            rating=data.get("rating"),
            vote_count=data.get("vote_count") or 0,
            genres=tuple(data.get("genres") or ()),
            popularity=data.get("popularity") or 0.0,
            release_date=data.get("release_date"),
            original_language=data.get("original_language"),
        )


@dataclass(frozen=True, slots=True)
class Season:
    season_number: int
    episode_count: int
    name: str | None = None
    air_date: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "season_number": self.season_number,
            "episode_count": self.episode_count,
            "name": self.name,
            "air_date": self.air_date,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Season:
        return cls(data["season_number"], data["episode_count"], data.get("name"), data.get("air_date"))


@dataclass(frozen=True, slots=True)
class TitleDetails:
    title: Title
    # In TVDB numbering (the download side's) whenever TheTVDB or the catalog knows the show.
    seasons: tuple[Season, ...] = ()
    status: str | None = None  # e.g. "Ended", "Returning Series"
    season_source: str | None = None  # which provider the season list came from
    # The type the source itself gives a show asked for as another (TMDB's anime rule against a person's
    # choice, which stands for a request); None when the two agree.
    classified_as: ContentType | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title.to_json(),
            "seasons": [season.to_json() for season in self.seasons],
            "status": self.status,
            "season_source": self.season_source,
            "classified_as": self.classified_as.value if self.classified_as else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TitleDetails:
        classified = data.get("classified_as")
        return cls(
            title=Title.from_json(data["title"]),
            seasons=tuple(Season.from_json(season) for season in data.get("seasons") or ()),
            status=data.get("status"),
            season_source=data.get("season_source"),
            classified_as=ContentType(classified) if classified else None,
        )


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[Title, ...]
    page: int = 1
    total_pages: int = 1
    total_results: int = 0
    # Served from cache past its expiry because the upstream could not be reached.
    stale: bool = False
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "items": [item.to_json() for item in self.items],
            "page": self.page,
            "total_pages": self.total_pages,
            "total_results": self.total_results,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, stale: bool = False) -> Page:
        return cls(
            items=tuple(Title.from_json(item) for item in data.get("items") or ()),
            page=data.get("page") or 1,
            total_pages=data.get("total_pages") or 1,
            total_results=data.get("total_results") or 0,
            stale=stale,
            source=data.get("source") or "",
        )


@dataclass(frozen=True, slots=True)
class DiscoverQuery:
    language: str = "en-US"
    region: str | None = None
    genre: str | None = None
    year_from: int | None = None
    year_to: int | None = None

    def cache_part(self) -> str:
        return f"{self.language}:{self.region or '-'}:{self.genre or '-'}:{self.year_from or '-'}:{self.year_to or '-'}"
