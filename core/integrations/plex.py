"""Plex Media Server: X-Plex-Token, JSON answers (Accept: application/json), paged section listings
(X-Plex-Container-Start and -Size).

Films and shows come from each section's /all (type 1 and 2, includeGuids=1 for the new agents' tmdb://,
tvdb://, imdb:// ids); seasons' episode counts from type 3 (leafCount). An incremental read filters by
addedAt and updatedAt (Plex's `>>=` operator), episodes included, so a new season of a show already there is
found whatever the batch size.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from core.enums import ContentType
from core.integrations.connection import Endpoint, connect
from core.integrations.types import LibraryItem, Played, ServerInfo, ServerUser, id_number, imdb_id
from core.upstream import Upstream
from core.upstream_errors import UpstreamBadResponse

__all__ = ["PlexClient", "open_plex", "plex_ids"]

_MOVIE, _SHOW, _SEASON, _EPISODE = 1, 2, 3, 4
# The legacy agents' GUIDs: com.plexapp.agents.themoviedb://603?lang=en, ...thetvdb://81189/1/2?lang=en,
# ...imdb://tt0133093?lang=en, and HAMA's hama://tvdb-81189 for anime.
_LEGACY = re.compile(r"^com\.plexapp\.agents\.(?P<agent>[a-z]+)://(?P<id>[^/?]+)")
_AGENTS = {"themoviedb": "tmdb", "tmdb": "tmdb", "thetvdb": "tvdb", "tvdb": "tvdb", "imdb": "imdb"}


def plex_ids(raw: dict[str, Any]) -> dict[str, str]:
    """The external ids in an item's GUIDs, new agents' (Guid list) and legacy ones (guid)."""
    found: dict[str, str] = {}
    guids = raw.get("Guid")
    for guid in guids if isinstance(guids, list) else []:
        value = guid.get("id") if isinstance(guid, dict) else None
        if isinstance(value, str) and "://" in value:
            scheme, _, rest = value.partition("://")
            if scheme in ("tmdb", "tvdb", "imdb"):
                found.setdefault(scheme, rest)
    legacy = raw.get("guid")
    if isinstance(legacy, str) and (match := _LEGACY.match(legacy)):
        agent, value = match["agent"], match["id"]
        if agent == "hama" and "-" in value:
            source, _, value = value.partition("-")
            agent = {"tvdb": "thetvdb", "tmdb": "themoviedb"}.get(source, source)
        if agent in _AGENTS:
            found.setdefault(_AGENTS[agent], value)
    return found


def _container(body: Any, service: str) -> dict[str, Any]:
    container = body.get("MediaContainer") if isinstance(body, dict) else None
    if not isinstance(container, dict):
        raise UpstreamBadResponse(service, "an answer without MediaContainer")
    return container


def _metadata(container: dict[str, Any]) -> list[dict[str, Any]]:
    items = container.get("Metadata", [])
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _library_item(raw: dict[str, Any]) -> LibraryItem | None:
    kind = {"movie": ContentType.MOVIE, "show": ContentType.SERIES}.get(raw.get("type", ""))
    key = raw.get("ratingKey")
    if kind is None or not isinstance(key, str | int) or not str(key):
        return None
    ids = plex_ids(raw)
    year, title = raw.get("year"), raw.get("title")
    return LibraryItem(
        key=str(key),
        content_type=kind,
        title=title.strip()[:500] if isinstance(title, str) and title.strip() else str(key),
        year=year if isinstance(year, int) and 1800 < year < 3000 else None,
        tmdb_id=id_number(ids.get("tmdb")),
        tvdb_id=id_number(ids.get("tvdb")),
        imdb_id=imdb_id(ids.get("imdb")),
    )


class PlexClient:
    def __init__(self, upstream: Upstream, *, page_size: int = 2000, concurrency: int = 4) -> None:
        self.upstream = upstream
        self.page_size = page_size
        self.concurrency = concurrency
        self.service = upstream.service

    async def info(self) -> ServerInfo:
        # /identity answers without a token; the sections prove the token works.
        identity = _container(await self.upstream.get_json("/identity"), self.service)
        await self.sections()
        machine = identity.get("machineIdentifier")
        return ServerInfo(
            name=str(identity.get("friendlyName") or "Plex"),
            version=str(identity.get("version") or "?"),
            identifier=str(machine) if machine else None,
        )

    async def sections(self) -> list[tuple[str, str]]:
        """(key, type) of each film and show section."""
        container = _container(await self.upstream.get_json("/library/sections"), self.service)
        directories = container.get("Directory", [])
        return [
            (str(entry["key"]), entry["type"])
            for entry in (directories if isinstance(directories, list) else [])
            if isinstance(entry, dict) and entry.get("key") is not None and entry.get("type") in ("movie", "show")
        ]

    async def _page(self, section: str, kind: int, start: int, filters: dict[str, Any]) -> tuple[list[Any], int]:
        body = await self.upstream.get_json(
            f"/library/sections/{section}/all",
            params={
                "type": kind,
                "includeGuids": 1,
                "X-Plex-Container-Start": start,
                "X-Plex-Container-Size": self.page_size,
                **filters,
            },
        )
        container = _container(body, self.service)
        items = _metadata(container)
        total = container.get("totalSize")
        return items, total if isinstance(total, int) and total >= 0 else start + len(items)

    async def _all(self, section: str, kind: int, filters: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        first, total = await self._page(section, kind, 0, filters)
        yield first
        starts = list(range(self.page_size, total, self.page_size))
        for at in range(0, len(starts), self.concurrency):
            batch = starts[at : at + self.concurrency]
            for items, _ in await asyncio.gather(*(self._page(section, kind, start, filters) for start in batch)):
                yield items

    async def items(self, since: datetime | None = None) -> AsyncIterator[list[LibraryItem]]:
        """Every film and show, page by page, shows with their seasons' episode counts; `since`: only what
        was added or updated after that moment, and every show an episode was added to."""
        for section, kind in await self.sections():
            if kind == "movie":
                async for raw in self._changed(section, _MOVIE, since):
                    yield [item for item in map(_library_item, raw) if item is not None]
                continue
            counts = await self._season_counts(section) if since is None else {}
            touched: set[str] = set()
            if since is not None:
                async for episodes in self._changed(section, _EPISODE, since):
                    touched.update(str(e["grandparentRatingKey"]) for e in episodes if e.get("grandparentRatingKey"))
            async for raw in self._changed(section, _SHOW, since):
                items = [item for item in map(_library_item, raw) if item is not None]
                touched.difference_update(item.key for item in items)
                await self._fill(items, counts)
                yield items
            listed = sorted(touched)
            for at in range(0, len(listed), 50):
                body = await self.upstream.get_json(
                    f"/library/metadata/{','.join(listed[at : at + 50])}", params={"includeGuids": 1}
                )
                items = [item for item in map(_library_item, _metadata(_container(body, self.service))) if item]
                await self._fill(items, counts)
                yield items

    async def _changed(self, section: str, kind: int, since: datetime | None) -> AsyncIterator[list[dict[str, Any]]]:
        if since is None:
            async for page in self._all(section, kind, {}):
                yield page
            return
        moment = int(since.timestamp())
        # Plex ANDs filters, so added and updated are asked separately; an item in both comes twice, which
        # the sync's upsert absorbs.
        for field in ("addedAt>>", "updatedAt>>"):
            async for page in self._all(section, kind, {field: moment}):
                yield page

    async def _fill(self, items: list[LibraryItem], counts: dict[str, dict[int, int]]) -> None:
        missing = [item.key for item in items if item.key not in counts]
        if missing:
            counts.update(await self._show_seasons(missing))
        for item in items:
            item.seasons = counts.get(item.key, {})

    async def _season_counts(self, section: str) -> dict[str, dict[int, int]]:
        counts: dict[str, dict[int, int]] = {}
        async for seasons in self._all(section, _SEASON, {}):
            for season in seasons:
                _count(counts, season)
        return counts

    async def users(self) -> list[ServerUser]:
        """The server's accounts (the owner and the people it is shared with), by id and name."""
        container = _container(await self.upstream.get_json("/accounts"), self.service)
        accounts = container.get("Account", [])
        return [
            ServerUser(str(account["id"]), str(account.get("name") or account["id"]))
            for account in (accounts if isinstance(accounts, list) else [])
            if isinstance(account, dict) and account.get("id") is not None and account.get("name")
        ]

    async def played(self, user: str) -> AsyncIterator[list[Played]]:
        """What an account has watched, from the server's watch history (one entry per viewing, folded into
        play counts by the caller)."""
        start = 0
        while True:
            body = await self.upstream.get_json(
                "/status/sessions/history/all",
                params={"accountID": user, "X-Plex-Container-Start": start, "X-Plex-Container-Size": self.page_size},
            )
            container = _container(body, self.service)
            rows = _metadata(container)
            yield [played for played in map(_played, rows) if played is not None]
            start += len(rows)
            total = container.get("totalSize")
            if not rows or not isinstance(total, int) or start >= total:
                return

    async def _show_seasons(self, shows: Iterable[str]) -> dict[str, dict[int, int]]:
        async def one(show: str) -> tuple[str, dict[int, int]]:
            body = await self.upstream.get_json(f"/library/metadata/{show}/children")
            counts: dict[str, dict[int, int]] = {}
            for season in _metadata(_container(body, self.service)):
                _count(counts, {**season, "parentRatingKey": show})
            return show, counts.get(show, {})

        return dict(await asyncio.gather(*(one(show) for show in shows)))


