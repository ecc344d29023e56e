"""A fake TheTVDB v4 on 127.0.0.1: login with JWT bearer tokens, search, series extended, episode orderings."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .fakes import json_response, serving

API_KEY = "fake-tvdb-key-77aa"
TOKEN_LIFETIME = 30 * 86400  # TheTVDB's tokens last about a month


def make_token(serial: int, expires_at: float) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part({'exp': int(expires_at), 'serial': serial})}.c2lnbmF0dXJl"


@dataclass
class FakeSeries:
    id: int
    name: str
    year: int
    country: str
    genres: list[str]
    official: list[int]  # episodes per season 1..n in the aired order
    dvd: list[int] = field(default_factory=list)
    specials: int = 0
    tmdb_id: int | None = None
    imdb_id: str | None = None

    def remote_ids(self) -> list[dict[str, Any]]:
        ids = []
        if self.imdb_id:
            ids.append({"id": self.imdb_id, "type": 2, "sourceName": "IMDB"})
        if self.tmdb_id:
            ids.append({"id": str(self.tmdb_id), "type": 12, "sourceName": "TheMovieDB.com"})
        return ids

    def episodes(self, order: list[int], season_type: str) -> list[dict[str, Any]]:
        listed = [(0, n) for n in range(1, self.specials + 1)] if season_type == "official" else []
        listed += [(season, n) for season, count in enumerate(order, start=1) for n in range(1, count + 1)]
        return [
            {
                "id": self.id * 10000 + index,
                "seriesId": self.id,
                "name": f"Episode {number}",
                "aired": "2013-04-07",
                "runtime": 24,
                "nameTranslations": ["eng"],
                "overview": "",
                "overviewTranslations": ["eng"],
                "image": None,
                "imageType": 11,
                "isMovie": 0,
                "seasons": None,
                "number": number,
                "absoluteNumber": index + 1,
                "seasonNumber": season,
                "lastUpdated": "2024-01-01 00:00:00",
                "finaleType": None,
                "year": str(self.year),
            }
            for index, (season, number) in enumerate(listed)
        ]

    def seasons(self) -> list[dict[str, Any]]:
        kinds = [("official", 1, "Aired Order", self.official)]
        if self.dvd:
            kinds.append(("dvd", 2, "DVD Order", self.dvd))
        records: list[dict[str, Any]] = []
        for kind, type_id, type_name, order in kinds:
            numbers = ([0] if self.specials and kind == "official" else []) + list(range(1, len(order) + 1))
            records += [
                {
                    "id": self.id * 100 + type_id * 10 + n,
                    "seriesId": self.id,
                    "type": {"id": type_id, "name": type_name, "type": kind, "alternateName": None},
                    "number": n,
                    "nameTranslations": [],
                    "overviewTranslations": [],
                    "image": None,
                    "imageType": 7,
                    "companies": {},
                    "lastUpdated": "2024-01-01 00:00:00",
                }
                for n in numbers
            ]
        return records


DEFAULT_SERIES = [
    FakeSeries(
        81189,
        "Breaking Bad",
        2008,
        "usa",
        ["Drama", "Crime", "Thriller"],
        [7, 13, 13, 13, 16],
        specials=9,
        tmdb_id=1396,
        imdb_id="tt0903747",
    ),
    # TheTVDB and TMDB disagree here (TMDB's final season is 28 episodes in the fake TMDB).
    FakeSeries(
        267440,
        "Attack on Titan",
        2013,
        "jpn",
        ["Anime", "Action", "Fantasy"],
        [25, 12, 22, 30],
        dvd=[13, 12, 12, 12, 22, 16, 14],
        tmdb_id=1429,
        imdb_id="tt2560140",
    ),
]


class FakeTvdb:
    def __init__(self, series: list[FakeSeries] | None = None) -> None:
        self.series = {s.id: s for s in (series or DEFAULT_SERIES)}
        self.calls: Counter[str] = Counter()
        self.logins = 0
        self.valid_tokens: set[str] = set()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v4"

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls[request.path.removeprefix("/v4/")] += 1
        if request.path != "/v4/login":
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in self.valid_tokens:
                return json_response({"status": "failure", "message": "Unauthorized", "data": None}, 401)
        response: web.StreamResponse = await handler(request)
        return response

    async def login(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("apikey") != API_KEY:
            return json_response({"status": "failure", "message": "InvalidAPIKey", "data": None}, 401)
        self.logins += 1
        token = make_token(self.logins, time.time() + TOKEN_LIFETIME)
        self.valid_tokens.add(token)
        return json_response({"status": "success", "data": {"token": token}})

    async def search(self, request: web.Request) -> web.Response:
        query = request.query.get("query", "").casefold()
        found = [s for s in self.series.values() if query and query in s.name.casefold()]
        data = [
            {
                "objectID": f"series-{s.id}",
                "aliases": [],
                "country": s.country,
                "id": f"series-{s.id}",
                "image_url": f"https://artworks.thetvdb.com/banners/posters/{s.id}-1.jpg",
                "name": s.name,
                "first_air_time": f"{s.year}-01-01",
                "overview": f"About {s.name}.",
                "primary_language": "eng",
                "primary_type": "series",
                "status": "Ended",
                "type": "series",
                "tvdb_id": str(s.id),
                "year": str(s.year),
                "slug": s.name.lower().replace(" ", "-"),
                "genres": s.genres,
                "overviews": {"eng": f"About {s.name}."},
                "translations": {"eng": s.name},
                "remote_ids": s.remote_ids(),
                "thumbnail": None,
            }
            for s in found
        ]
        return json_response(
            {
                "status": "success",
                "data": data,
                "links": {"prev": None, "self": "", "next": None, "total_items": len(data), "page_size": 20},
            }
        )

    async def extended(self, request: web.Request) -> web.Response:
        series = self.series.get(int(request.match_info["id"]))
        if series is None:
            return json_response({"status": "failure", "message": "NotFoundException", "data": None}, 404)
        data: dict[str, Any] = {
            "id": series.id,
            "name": series.name,
            "slug": series.name.lower().replace(" ", "-"),
            "image": f"https://artworks.thetvdb.com/banners/posters/{series.id}-1.jpg",
            "nameTranslations": ["eng"],
            "overviewTranslations": ["eng"],
            "aliases": [],
            "firstAired": f"{series.year}-01-01",
            "lastAired": "2023-11-05",
            "nextAired": "",
            "score": 1000,
            "status": {"id": 2, "name": "Ended", "recordType": "series", "keepUpdated": False},
            "originalCountry": series.country,
            "originalLanguage": "jpn" if series.country == "jpn" else "eng",
            "defaultSeasonType": 1,
            "isOrderRandomized": False,
            "lastUpdated": "2024-01-01 00:00:00",
            "averageRuntime": 24,
            "overview": f"About {series.name}.",
            "year": str(series.year),
            "genres": [{"id": n, "name": g, "slug": g.lower()} for n, g in enumerate(series.genres)],
            "remoteIds": series.remote_ids(),
            "seasons": series.seasons(),
            "artworks": [],
            "companies": [],
            "characters": [],
            "lists": [],
            "trailers": [],
        }
        if request.query.get("meta") == "episodes":
            data["episodes"] = series.episodes(series.official, "official")
        return json_response({"status": "success", "data": data})

    async def episodes(self, request: web.Request) -> web.Response:
        series = self.series.get(int(request.match_info["id"]))
        season_type = request.match_info["season_type"]
        if series is None or season_type not in ("official", "default", "dvd", "absolute"):
            return json_response({"status": "failure", "message": "NotFoundException", "data": None}, 404)
        order = series.dvd if season_type == "dvd" else series.official
        if season_type == "absolute":
            order = [sum(series.official)]
        everything = series.episodes(order, "official" if season_type in ("official", "default") else season_type)
        page = int(request.query.get("page", "0"))
        chunk = everything[page * 50 : (page + 1) * 50]  # TheTVDB pages by 500; smaller here to test paging
        more = (page + 1) * 50 < len(everything)
        return json_response(
            {
                "status": "success",
                "data": {"series": {"id": series.id}, "episodes": chunk},
                "links": {
                    "prev": None,
                    "self": "",
                    "next": f"page={page + 1}" if more else None,
                    "total_items": len(everything),
                    "page_size": 50,
                },
            }
        )

    async def remote(self, request: web.Request) -> web.Response:
        remote_id = request.match_info["remote_id"]
        found = [s for s in self.series.values() if s.imdb_id == remote_id]
        return json_response({"status": "success", "data": [{"series": {"id": s.id, "name": s.name}} for s in found]})

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_post("/v4/login", self.login)
        app.router.add_get("/v4/search", self.search)
        app.router.add_get("/v4/search/remoteid/{remote_id}", self.remote)
        app.router.add_get(r"/v4/series/{id:\d+}/extended", self.extended)
        app.router.add_get(r"/v4/series/{id:\d+}/episodes/{season_type}", self.episodes)
        return app


def serve_tvdb(fake: FakeTvdb | None = None) -> AbstractAsyncContextManager[FakeTvdb]:
    return serving(fake or FakeTvdb())
