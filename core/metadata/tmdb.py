"""TMDB v3: the main metadata source when an API key or read access token is configured.

TMDB has no anime type. idkarr calls a TV title anime when TMDB tags it with the keyword "anime" (210024)
or when it is animation from Japan; lists by content type respect that, and anime lists are built with
TMDB's discover endpoint filtered the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from core.enums import ContentType, DiscoveryKind
from core.metadata.provider import ExternalIds
from core.metadata.types import ContentFilter, DiscoverQuery, Page, Season, Title, TitleDetails
from core.upstream import Upstream
from core.upstream_errors import UpstreamBadResponse, UpstreamNotFound

__all__ = ["ANIME_KEYWORD", "TmdbProvider", "is_anime"]

ANIME_KEYWORD = 210024
ANIMATION_GENRE = 16
DEFAULT_IMAGE_BASE = "https://image.tmdb.org/t/p/"
POSTER_SIZE = "w500"
_TV_LISTS = {
    DiscoveryKind.POPULAR: "tv/popular",
    DiscoveryKind.TOP_RATED: "tv/top_rated",
    DiscoveryKind.AIRING_TODAY: "tv/airing_today",
    DiscoveryKind.ON_THE_AIR: "tv/on_the_air",
}
_MOVIE_LISTS = {
    DiscoveryKind.POPULAR: "movie/popular",
    DiscoveryKind.TOP_RATED: "movie/top_rated",
    DiscoveryKind.UPCOMING: "movie/upcoming",
    # TMDB has no "airing" for films: what is in cinemas now is the closest answer.
    DiscoveryKind.AIRING_TODAY: "movie/now_playing",
    DiscoveryKind.ON_THE_AIR: "movie/now_playing",
}


def is_anime(item: dict[str, Any], keyword_ids: set[int] | None = None) -> bool:
    if keyword_ids and ANIME_KEYWORD in keyword_ids:
        return True
    genres = set(item.get("genre_ids") or ()) | {g.get("id") for g in item.get("genres") or () if isinstance(g, dict)}
    japanese = item.get("original_language") == "ja" or "JP" in (item.get("origin_country") or ())
    return ANIMATION_GENRE in genres and japanese


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "", 0, "0") else None
    except (TypeError, ValueError):
        return None


def _year(text: Any) -> int | None:
    return _int(text[:4]) if isinstance(text, str) and len(text) >= 4 else None


class TmdbProvider:
    name = "tmdb"

    def __init__(self, upstream: Upstream, *, api_key: str | None = None, read_access_token: str | None = None) -> None:
        if not api_key and not read_access_token:
            raise ValueError("TMDB needs an API key or a read access token")
        self._upstream = upstream
        self._auth_params = {"api_key": api_key} if api_key and not read_access_token else {}
        self._auth_headers = {"Authorization": f"Bearer {read_access_token}"} if read_access_token else {}
        self._genres: dict[str, dict[int, str]] = {}
        self._image_base: str | None = None
        self._setup_lock = asyncio.Lock()

    @property
    def calls(self) -> int:
        return self._upstream.calls

    async def _get(self, path: str, **params: Any) -> dict[str, Any]:
        query = {**self._auth_params, **{k: v for k, v in params.items() if v is not None}}
        body = await self._upstream.get_json(path, params=query, headers=self._auth_headers)
        if not isinstance(body, dict):
            raise UpstreamBadResponse(self.name, f"{path} answered a {type(body).__name__}, not an object")
        return body

    async def _ensure_setup(self, language: str) -> None:
        """Genre names and the image base URL, fetched once per process (they change rarely)."""
        if language in self._genres and self._image_base:
            return
        async with self._setup_lock:
            if self._image_base is None:
                configuration = await self._get("configuration")
                images = configuration.get("images") or {}
                self._image_base = images.get("secure_base_url") or DEFAULT_IMAGE_BASE
            if language not in self._genres:
                names: dict[int, str] = {}
                for path in ("genre/movie/list", "genre/tv/list"):
                    body = await self._get(path, language=language)
                    for genre in body.get("genres") or ():
                        if isinstance(genre, dict) and _int(genre.get("id")):
                            names[int(genre["id"])] = str(genre.get("name") or "")
                self._genres[language] = names

    def _poster(self, path: Any) -> str | None:
        return (
            f"{self._image_base or DEFAULT_IMAGE_BASE}{POSTER_SIZE}{path}" if isinstance(path, str) and path else None
        )

    def _title(
        self, item: dict[str, Any], media_type: str, language: str, keyword_ids: set[int] | None = None
    ) -> Title | None:
        tmdb_id = _int(item.get("id"))
        if tmdb_id is None:
            return None
        names = self._genres.get(language, {})
        genre_ids = [g for g in item.get("genre_ids") or () if isinstance(g, int)]
        genre_ids += [g["id"] for g in item.get("genres") or () if isinstance(g, dict) and isinstance(g.get("id"), int)]
        external = item.get("external_ids") or {}
        if media_type == "movie":
            content_type = ContentType.MOVIE
            name, released = item.get("title") or item.get("original_title"), item.get("release_date")
        else:
            content_type = ContentType.ANIME if is_anime(item, keyword_ids) else ContentType.SERIES
            name, released = item.get("name") or item.get("original_name"), item.get("first_air_date")
        if not name:
            return None
        rating = item.get("vote_average")
        return Title(
            type=content_type,
            title=str(name),
            year=_year(released),
            tmdb_id=tmdb_id,
            tvdb_id=_int(external.get("tvdb_id")),
            imdb_id=(item.get("imdb_id") or external.get("imdb_id") or None),
            overview=str(item.get("overview") or ""),
            poster=self._poster(item.get("poster_path")),
            rating=float(rating) if isinstance(rating, int | float) else None,
            vote_count=_int(item.get("vote_count")) or 0,
            genres=tuple(dict.fromkeys(names.get(g, "") for g in genre_ids if names.get(g))),
            popularity=float(item.get("popularity") or 0),
            release_date=released or None,
            original_language=item.get("original_language"),
        )

    def _page(self, body: dict[str, Any], media_type: str | None, language: str, content: ContentFilter) -> Page:
        items: list[Title] = []
        for raw in body.get("results") or ():
            if not isinstance(raw, dict):
                continue
            kind = media_type or raw.get("media_type")
            if kind not in ("movie", "tv"):
                continue  # people in multi-search and trending/all
            title = self._title(raw, kind, language)
            if title is not None and (content is None or title.type == content):
                items.append(title)
        return Page(
            tuple(items),
            _int(body.get("page")) or 1,
            min(500, _int(body.get("total_pages")) or 1),
            _int(body.get("total_results")) or len(items),
            source=self.name,
        )

    # --- discovery ---------------------------------------------------------------------------------

    def _anime_discover(self, kind: DiscoveryKind, today: date) -> dict[str, Any]:
        params: dict[str, Any] = {"with_keywords": ANIME_KEYWORD, "sort_by": "popularity.desc"}
        if kind == DiscoveryKind.TOP_RATED:
            params.update(sort_by="vote_average.desc", **{"vote_count.gte": 200})
        elif kind == DiscoveryKind.AIRING_TODAY:
            params.update(**{"air_date.gte": today.isoformat(), "air_date.lte": today.isoformat()})
        elif kind == DiscoveryKind.ON_THE_AIR:
            params.update(
                **{"air_date.gte": today.isoformat(), "air_date.lte": (today + timedelta(days=7)).isoformat()}
            )
        elif kind == DiscoveryKind.UPCOMING:
            params.update(**{"first_air_date.gte": today.isoformat()})
        return params

    async def discover(
        self, kind: DiscoveryKind, content: ContentFilter, *, page: int = 1, query: DiscoverQuery = DiscoverQuery()
    ) -> Page:
        language = query.language
        await self._ensure_setup(language)
        common = {"page": page, "language": language, "region": query.region}
        filtered = query.genre or query.year_from or query.year_to
        if content == ContentType.ANIME:
            params = {**common, **self._anime_discover(kind, date.today()), **self._filters(query, "tv")}
            return self._page(await self._get("discover/tv", **params), "tv", language, None)
        if filtered:
            return await self._discover_filtered(kind, content, query, common)
        if kind == DiscoveryKind.TRENDING:
            path = {None: "trending/all/day", ContentType.MOVIE: "trending/movie/day"}.get(content, "trending/tv/day")
            return self._page(
                await self._get(path, **common),
                None if content is None else ("movie" if content == ContentType.MOVIE else "tv"),
                language,
                content,
            )
        if content == ContentType.MOVIE:
            return self._page(await self._get(_MOVIE_LISTS[kind], **common), "movie", language, content)
        if content == ContentType.SERIES:
            if kind == DiscoveryKind.UPCOMING:
                params = {**common, "first_air_date.gte": date.today().isoformat(), "sort_by": "popularity.desc"}
                return self._page(await self._get("discover/tv", **params), "tv", language, content)
            return self._page(await self._get(_TV_LISTS[kind], **common), "tv", language, content)
        # Everything: films and shows side by side, ordered as one list.
        movies = self._page(await self._get(_MOVIE_LISTS[kind], **common), "movie", language, None)
        tv_path = _TV_LISTS.get(kind)
        if tv_path is None:
            shows = self._page(
                await self._get("discover/tv", **common, **{"first_air_date.gte": date.today().isoformat()}),
                "tv",
                language,
                None,
            )
        else:
            shows = self._page(await self._get(tv_path, **common), "tv", language, None)
        ordering = (lambda t: t.rating or 0) if kind == DiscoveryKind.TOP_RATED else (lambda t: t.popularity)
        items = sorted(movies.items + shows.items, key=ordering, reverse=True)
        return Page(
            tuple(items),
            page,
            max(movies.total_pages, shows.total_pages),
            movies.total_results + shows.total_results,
            source=self.name,
        )

    def _filters(self, query: DiscoverQuery, media_type: str) -> dict[str, Any]:
        date_field = "primary_release_date" if media_type == "movie" else "first_air_date"
        params: dict[str, Any] = {}
        if query.genre:
            names = {name.casefold(): gid for gid, name in self._genres.get(query.language, {}).items()}
            genre_id = names.get(query.genre.casefold())
            params["with_genres"] = genre_id if genre_id is not None else query.genre
        if query.year_from:
            params[f"{date_field}.gte"] = f"{query.year_from}-01-01"
        if query.year_to:
            params[f"{date_field}.lte"] = f"{query.year_to}-12-31"
        return params

    async def _discover_filtered(
        self, kind: DiscoveryKind, content: ContentFilter, query: DiscoverQuery, common: dict[str, Any]
    ) -> Page:
        sort = "vote_average.desc" if kind == DiscoveryKind.TOP_RATED else "popularity.desc"
        pages = []
        for media_type in ["movie"] if content == ContentType.MOVIE else ["tv"] if content else ["movie", "tv"]:
            params = {**common, "sort_by": sort, **self._filters(query, media_type)}
            if kind == DiscoveryKind.TOP_RATED:
                params["vote_count.gte"] = 200
            pages.append(
                self._page(await self._get(f"discover/{media_type}", **params), media_type, query.language, content)
            )
        items = sorted((t for p in pages for t in p.items), key=lambda t: t.popularity, reverse=True)
        return Page(
            tuple(items),
            pages[0].page,
            max(p.total_pages for p in pages),
            sum(p.total_results for p in pages),
            source=self.name,
        )

    async def search(
        self, term: str, content: ContentFilter, *, page: int = 1, year: int | None = None, language: str = "en-US"
    ) -> Page:
        await self._ensure_setup(language)
        common = {"query": term, "page": page, "language": language, "include_adult": "false"}
        if content == ContentType.MOVIE:
            body = await self._get("search/movie", **common, year=year)
            return self._page(body, "movie", language, content)
        if content in (ContentType.SERIES, ContentType.ANIME):
            body = await self._get("search/tv", **common, first_air_date_year=year)
            return self._page(body, "tv", language, content)
        page_result = self._page(await self._get("search/multi", **common), None, language, None)
        if year is None:
            return page_result
        kept = tuple(t for t in page_result.items if t.year == year)
        return Page(kept, page_result.page, page_result.total_pages, page_result.total_results, source=self.name)

    async def upcoming(self, content: ContentFilter, *, days: int = 30, page: int = 1, language: str = "en-US") -> Page:
        await self._ensure_setup(language)
        today = date.today()
        window = {"page": page, "language": language, "sort_by": "popularity.desc"}
        pages: list[Page] = []
        if content in (None, ContentType.MOVIE):
            params = {
                **window,
                "primary_release_date.gte": today.isoformat(),
                "primary_release_date.lte": (today + timedelta(days=days)).isoformat(),
            }
            pages.append(self._page(await self._get("discover/movie", **params), "movie", language, content))
        if content in (None, ContentType.SERIES, ContentType.ANIME):
            params = {
                **window,
                "first_air_date.gte": today.isoformat(),
                "first_air_date.lte": (today + timedelta(days=days)).isoformat(),
            }
            if content == ContentType.ANIME:
                params["with_keywords"] = ANIME_KEYWORD
            pages.append(self._page(await self._get("discover/tv", **params), "tv", language, content))
        items = sorted((t for p in pages for t in p.items), key=lambda t: t.release_date or "")
        return Page(
            tuple(items), page, max(p.total_pages for p in pages), sum(p.total_results for p in pages), source=self.name
        )

    # --- one title ---------------------------------------------------------------------------------

    async def _tmdb_id(self, content_type: ContentType, ids: ExternalIds) -> int:
        if ids.tmdb_id is not None:
            return ids.tmdb_id
        found = await self.resolve(ids)
        if (
            found is None
            or found.tmdb_id is None
            or (found.type == ContentType.MOVIE) != (content_type == ContentType.MOVIE)
        ):
            raise UpstreamNotFound(self.name, f"no {content_type.value} with {ids.described()}")
        return found.tmdb_id

    async def details(self, content_type: ContentType, ids: ExternalIds, *, language: str = "en-US") -> TitleDetails:
        await self._ensure_setup(language)
        tmdb_id = await self._tmdb_id(content_type, ids)
        media_type = "movie" if content_type == ContentType.MOVIE else "tv"
        body = await self._get(f"{media_type}/{tmdb_id}", language=language, append_to_response="external_ids,keywords")
        keywords = body.get("keywords") or {}
        keyword_list = keywords.get("keywords") or keywords.get("results") or []
        keyword_ids = {k["id"] for k in keyword_list if isinstance(k, dict) and isinstance(k.get("id"), int)}
        title = self._title(body, media_type, language, keyword_ids)
        if title is None:
            raise UpstreamBadResponse(self.name, f"{media_type}/{tmdb_id} has no id or name")
        classified_as = None
        if media_type == "tv" and content_type != title.type:
            # Asked as series but TMDB says anime (or the reverse): the person's choice stands for the request.
            classified_as, title = title.type, replace(title, type=content_type)
        seasons = tuple(
            Season(int(s["season_number"]), _int(s.get("episode_count")) or 0, s.get("name"), s.get("air_date"))
            for s in body.get("seasons") or ()
            if isinstance(s, dict) and isinstance(s.get("season_number"), int)
        )
        return TitleDetails(title, seasons, body.get("status"), self.name if seasons else None, classified_as)

    async def season(self, tmdb_id: int, season_number: int, *, language: str = "en-US") -> Season:
        body = await self._get(f"tv/{tmdb_id}/season/{season_number}", language=language)
        episodes = body.get("episodes") or []
        return Season(season_number, len(episodes), body.get("name"), body.get("air_date"))

    async def related(
        self,
        kind: DiscoveryKind,
        content_type: ContentType,
        ids: ExternalIds,
        *,
        page: int = 1,
        language: str = "en-US",
    ) -> Page:
        await self._ensure_setup(language)
        tmdb_id = await self._tmdb_id(content_type, ids)
        media_type = "movie" if content_type == ContentType.MOVIE else "tv"
        endpoint = "recommendations" if kind == DiscoveryKind.RECOMMENDED else "similar"
        body = await self._get(f"{media_type}/{tmdb_id}/{endpoint}", page=page, language=language)
        return self._page(body, media_type, language, None)

    async def resolve(self, ids: ExternalIds) -> Title | None:
        if ids.imdb_id:
            source, value = "imdb_id", ids.imdb_id
        elif ids.tvdb_id is not None:
            source, value = "tvdb_id", str(ids.tvdb_id)
        else:
            return None
        await self._ensure_setup("en-US")
        body = await self._get(f"find/{value}", external_source=source)
        for field, media_type in (("movie_results", "movie"), ("tv_results", "tv")):
            for raw in body.get(field) or ():
                if isinstance(raw, dict) and (title := self._title(raw, media_type, "en-US")):
                    if ids.imdb_id:
                        return replace(title, imdb_id=ids.imdb_id)
                    return replace(title, tvdb_id=ids.tvdb_id)
        return None
