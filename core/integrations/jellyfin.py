"""Jellyfin and Emby: one API (Emby's, which Jellyfin forked), two ways of sending the token.

Jellyfin takes `Authorization: MediaBrowser Token="..."`; Emby takes `X-Emby-Token`. The library is read
with /Items (films and shows, paged by StartIndex and Limit) and the seasons' episode counts with
/Items of type Season (ChildCount); an incremental read asks for what was saved since a moment
(MinDateLastSaved), episodes included, so a new season of a show already there is found whatever the
batch size.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from core.enums import ContentType, MediaServerType
from core.integrations.connection import Endpoint, connect
from core.integrations.types import LibraryItem, Played, ServerInfo, ServerUser, id_number, imdb_id, mapping
from core.upstream import Upstream
from core.upstream_errors import UpstreamBadResponse

__all__ = ["JellyfinClient", "open_jellyfin"]

_KINDS = {"Movie": ContentType.MOVIE, "Series": ContentType.SERIES}
_FIELDS = "ProviderIds,ProductionYear"


def _auth_headers(kind: MediaServerType, token: str) -> dict[str, str]:
    if kind == MediaServerType.EMBY:
        return {"X-Emby-Token": token}
    return {
        "Authorization": f'MediaBrowser Client="idkarr", Device="idkarr", DeviceId="idkarr", Version="1", '
        f'Token="{token}"'
    }


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment.tzinfo is None else moment.isoformat()


def _items(body: Any, service: str) -> list[dict[str, Any]]:
    items = body.get("Items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise UpstreamBadResponse(service, "an item list without Items")
    return [item for item in items if isinstance(item, dict)]


def _library_item(raw: dict[str, Any]) -> LibraryItem | None:
    """An item as idkarr keeps it, or None for one that is not a film or a show or has no usable id."""
    kind = _KINDS.get(raw.get("Type", ""))
    key = raw.get("Id")
    if kind is None or not isinstance(key, str) or not key:
        return None
    ids = mapping(raw.get("ProviderIds"))
    lowered = {str(name).lower(): value for name, value in ids.items()}
    year = raw.get("ProductionYear")
    name = raw.get("Name")
    return LibraryItem(
        key=key,
        content_type=kind,
        title=name.strip()[:500] if isinstance(name, str) and name.strip() else key,
        year=year if isinstance(year, int) and 1800 < year < 3000 else None,
        tmdb_id=id_number(lowered.get("tmdb")),
        tvdb_id=id_number(lowered.get("tvdb")),
        imdb_id=imdb_id(lowered.get("imdb")),
    )


class JellyfinClient:
    def __init__(self, upstream: Upstream, *, page_size: int = 2000, concurrency: int = 4) -> None:
        self.upstream = upstream
        self.page_size = page_size
        self.concurrency = concurrency

    @property
    def service(self) -> str:
        return self.upstream.service

    async def info(self) -> ServerInfo:
        body = await self.upstream.get_json("/System/Info")
        if not isinstance(body, dict):
            raise UpstreamBadResponse(self.service, "System/Info is not an object")
        return ServerInfo(
            name=str(body.get("ServerName") or self.service),
            version=str(body.get("Version") or "?"),
            identifier=str(body["Id"]) if body.get("Id") else None,
        )

    async def _page(self, params: dict[str, Any], start: int) -> tuple[list[dict[str, Any]], int]:
        body = await self.upstream.get_json(
            "/Items", params={**params, "StartIndex": start, "Limit": self.page_size, "EnableTotalRecordCount": "true"}
        )
        items = _items(body, self.service)
        total = body.get("TotalRecordCount")
        return items, total if isinstance(total, int) and total >= 0 else start + len(items)

    async def _all(self, params: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a listing: the first says how many there are, the rest are fetched several at once."""
        first, total = await self._page(params, 0)
        yield first
        starts = list(range(self.page_size, total, self.page_size))
        for at in range(0, len(starts), self.concurrency):
            pages = await asyncio.gather(*(self._page(params, start) for start in starts[at : at + self.concurrency]))
            for items, _ in pages:
                yield items

    async def items(self, since: datetime | None = None) -> AsyncIterator[list[LibraryItem]]:
        """The library's films and shows, page by page, shows with their seasons' episode counts.

        `since`: only what changed after that moment, and every show one of whose episodes changed."""
        base: dict[str, Any] = {"Recursive": "true", "Fields": _FIELDS}
        if since is not None:
            base["MinDateLastSaved"] = _when(since)
        changed_shows: set[str] = set()
        if since is not None:
            async for episodes in self._all({**base, "IncludeItemTypes": "Episode", "Fields": "SeriesId"}):
                changed_shows.update(str(e["SeriesId"]) for e in episodes if isinstance(e.get("SeriesId"), str))
        async for raw in self._all({**base, "IncludeItemTypes": "Movie,Series"}):
            items = [item for item in map(_library_item, raw) if item is not None]
            changed_shows.difference_update(item.key for item in items)
            await self._add_seasons(items, whole_library=since is None)
            yield items
        # Shows untouched themselves whose episodes changed: a new season of a show already there.
        listed = sorted(changed_shows)
        for at in range(0, len(listed), 100):
            body = await self.upstream.get_json(
                "/Items", params={"Ids": ",".join(listed[at : at + 100]), "Fields": _FIELDS}
            )
            items = [item for item in map(_library_item, _items(body, self.service)) if item is not None]
            await self._add_seasons(items, whole_library=False)
            yield items

    async def _add_seasons(self, items: list[LibraryItem], *, whole_library: bool) -> None:
        shows = {item.key: item for item in items if item.content_type != ContentType.MOVIE}
        if not shows:
            return
        counts = await self._season_counts(None if whole_library else shows)
        for key, item in shows.items():
            item.seasons = counts.get(key, {})

    _library_seasons: dict[str, dict[int, int]] | None = None

    async def _season_counts(self, shows: Iterable[str] | None = None) -> dict[str, dict[int, int]]:
        """Episodes per season per show: of the whole library, read once (full sync), or of the given shows,
        each from its own /Shows/{id}/Seasons (/Items cannot filter seasons by show)."""
        if shows is not None:
            return dict(await asyncio.gather(*(self._show_seasons(show) for show in shows)))
        if self._library_seasons is None:
            counts: dict[str, dict[int, int]] = {}
            params = {"Recursive": "true", "IncludeItemTypes": "Season", "Fields": "ChildCount"}
            async for seasons in self._all(params):
                for season in seasons:
                    _count(counts, season)
            self._library_seasons = counts
        return self._library_seasons

    async def _show_seasons(self, show: str) -> tuple[str, dict[int, int]]:
        body = await self.upstream.get_json(f"/Shows/{show}/Seasons", params={"Fields": "ChildCount"})
        counts: dict[str, dict[int, int]] = {}
        for season in _items(body, self.service):
            _count(counts, {**season, "SeriesId": show})
        return show, counts.get(show, {})

    async def users(self) -> list[ServerUser]:
        body = await self.upstream.get_json("/Users")
        if not isinstance(body, list):
            raise UpstreamBadResponse(self.service, "Users is not a list")
        return [
            ServerUser(str(user["Id"]), str(user.get("Name") or user["Id"]))
            for user in body
            if isinstance(user, dict) and user.get("Id")
        ]

    async def played(self, user: str) -> AsyncIterator[list[Played]]:
        params = {
            "Recursive": "true",
            "IsPlayed": "true",
            "IncludeItemTypes": "Movie,Episode",
            "Fields": "ProviderIds,SeriesId",
        }
        async for page in self._all_for(f"/Users/{user}/Items", params):
            yield [played for played in map(_played, page) if played is not None]

    async def _all_for(self, path: str, params: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        start = 0
        while True:
            body = await self.upstream.get_json(path, params={**params, "StartIndex": start, "Limit": self.page_size})
            items = _items(body, self.service)
            yield items
            start += len(items)
            total = body.get("TotalRecordCount")
            if not items or not isinstance(total, int) or start >= total:
                return


def _count(counts: dict[str, dict[int, int]], season: dict[str, Any]) -> None:
    show, number, episodes = season.get("SeriesId"), season.get("IndexNumber"), season.get("ChildCount")
    if isinstance(show, str) and isinstance(number, int) and 0 <= number < 10_000:
        counts.setdefault(show, {})[number] = episodes if isinstance(episodes, int) and episodes >= 0 else 0


def _played(raw: dict[str, Any]) -> Played | None:
    data = mapping(raw.get("UserData"))
    kind = raw.get("Type")
    if not data.get("Played") or kind not in ("Movie", "Episode") or not isinstance(raw.get("Id"), str):
        return None
    ids = mapping(raw.get("ProviderIds"))
    lowered = {str(name).lower(): value for name, value in ids.items()}
    last = data.get("LastPlayedDate")
    try:
        when = datetime.fromisoformat(last.replace("Z", "+00:00")) if isinstance(last, str) else None
    except ValueError:
        when = None
    count = data.get("PlayCount")
    season, episode = raw.get("ParentIndexNumber"), raw.get("IndexNumber")
    film = kind == "Movie"
    # An episode's own ids name the episode; its show is found by the show's key in the library instead.
    return Played(
        item_key=raw["Id"] if film else str(raw.get("SeriesId") or raw["Id"]),
        content_type=ContentType.MOVIE if film else ContentType.SERIES,
        tmdb_id=id_number(lowered.get("tmdb")) if film else None,
        tvdb_id=None,
        imdb_id=imdb_id(lowered.get("imdb")) if film else None,
        season_number=season if isinstance(season, int) else None,
        episode_number=episode if isinstance(episode, int) else None,
        play_count=count if isinstance(count, int) and count > 0 else 1,
        last_played=when,
    )


@asynccontextmanager
async def open_jellyfin(
    kind: MediaServerType, endpoint: Endpoint, *, page_size: int = 2000, concurrency: int = 4
) -> AsyncIterator[JellyfinClient]:
    service = "Emby" if kind == MediaServerType.EMBY else "Jellyfin"
    async with connect(service, endpoint, _auth_headers(kind, endpoint.token), rate=500) as upstream:
        yield JellyfinClient(upstream, page_size=page_size, concurrency=concurrency)
