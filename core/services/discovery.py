"""Discovery: what to watch, from whichever providers are configured, cached once for every front end.

Each answer is a page of titles marked with what idkarr knows about them (in the library, requested), so a
front end can show "Requested" or "Available" without asking again.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import (
    DateTime,
    Integer,
    any_,
    bindparam,
    false,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from core.batches import Batches
from core.config import CacheSettings
from core.db.models import Media, Request
from core.db.pgtypes import REQUEST_STATUS
from core.db.prepared import Prepared
from core.db.session import Database
from core.enums import ContentType, DiscoveryKind, MediaStatus, RequestStatus
from core.errors import InvalidInput
from core.memo import ByIdentity
from core.metadata.cache import PageCache
from core.metadata.merge import merge_titles
from core.metadata.provider import ExternalIds, MetadataProvider, TitleSource
from core.metadata.query import parse_search
from core.metadata.types import ContentFilter, DiscoverQuery, Page, Title, TitleDetails
from core.metrics import CACHE_LOOKUPS
from core.singleflight import SingleFlight
from core.upstream_errors import UpstreamAuthFailed, UpstreamBadResponse, UpstreamNotFound, UpstreamUnavailable

__all__ = ["DiscoveryItem", "DiscoveryPage", "DiscoveryService", "TitleView", "title_id"]

PROVIDER_PAGE = 20
MAX_PAGE = 500  # TMDB serves no page past 500
_LIST_KINDS = (
    DiscoveryKind.TRENDING,
    DiscoveryKind.POPULAR,
    DiscoveryKind.UPCOMING,
    DiscoveryKind.TOP_RATED,
    DiscoveryKind.AIRING_TODAY,
    DiscoveryKind.ON_THE_AIR,
)
# Failures after which a cached page, even an expired one, beats an error.
S = TypeVar("S", bound=TitleSource)

_FALLBACK_ERRORS = (UpstreamUnavailable, UpstreamBadResponse, UpstreamAuthFailed)


def title_id(title: Title) -> str:
    """The id a person types back to idkarr: TVDB for shows when known (the download side's), else TMDB."""
    if title.type != ContentType.MOVIE and title.tvdb_id is not None:
        return f"tvdb:{title.tvdb_id}"
    if title.tmdb_id is not None:
        return f"tmdb:{title.tmdb_id}"
    return f"imdb:{title.imdb_id}"


@dataclass(frozen=True, slots=True)
class DiscoveryItem:
    title: Title
    exists_in_library: bool = False
    media_id: int | None = None
    request_status: RequestStatus | None = None

    def to_json(self) -> dict[str, Any]:
        t = self.title
        return {
            "id": title_id(t),
            "type": t.type.value,
            "title": t.title,
            "year": t.year,
            "poster": t.poster,
            "overview": t.overview,
            "rating": t.rating,
            "vote_count": t.vote_count,
            "genres": list(t.genres),
            "popularity": t.popularity,
            "release_date": t.release_date,
            "tmdb_id": t.tmdb_id,
            "tvdb_id": t.tvdb_id,
            "imdb_id": t.imdb_id,
            "exists_in_library": self.exists_in_library,
            "media_id": self.media_id,
            "request_status": self.request_status.value if self.request_status else None,
        }


@dataclass(frozen=True, slots=True)
class DiscoveryPage:
    items: tuple[DiscoveryItem, ...]
    page: int
    total_pages: int
    total_results: int
    stale: bool = False
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "total_pages": self.total_pages,
            "total_results": self.total_results,
            "stale": self.stale,
            "source": self.source,
            "items": [item.to_json() for item in self.items],
        }


@dataclass(frozen=True, slots=True)
class TitleView:
    item: DiscoveryItem
    details: TitleDetails
    stale: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            **self.item.to_json(),
            "status": self.details.status,
            "season_source": self.details.season_source,
            "seasons": [
                {"season_number": season.season_number, "episode_count": season.episode_count, "name": season.name}
                for season in self.details.seasons
            ],
            "stale": self.stale,
        }


def _of_titles(model: Any) -> Any:
    """Rows of `model` for any of the titles whose ids are given (`tmdb`, `tvdb`: arrays)."""
    return or_(
        model.tmdb_id == any_(bindparam("tmdb", type_=ARRAY(Integer))),
        model.tvdb_id == any_(bindparam("tvdb", type_=ARRAY(Integer))),
    )


