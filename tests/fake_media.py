"""Fake media servers on 127.0.0.1: Jellyfin and Emby (one API, their two ways of sending the token) and
Plex, answering the endpoints idkarr reads with the shapes of their public API documentation.

One `FakeLibrary` of films and shows (with episodes per season and when each was added or saved) backs
either; faults are switched on per fake: a forced status, a delay, malformed items, or vanishing after some
pages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .fakes import json_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

JELLYFIN_TOKEN = "jellyfin-token-5f2e9a"
EMBY_TOKEN = "emby-token-77c1d0"
PLEX_TOKEN = "plex-token-a1b2c3"


@dataclass
class FakeTitle:
    key: str
    kind: str  # "movie" or "show"
    title: str
    year: int | None = None
    tmdb: int | None = None
    tvdb: int | None = None
    imdb: str | None = None
    seasons: dict[int, int] = field(default_factory=dict)  # season -> episodes present
    added: float = field(default_factory=time.time)
    saved: float = field(default_factory=time.time)
    season_saved: dict[int, float] = field(default_factory=dict)  # when a season last gained episodes


@dataclass
class FakeLibrary:
    titles: dict[str, FakeTitle] = field(default_factory=dict)
    version: int = 0  # bumped on every change, so fakes may keep listings between changes

    def movie(
        self, key: str, title: str, *, tmdb: int | None = None, imdb: str | None = None, year: int = 2000
    ) -> FakeTitle:
        entry = FakeTitle(key, "movie", title, year, tmdb=tmdb, imdb=imdb)
        self.titles[key] = entry
        self.version += 1
        return entry

    def show(
        self, key: str, title: str, seasons: dict[int, int], *, tvdb: int | None = None, tmdb: int | None = None
    ) -> FakeTitle:
        now = time.time()
        entry = FakeTitle(key, "show", title, 2010, tmdb=tmdb, tvdb=tvdb, seasons=dict(seasons))
        entry.season_saved = dict.fromkeys(seasons, now)
        self.titles[key] = entry
        self.version += 1
        return entry

    def add_episodes(self, key: str, season: int, count: int) -> None:
        """Episodes arriving in a show already there: the show's own record is not saved again, only its
        episodes (as on a real server)."""
        entry = self.titles[key]
        entry.seasons[season] = entry.seasons.get(season, 0) + count
        entry.season_saved[season] = time.time()
        self.version += 1

    def remove(self, key: str) -> None:
        del self.titles[key]
        self.version += 1

    def of_kind(self, kind: str) -> list[FakeTitle]:
        return [entry for entry in self.titles.values() if entry.kind == kind]


@dataclass
class Play:
    """A viewing: of a film (`key`), or of an episode of a show (`key` the show's)."""

    key: str
    season: int | None = None
    episode: int | None = None
    count: int = 1
    at: float = field(default_factory=time.time)


@dataclass
class Faults:
    status: int | None = None  # every authenticated call answers this
    delay: float = 0.0  # seconds before every answer
    malformed: bool = False  # item lists come back as the wrong shape
    vanish_after: int | None = None  # listing pages served before the server stops answering (503)
    pages_served: int = 0


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _parse_iso(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class _Faulty:
    library: FakeLibrary
    faults: Faults
    calls: list[str]

    async def _fault(self, listing: bool = False) -> web.Response | None:
        if self.faults.delay:
            await asyncio.sleep(self.faults.delay)
        if self.faults.status is not None:
            return json_response({"message": "forced failure"}, self.faults.status)
        if listing and self.faults.vanish_after is not None:
            if self.faults.pages_served >= self.faults.vanish_after:
                return web.Response(status=503, text="Service Unavailable")
            self.faults.pages_served += 1
        return None


@dataclass
class FakeJellyfin(_Faulty):
    """Jellyfin (flavour "jellyfin") or Emby (flavour "emby")."""

    flavour: str = "jellyfin"
    library: FakeLibrary = field(default_factory=FakeLibrary)
    users: dict[str, str] = field(default_factory=dict)  # id -> name
    plays: dict[str, list[Play]] = field(default_factory=dict)  # user id -> what they played
    faults: Faults = field(default_factory=Faults)
    port: int = 0
    calls: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return EMBY_TOKEN if self.flavour == "emby" else JELLYFIN_TOKEN

    def _authorised(self, request: web.Request) -> bool:
        if self.flavour == "emby":
            return request.headers.get("X-Emby-Token") == self.token
        header = request.headers.get("Authorization", "")
        return header.startswith("MediaBrowser ") and f'Token="{self.token}"' in header

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.calls.append(f"{request.method} {request.path}")
        if not self._authorised(request):
            return web.Response(status=401, text="Unauthorized")
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/System/Info", self.system_info)
        app.router.add_get("/Items", self.items)
        app.router.add_get("/Shows/{id}/Seasons", self.show_seasons)
        app.router.add_get("/Users", self.user_list)
        app.router.add_get("/Users/{id}/Items", self.user_items)
        return app

    async def user_list(self, request: web.Request) -> web.Response:
        return json_response([{"Name": name, "Id": key, "HasPassword": True} for key, name in self.users.items()])

    async def user_items(self, request: web.Request) -> web.Response:
        user = request.match_info["id"]
        if user not in self.users:
            return web.Response(status=404, text="User not found")
        rows = []
        for play in self.plays.get(user, []):
            entry = self.library.titles.get(play.key)
            if entry is None:
                continue
            data = {"Played": True, "PlayCount": play.count, "LastPlayedDate": _iso(play.at), "IsFavorite": False}
            if play.season is None:
                rows.append({**self._item(entry), "UserData": data})
            else:
                rows.append(
                    {
                        "Id": f"{entry.key}-s{play.season}-e{play.episode}",
                        "Type": "Episode",
                        "SeriesId": entry.key,
                        "ParentIndexNumber": play.season,
                        "IndexNumber": play.episode,
                        "ProviderIds": {"Tvdb": "12345"},
                        "UserData": data,
                    }
                )
        start = int(request.query.get("StartIndex", 0))
        limit = int(request.query.get("Limit", 100_000))
        return json_response({"Items": rows[start : start + limit], "TotalRecordCount": len(rows), "StartIndex": start})

    async def system_info(self, request: web.Request) -> web.Response:
        if failure := await self._fault():
            return failure
        name = "Emby Server" if self.flavour == "emby" else "Jellyfin Server"
        return json_response(
            {"ServerName": name, "Version": "10.9.11", "Id": f"{self.flavour}-f00d", "OperatingSystem": "Linux"}
        )

    def _item(self, entry: FakeTitle) -> dict[str, Any]:
        ids: dict[str, str] = {}
        if entry.tmdb:
            ids["Tmdb"] = str(entry.tmdb)
        if entry.tvdb:
            ids["Tvdb"] = str(entry.tvdb)
        if entry.imdb:
            ids["Imdb"] = entry.imdb
        return {
            "Name": entry.title,
            "Id": entry.key,
            "Type": "Movie" if entry.kind == "movie" else "Series",
            "ProductionYear": entry.year,
            "ProviderIds": ids,
            "DateLastSaved": _iso(entry.saved),
        }

    def _seasons(self, entry: FakeTitle) -> list[dict[str, Any]]:
        return [
            {
                "Id": f"{entry.key}-s{number}",
                "Type": "Season",
                "SeriesId": entry.key,
                "IndexNumber": number,
                "ChildCount": count,
            }
            for number, count in sorted(entry.seasons.items())
        ]

    async def items(self, request: web.Request) -> web.Response:
        query = request.query
        if failure := await self._fault(listing="Ids" not in query):
            return failure
        kinds = set(query.get("IncludeItemTypes", "").split(","))
        since = _parse_iso(query["MinDateLastSaved"]) if "MinDateLastSaved" in query else None
        if "Ids" in query:
            wanted = query["Ids"].split(",")
            listed = [self._item(self.library.titles[key]) for key in wanted if key in self.library.titles]
            return json_response({"Items": listed, "TotalRecordCount": len(listed), "StartIndex": 0})
        cache_key = (self.library.version, tuple(sorted(kinds)), since)
        if self._listing is not None and self._listing[0] == cache_key:
            rows = self._listing[1]
        else:
            rows = self._rows(kinds, since)
            self._listing = (cache_key, rows)
        start = int(query.get("StartIndex", 0))
        limit = int(query.get("Limit", 100_000))
        page = rows[start : start + limit]
        if self.faults.malformed:
            return json_response({"Items": {"not": "a list"}, "TotalRecordCount": "many"})
        return json_response({"Items": page, "TotalRecordCount": len(rows), "StartIndex": start})

    _listing: tuple[Any, list[dict[str, Any]]] | None = None

    def _rows(self, kinds: set[str], since: float | None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        if "Season" in kinds:
            for entry in self.library.of_kind("show"):
                rows.extend(self._seasons(entry))
        if "Episode" in kinds:
            for entry in self.library.of_kind("show"):
                for number, saved in sorted(entry.season_saved.items()):
                    if since is None or saved >= since:
                        rows.append(
                            {
                                "Id": f"{entry.key}-s{number}-e1",
                                "Type": "Episode",
                                "SeriesId": entry.key,
                                "ParentIndexNumber": number,
                                "IndexNumber": 1,
                                "DateLastSaved": _iso(saved),
                            }
                        )
        wanted_kinds = {"Movie": "movie", "Series": "show"}
        for kind_name, kind in wanted_kinds.items():
            if kind_name in kinds:
                rows.extend(
                    self._item(entry) for entry in self.library.of_kind(kind) if since is None or entry.saved >= since
                )
        return rows

    async def show_seasons(self, request: web.Request) -> web.Response:
        if failure := await self._fault():
            return failure
        entry = self.library.titles.get(request.match_info["id"])
        if entry is None:
            return web.Response(status=404, text="Not Found")
        seasons = self._seasons(entry)
        return json_response({"Items": seasons, "TotalRecordCount": len(seasons), "StartIndex": 0})


@dataclass
class FakePlex(_Faulty):
    library: FakeLibrary = field(default_factory=FakeLibrary)
    faults: Faults = field(default_factory=Faults)
    port: int = 0
    calls: list[str] = field(default_factory=list)
    legacy_guids: bool = False  # answer with the old agents' guid field instead of the Guid list
    accounts: dict[int, str] = field(default_factory=dict)  # id -> name
    plays: dict[int, list[Play]] = field(default_factory=dict)  # account id -> viewings

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.calls.append(f"{request.method} {request.path}")
        if request.path != "/identity":
            token = request.headers.get("X-Plex-Token") or request.query.get("X-Plex-Token")
            if token != PLEX_TOKEN:
                return web.Response(status=401, text="<html><head><title>Unauthorized</title></head></html>")
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/identity", self.identity)
        app.router.add_get("/library/sections", self.sections)
        app.router.add_get("/library/sections/{section}/all", self.section_all)
        app.router.add_get("/library/metadata/{keys}/children", self.children)
        app.router.add_get("/library/metadata/{keys}", self.metadata)
        app.router.add_get("/accounts", self.account_list)
        app.router.add_get("/status/sessions/history/all", self.history)
        return app

    async def account_list(self, request: web.Request) -> web.Response:
        accounts = [{"id": key, "key": f"/accounts/{key}", "name": name} for key, name in self.accounts.items()]
        return json_response({"MediaContainer": {"size": len(accounts), "Account": accounts}})

    async def history(self, request: web.Request) -> web.Response:
        account = int(request.query.get("accountID", "0"))
        rows = []
        for play in self.plays.get(account, []):
            for _ in range(play.count):
                if play.season is None:
                    rows.append(
                        {"ratingKey": play.key, "type": "movie", "viewedAt": int(play.at), "accountID": account}
                    )
                else:
                    rows.append(
                        {
                            "ratingKey": f"{play.key}{play.season:03d}{play.episode:03d}",
                            "type": "episode",
                            "grandparentRatingKey": play.key,
                            "parentIndex": play.season,
                            "index": play.episode,
                            "viewedAt": int(play.at),
                            "accountID": account,
                        }
                    )
        start = int(request.query.get("X-Plex-Container-Start", 0))
        size = int(request.query.get("X-Plex-Container-Size", 50))
        page = rows[start : start + size]
        return json_response({"MediaContainer": {"size": len(page), "totalSize": len(rows), "Metadata": page}})

    async def identity(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "MediaContainer": {
                    "size": 0,
                    "claimed": True,
                    "machineIdentifier": "plex-machine-1",
                    "version": "1.41.3.9314",
                }
            }
        )

    async def sections(self, request: web.Request) -> web.Response:
        if failure := await self._fault():
            return failure
        directories = [
            {"key": "1", "type": "movie", "title": "Movies", "agent": "tv.plex.agents.movie"},
            {"key": "2", "type": "show", "title": "TV Shows", "agent": "tv.plex.agents.series"},
            {"key": "3", "type": "artist", "title": "Music", "agent": "tv.plex.agents.music"},
        ]
        return json_response({"MediaContainer": {"size": len(directories), "Directory": directories}})

    def _metadata(self, entry: FakeTitle) -> dict[str, Any]:
        item: dict[str, Any] = {
            "ratingKey": entry.key,
            "key": f"/library/metadata/{entry.key}",
            "type": "movie" if entry.kind == "movie" else "show",
            "title": entry.title,
            "year": entry.year,
            "addedAt": int(entry.added),
            "updatedAt": int(entry.saved),
        }
        if self.legacy_guids:
            if entry.kind == "movie":
                item["guid"] = (
                    f"com.plexapp.agents.themoviedb://{entry.tmdb}?lang=en"
                    if entry.tmdb
                    else f"com.plexapp.agents.imdb://{entry.imdb}?lang=en"
                )
            else:
                item["guid"] = f"com.plexapp.agents.thetvdb://{entry.tvdb}?lang=en"
        else:
            item["guid"] = f"plex://{item['type']}/5d77{entry.key}"
            guids = []
            if entry.imdb:
                guids.append({"id": f"imdb://{entry.imdb}"})
            if entry.tmdb:
                guids.append({"id": f"tmdb://{entry.tmdb}"})
            if entry.tvdb:
                guids.append({"id": f"tvdb://{entry.tvdb}"})
            item["Guid"] = guids
        if entry.kind == "show":
            item["leafCount"] = sum(entry.seasons.values())
            item["childCount"] = len(entry.seasons)
        return item

    def _season_rows(self, entry: FakeTitle) -> list[dict[str, Any]]:
        return [
            {
                "ratingKey": f"{entry.key}{number:03d}",
                "type": "season",
                "index": number,
                "parentRatingKey": entry.key,
                "leafCount": count,
                "addedAt": int(entry.season_saved.get(number, entry.added)),
            }
            for number, count in sorted(entry.seasons.items())
        ]

    async def section_all(self, request: web.Request) -> web.Response:
        if failure := await self._fault(listing=True):
            return failure
        query = request.query
        kind = int(query.get("type", "1"))
        section = request.match_info["section"]
        added_after = int(query["addedAt>>"]) if "addedAt>>" in query else None
        updated_after = int(query["updatedAt>>"]) if "updatedAt>>" in query else None
        if section not in ("1", "2"):
            return json_response({"MediaContainer": {"size": 0, "totalSize": 0, "offset": 0}})
        cache_key = (self.library.version, section, kind, added_after, updated_after)
        if self._listing is not None and self._listing[0] == cache_key:
            rows = self._listing[1]
        else:
            rows = self._rows(section, kind, added_after, updated_after)
            self._listing = (cache_key, rows)
        start = int(query.get("X-Plex-Container-Start", 0))
        size = int(query.get("X-Plex-Container-Size", 50))
        page = rows[start : start + size]
        if self.faults.malformed:
            return json_response({"MediaContainer": "nothing here"})
        return json_response(
            {"MediaContainer": {"size": len(page), "totalSize": len(rows), "offset": start, "Metadata": page}}
        )

    _listing: tuple[Any, list[dict[str, Any]]] | None = None

    def _rows(
        self, section: str, kind: int, added_after: int | None, updated_after: int | None
    ) -> list[dict[str, Any]]:
        titles = self.library.of_kind("movie" if section == "1" else "show")
        rows: list[dict[str, Any]]
        if kind in (1, 2):
            picked = [
                e
                for e in titles
                if (added_after is None or e.added > added_after) and (updated_after is None or e.saved > updated_after)
            ]
            rows = [self._metadata(entry) for entry in picked]
        elif kind == 3:
            rows = [season for entry in titles for season in self._season_rows(entry)]
        else:
            rows = [
                {
                    "ratingKey": f"{entry.key}{number:03d}001",
                    "type": "episode",
                    "grandparentRatingKey": entry.key,
                    "parentIndex": number,
                    "index": 1,
                    "addedAt": int(saved),
                }
                for entry in titles
                for number, saved in entry.season_saved.items()
                if added_after is None or saved > added_after
            ]
        return rows

    async def metadata(self, request: web.Request) -> web.Response:
        if failure := await self._fault():
            return failure
        keys = request.match_info["keys"].split(",")
        rows = [self._metadata(self.library.titles[key]) for key in keys if key in self.library.titles]
        return json_response({"MediaContainer": {"size": len(rows), "Metadata": rows}})

    async def children(self, request: web.Request) -> web.Response:
        if failure := await self._fault():
            return failure
        entry = self.library.titles.get(request.match_info["keys"])
        if entry is None:
            return web.Response(status=404)
        rows = self._season_rows(entry)
        return json_response({"MediaContainer": {"size": len(rows), "Metadata": rows}})