def _count(counts: dict[str, dict[int, int]], season: dict[str, Any]) -> None:
    show, number, episodes = season.get("parentRatingKey"), season.get("index"), season.get("leafCount")
    if show is not None and isinstance(number, int) and 0 <= number < 10_000:
        counts.setdefault(str(show), {})[number] = episodes if isinstance(episodes, int) and episodes >= 0 else 0


def _played(raw: dict[str, Any]) -> Played | None:
    kind = raw.get("type")
    if kind not in ("movie", "episode"):
        return None
    key = raw.get("ratingKey") if kind == "movie" else raw.get("grandparentRatingKey")
    if key is None:
        return None
    viewed = raw.get("viewedAt")
    season, episode = raw.get("parentIndex"), raw.get("index")
    return Played(
        item_key=str(key),
        content_type=ContentType.MOVIE if kind == "movie" else ContentType.SERIES,
        tmdb_id=None,
        tvdb_id=None,
        imdb_id=None,
        season_number=season if kind == "episode" and isinstance(season, int) else None,
        episode_number=episode if kind == "episode" and isinstance(episode, int) else None,
        play_count=1,
        last_played=datetime.fromtimestamp(viewed, UTC) if isinstance(viewed, int) and viewed > 0 else None,
    )


@asynccontextmanager
async def open_plex(endpoint: Endpoint, *, page_size: int = 2000, concurrency: int = 4) -> AsyncIterator[PlexClient]:
    headers = {"X-Plex-Token": endpoint.token, "X-Plex-Client-Identifier": "idkarr", "X-Plex-Product": "idkarr"}
    async with connect("Plex", endpoint, headers, rate=500) as upstream:
        yield PlexClient(upstream, page_size=page_size, concurrency=concurrency)