# What idkarr has of a page's titles, in one statement: library records (with `media_id`), then requests
# oldest first (with `status`), so the newest request's status is read last.
_KNOWN = Prepared(
    union_all(
        select(
            Media.id.label("media_id"),
            Media.content_type,
            Media.tmdb_id,
            Media.tvdb_id,
            type_coerce(null(), REQUEST_STATUS).label("status"),
            type_coerce(null(), DateTime(timezone=True)).label("created_at"),
            # A record approval made waits for its title: in the library only once something arrived.
            or_(Media.status == MediaStatus.AVAILABLE, Media.status == MediaStatus.PARTIALLY_AVAILABLE).label(
                "in_library"
            ),
        ).where(_of_titles(Media), Media.status != MediaStatus.DELETED),
        select(  # the first select names and types the columns
            null(),
            Request.content_type,
            Request.tmdb_id,
            Request.tvdb_id,
            Request.status,
            Request.created_at,
            false(),
        ).where(_of_titles(Request)),
    ).order_by(literal_column("created_at").asc().nulls_first())
)


def _check_page(page: int, page_size: int) -> None:
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInput("page must be between 1 and {most}", code="page.number", most=MAX_PAGE)
    if not 1 <= page_size <= 50:
        raise InvalidInput("page size must be between 1 and {most}", code="page.size", most=50)


_BUILT_PAGES = 256


def _merge(pages: list[Page]) -> Page:
    """The providers' pages as one: the main one's numbering, every title once."""
    main = pages[0]
    items = merge_titles(*(page.items for page in pages))
    return Page(
        tuple(items),
        main.page,
        main.total_pages,
        max(main.total_results, len(items)),
        stale=any(page.stale for page in pages),
        source=" + ".join(p.source for p in pages if p.source),
    )


_Ids = tuple[tuple[int, ...], tuple[int, ...]]  # a page's tmdb and tvdb ids, sorted


def _ids(titles: Sequence[Title]) -> dict[str, list[int]]:
    """The ids `_KNOWN` looks titles up by."""
    return {
        "tmdb": sorted({t.tmdb_id for t in titles if t.tmdb_id is not None}),
        "tvdb": sorted({t.tvdb_id for t in titles if t.tvdb_id is not None}),
    }


def _apply_marks(titles: Sequence[Title], known: Sequence[Any]) -> list[DiscoveryItem]:
    """Each title with what the `_KNOWN` rows say of it: in the library, its record, its open request."""
    media: dict[tuple[ContentType, str, int], int] = {}
    in_library: set[tuple[ContentType, str, int]] = set()
    requests: dict[tuple[ContentType, str, int], RequestStatus] = {}
    for row in known:
        for name in ("tmdb_id", "tvdb_id"):
            if (value := getattr(row, name)) is not None:
                if row.media_id is not None:
                    media[(row.content_type, name, value)] = row.media_id
                    if row.in_library:
                        in_library.add((row.content_type, name, value))
                else:
                    requests[(row.content_type, name, value)] = row.status
    marked = []
    for title in titles:
        keys = [
            (title.type, name, value)
            for name, value in (("tvdb_id", title.tvdb_id), ("tmdb_id", title.tmdb_id))
            if value is not None
        ]
        media_id = next((media[key] for key in keys if key in media), None)
        status = next((requests[key] for key in keys if key in requests), None)
        marked.append(DiscoveryItem(title, any(key in in_library for key in keys), media_id, status))
    return marked


class DiscoveryService:
    """`providers[0]` is the main source; the others add to its lists and searches, `search_also` to searches
    only (merged by external ids), and `seasons_from` supplies season lists for shows."""

    def __init__(
        self,
        *,
        providers: Sequence[MetadataProvider],
        cache: PageCache,
        database: Database,
        ttl: CacheSettings,
        search_also: Sequence[TitleSource] = (),
        seasons_from: TitleSource | None = None,
    ) -> None:
        if not providers:
            raise ValueError("at least one metadata provider is needed")
        self.providers = list(providers)
        self.search_also = list(search_also)
        self.seasons_from = seasons_from
        self._cache = cache
        self._database = database
        self._ttl = ttl
        self._flight: SingleFlight[Any] = SingleFlight()
        self._built: dict[str, tuple[Any, bool, Page]] = {}
        # The providers' pages are handed out unchanged until their cached value changes: each merge of them
        # is done once, not per call; and each page's marked form is kept, with the ids it was looked up by
        # and what was known of them.
        self._merges: ByIdentity[Page] = ByIdentity(_BUILT_PAGES)
        self._marked_pages: ByIdentity[tuple[dict[str, list[int]], tuple[Any, ...], DiscoveryPage]] = ByIdentity(
            _BUILT_PAGES
        )
        self._marking: Batches[_Ids, None, list[Any]] = Batches(self._known_of)

    @property
    def provider_names(self) -> list[str]:
        return [provider.name for provider in self.providers]

    async def settled(self) -> None:
        """Wait until what was fetched so far is in Redis and the table (see core.metadata.cache)."""
        await self._cache.settled()

    # --- the cache path every answer takes ----------------------------------------------------------

    async def _cached(self, key: str, kind: str, fetch: Callable[[], Awaitable[Any]]) -> tuple[Any, bool]:
        """(JSON value, stale?) from cache, or fetched once however many callers ask at the same moment."""
        cached = await self._cache.get(key)
        if cached is not None and cached.fresh:
            CACHE_LOOKUPS.labels("hit").inc()
            return cached.data, False
        CACHE_LOOKUPS.labels("miss" if cached is None else "stale").inc()

        async def fetch_and_store() -> Any:
            # A caller that missed just before another flight in this process finished would fetch again: look
            # once more, here only (every value stored is kept here too). Another process storing the same page
            # meanwhile costs one fetch more, not a wrong answer.
            latest = self._cache.local(key)
            if latest is not None:
                return latest.data
            value = await fetch()
            await self._cache.put(key, kind, value, self._ttl.ttl(kind))
            return value

        try:
            return await self._flight.run(key, fetch_and_store), False
        except _FALLBACK_ERRORS:
            if cached is not None:
                return cached.data, True
            raise

    async def _provider_page(
        self, provider: TitleSource, kind: str, key: str, fetch: Callable[[], Awaitable[Page]]
    ) -> Page:
        async def as_json() -> Any:
            return (await fetch()).to_json()

        full_key = f"{provider.name}:{key}"
        data, stale = await self._cached(full_key, kind, as_json)
        # The cache hands the same parsed value out until it expires: its Page is built once, not per call.
        built = self._built.get(full_key)
        if built is not None and built[0] is data and built[1] == stale:
            return built[2]
        page = Page.from_json(data, stale=stale)
        if len(self._built) >= _BUILT_PAGES:
            self._built.pop(next(iter(self._built)))
        self._built[full_key] = (data, stale, page)
        return page

    async def _window(self, page: int, page_size: int, fetch: Callable[[int], Awaitable[Page]]) -> Page:
        """Page `page` of `page_size` items, assembled from the providers' fixed pages of 20."""
        if page_size == PROVIDER_PAGE:
            return await fetch(page)
        first = (page - 1) * page_size
        last = first + page_size - 1
        pages = [await fetch(number) for number in range(first // PROVIDER_PAGE + 1, last // PROVIDER_PAGE + 2)]
        items = [item for fetched in pages for item in fetched.items]
        offset = first % PROVIDER_PAGE
        total = pages[0].total_results
        return Page(
            tuple(items[offset : offset + page_size]),
            page,
            max(1, math.ceil(total / page_size)),
            total,
            stale=any(fetched.stale for fetched in pages),
            source=pages[0].source,
        )

    async def _from_sources(
        self, kind: str, key: str, sources: Sequence[S], call: Callable[[S], Awaitable[Page]]
    ) -> Page:
        """One page from every source (each cached on its own), merged."""
        return await self._merged(
            [
                functools.partial(self._provider_page, source, kind, key, functools.partial(call, source))
                for source in sources
            ]
        )

    async def _merged(self, fetchers: list[Callable[[], Awaitable[Page]]]) -> Page:
        pages: list[Page] = []
        failure: Exception | None = None
        for fetch in fetchers:
            try:
                pages.append(await fetch())
            except _FALLBACK_ERRORS as error:
                # A secondary provider failing leaves the main one's answer; only the main one is essential.
                if not pages:
                    failure = error
                    break
        if failure is not None or not pages:
            raise failure or UpstreamUnavailable("metadata", "no provider answered")
        return self._merges.get(*pages) or self._merges.put(_merge(pages), *pages)

    # --- use cases ----------------------------------------------------------------------------------

    async def discover(
        self,
        kind: DiscoveryKind,
        content: ContentFilter = None,
        *,
        page: int = 1,
        page_size: int = PROVIDER_PAGE,
        query: DiscoverQuery = DiscoverQuery(),
    ) -> DiscoveryPage:
        _check_page(page, page_size)
        if kind not in _LIST_KINDS:
            raise InvalidInput(
                "{kind} lists titles like another one: use similar with a title",
                code="discover.related",
                kind=kind.value,
            )
        content_part = content.value if content else "all"

        async def fetch(number: int) -> Page:
            key = f"{kind.value}:{content_part}:{query.cache_part()}:{number}"

            async def call(provider: MetadataProvider) -> Page:
                return await provider.discover(kind, content, page=number, query=query)

            return await self._from_sources(kind.value, key, self.providers, call)

        return await self._marked(await self._window(page, page_size, fetch))

    async def search(
        self,
        text: str,
        content: ContentFilter = None,
        *,
        page: int = 1,
        page_size: int = PROVIDER_PAGE,
        language: str = "en-US",
    ) -> DiscoveryPage:
        _check_page(page, page_size)
        query = parse_search(text)
        if query.ids is not None:
            return await self._marked(await self._lookup(query.ids, content, language))
        content_part = content.value if content else "all"
        normalised = " ".join(query.text.casefold().split())

        async def fetch(number: int) -> Page:
            key = f"search:{content_part}:{language}:{query.year or '-'}:{normalised}:{number}"

            async def call(source: TitleSource) -> Page:
                return await source.search(query.text, content, page=number, year=query.year, language=language)

            return await self._from_sources("search", key, [*self.providers, *self.search_also], call)

        return await self._marked(await self._window(page, page_size, fetch))

    async def _lookup(self, ids: ExternalIds, content: ContentFilter, language: str) -> Page:
        """`tmdb:550` and friends: the titles behind an id, in every content type it exists in."""
        found: list[Title] = []
        types = [content] if content else [ContentType.MOVIE, ContentType.SERIES, ContentType.ANIME]
        stale = False
        for content_type in types:
            try:
                details, was_stale = await self._details(content_type, ids, language)
            except UpstreamNotFound:
                continue
            if content is None and details.classified_as not in (None, content_type):
                continue  # the show is found again under the type its source gives it
            stale = stale or was_stale
            found.append(details.title)
        items = merge_titles(found)
        return Page(tuple(items), 1, 1, len(items), stale=stale, source=self.providers[0].name)

    async def related(
        self,
        kind: DiscoveryKind,
        content_type: ContentType,
        ids: ExternalIds,
        *,
        page: int = 1,
        page_size: int = PROVIDER_PAGE,
        language: str = "en-US",
    ) -> DiscoveryPage:
        _check_page(page, page_size)
        if kind not in (DiscoveryKind.SIMILAR, DiscoveryKind.RECOMMENDED):
            raise InvalidInput("related titles are either similar or recommended", code="discover.related_kind")
        provider = self.providers[0]

        async def fetch(number: int) -> Page:
            key = f"{kind.value}:{content_type.value}:{ids.cache_part}:{language}:{number}"
            return await self._provider_page(
                provider,
                kind.value,
                key,
                lambda: provider.related(kind, content_type, ids, page=number, language=language),
            )

        return await self._marked(await self._window(page, page_size, fetch))

    async def upcoming(
        self, content: ContentFilter = None, *, days: int = 30, page: int = 1, language: str = "en-US"
    ) -> DiscoveryPage:
        _check_page(page, PROVIDER_PAGE)
        if not 1 <= days <= 365:
            raise InvalidInput("days must be between 1 and {most}", code="discover.days", most=365)
        provider = self.providers[0]
        key = f"upcoming-days:{content.value if content else 'all'}:{days}:{language}:{page}"
        fetched = await self._provider_page(
            provider, "upcoming", key, lambda: provider.upcoming(content, days=days, page=page, language=language)
        )
        return await self._marked(fetched)

    async def _details(self, content_type: ContentType, ids: ExternalIds, language: str) -> tuple[TitleDetails, bool]:
        provider = self.providers[0]
        # The season source is part of the key: configuring TheTVDB must not leave TMDB's seasons cached.
        seasons = self.seasons_from.name if self.seasons_from else "-"
        key = f"{provider.name}:details:{seasons}:{content_type.value}:{ids.cache_part}:{language}"

        async def fetch() -> Any:
            details = await provider.details(content_type, ids, language=language)
            return (await self._with_tvdb_seasons(details, language)).to_json()

        data, stale = await self._cached(key, "details", fetch)
        return TitleDetails.from_json(data), stale

    async def _with_tvdb_seasons(self, details: TitleDetails, language: str) -> TitleDetails:
        """Shows take TVDB's season list: the numbering Sonarr uses, and where TMDB and TVDB disagree
        (long-running anime above all) the one a request must be made in."""
        source = self.seasons_from
        title = details.title
        if source is None or title.type == ContentType.MOVIE or title.tvdb_id is None:
            return details
        try:
            tvdb = await source.details(title.type, ExternalIds(tvdb_id=title.tvdb_id), language=language)
        except (UpstreamNotFound, *_FALLBACK_ERRORS):
            return details
        if not tvdb.seasons:
            return details
        return replace(
            details,
            title=title.merged_with(tvdb.title),
            seasons=tvdb.seasons,
            status=details.status or tvdb.status,
            season_source=source.name,
        )

    async def purge_cache(self) -> int:
        """Drop cached pages past their stale window; returns how many."""
        return await self._cache.purge_expired()

    async def details(self, content_type: ContentType, ids: ExternalIds, *, language: str = "en-US") -> TitleDetails:
        """A title's details alone, without what idkarr knows of it (for bulk work such as an import)."""
        return (await self._details(content_type, ids, language))[0]

    async def title(self, content_type: ContentType, ids: ExternalIds, *, language: str = "en-US") -> TitleView:
        details, stale = await self._details(content_type, ids, language)
        marked = await self._marks([details.title])
        return TitleView(marked[0], details, stale)

    # --- what idkarr knows about each title ---------------------------------------------------------

    async def _marked(self, page: Page) -> DiscoveryPage:
        """The page with what idkarr knows of each title. A page handed out again (see `_provider_page`) whose
        titles idkarr knows the same as last time is answered with the same object: marking is the one part
        read again on each call, and drawing its items was most of a cached page's cost."""
        last = self._marked_pages.get(page)
        ids = last[0] if last is not None else _ids(page.items)
        known = tuple(await self._known(ids)) if ids["tmdb"] or ids["tvdb"] else ()
        if last is not None and last[1] == known:
            return last[2]
        items = _apply_marks(page.items, known)
        marked = DiscoveryPage(tuple(items), page.page, page.total_pages, page.total_results, page.stale, page.source)
        return self._marked_pages.put((ids, known, marked), page)[2]

    async def _known(self, ids: dict[str, list[int]]) -> list[Any]:
        """What idkarr has of these titles. Callers of the same moment share one statement (core.batches):
        once connections came free as fast as they were returned, nearly every caller sent a statement of its
        own, and a warm discovery call cost 15 % more CPU."""
        return await self._marking((tuple(ids["tmdb"]), tuple(ids["tvdb"])), None) or []

    async def _known_of(self, asked: dict[_Ids, None]) -> dict[_Ids, list[Any]]:
        """`_KNOWN`'s rows for each set of ids asked, from one statement for all of them, run outside a
        transaction (see core.db.prepared)."""
        tmdb = sorted({id_ for ids in asked for id_ in ids[0]})
        tvdb = sorted({id_ for ids in asked for id_ in ids[1]})
        async with self._database.reads() as unit:
            rows = await _KNOWN.rows(unit, tmdb=tmdb, tvdb=tvdb)
        if len(asked) == 1:
            return dict.fromkeys(asked, rows)
        # The rows each would have had alone (`_of_titles`), in the statement's order.
        return {ids: [row for row in rows if row.tmdb_id in ids[0] or row.tvdb_id in ids[1]] for ids in asked}

    async def _marks(self, titles: list[Title]) -> list[DiscoveryItem]:
        ids = _ids(titles)
        if not ids["tmdb"] and not ids["tvdb"]:
            return [DiscoveryItem(t) for t in titles]
        return _apply_marks(titles, await self._known(ids))
