"""A fake TMDB v3 on 127.0.0.1: the endpoints idkarr calls, answering full objects in the documented shapes.

Faults can be queued per request (`faults`): an HTTP status (429 carries Retry-After, as TMDB's does),
"slow" (answers after the client's timeout), "malformed" (broken JSON) or "huge" (an oversized body).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .fakes import TMDB_CONFIGURATION, json_response, serving

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_KEY = "fake-tmdb-key-4f1c2a"
READ_TOKEN = "eyJhbGciOiJIUzI1NiJ9.fake-read-token"

GENRES_MOVIE = [
    {"id": 28, "name": "Action"},
    {"id": 12, "name": "Adventure"},
    {"id": 16, "name": "Animation"},
    {"id": 35, "name": "Comedy"},
    {"id": 80, "name": "Crime"},
    {"id": 18, "name": "Drama"},
    {"id": 878, "name": "Science Fiction"},
    {"id": 53, "name": "Thriller"},
]
GENRES_TV = [
    {"id": 10759, "name": "Action & Adventure"},
    {"id": 16, "name": "Animation"},
    {"id": 35, "name": "Comedy"},
    {"id": 80, "name": "Crime"},
    {"id": 18, "name": "Drama"},
    {"id": 10765, "name": "Sci-Fi & Fantasy"},
]


@dataclass
class FakeTitle:
    media_type: str  # "movie" or "tv"
    id: int
    name: str
    date: str
    genre_ids: list[int]
    popularity: float
    vote_average: float = 8.0
    vote_count: int = 1000
    original_language: str = "en"
    origin_country: list[str] = field(default_factory=lambda: ["US"])
    imdb_id: str | None = None
    tvdb_id: int | None = None
    keywords: list[dict[str, Any]] = field(default_factory=list)
    seasons: list[int] = field(default_factory=list)  # episode counts of seasons 1..n
    specials: int = 0

    def result(self, *, with_media_type: bool = False) -> dict[str, Any]:
        """A list item as search, popular, trending and discover return it."""
        common: dict[str, Any] = {
            "adult": False,
            "backdrop_path": f"/backdrop{self.id}.jpg",
            "genre_ids": self.genre_ids,
            "id": self.id,
            "original_language": self.original_language,
            "overview": f"Overview of {self.name}.",
            "popularity": self.popularity,
            "poster_path": f"/poster{self.id}.jpg",
            "vote_average": self.vote_average,
            "vote_count": self.vote_count,
        }
        if self.media_type == "movie":
            common.update(original_title=self.name, release_date=self.date, title=self.name, video=False)
        else:
            common.update(
                origin_country=self.origin_country, original_name=self.name, first_air_date=self.date, name=self.name
            )
        if with_media_type:
            common["media_type"] = self.media_type
        return common

    def details(self, append: set[str]) -> dict[str, Any]:
        genres = GENRES_MOVIE + GENRES_TV
        body: dict[str, Any] = {
            **self.result(),
            "genres": [g for g in genres if g["id"] in self.genre_ids][: len(self.genre_ids)],
            "homepage": "",
            "production_companies": [{"id": 1, "logo_path": None, "name": "Studio", "origin_country": "US"}],
            "production_countries": [{"iso_3166_1": "US", "name": "United States of America"}],
            "spoken_languages": [{"english_name": "English", "iso_639_1": "en", "name": "English"}],
            "tagline": "",
        }
        del body["genre_ids"]
        if self.media_type == "movie":
            body.update(
                belongs_to_collection=None,
                budget=63000000,
                imdb_id=self.imdb_id,
                origin_country=["US"],
                revenue=463517383,
                runtime=136,
                status="Released",
            )
            if "external_ids" in append:
                body["external_ids"] = {
                    "imdb_id": self.imdb_id,
                    "wikidata_id": "Q83495",
                    "facebook_id": None,
                    "instagram_id": None,
                    "twitter_id": None,
                }
            if "keywords" in append:
                body["keywords"] = {"keywords": self.keywords}
        else:
            seasons = (
                [
                    {
                        "air_date": self.date,
                        "episode_count": self.specials,
                        "id": self.id * 100,
                        "name": "Specials",
                        "overview": "",
                        "poster_path": None,
                        "season_number": 0,
                        "vote_average": 0,
                    }
                ]
                if self.specials
                else []
            )
            seasons += [
                {
                    "air_date": self.date,
                    "episode_count": count,
                    "id": self.id * 100 + number,
                    "name": f"Season {number}",
                    "overview": "",
                    "poster_path": f"/s{number}.jpg",
                    "season_number": number,
                    "vote_average": 8.1,
                }
                for number, count in enumerate(self.seasons, start=1)
            ]
            body.update(
                created_by=[],
                episode_run_time=[47],
                in_production=False,
                languages=["en"],
                last_air_date=self.date,
                last_episode_to_air=None,
                next_episode_to_air=None,
                networks=[{"id": 174, "logo_path": None, "name": "Network", "origin_country": "US"}],
                number_of_episodes=sum(self.seasons),
                number_of_seasons=len(self.seasons),
                seasons=seasons,
                status="Ended",
                type="Scripted",
            )
            if "external_ids" in append:
                body["external_ids"] = {
                    "imdb_id": self.imdb_id,
                    "freebase_mid": None,
                    "freebase_id": None,
                    "tvdb_id": self.tvdb_id,
                    "tvrage_id": None,
                    "wikidata_id": None,
                    "facebook_id": None,
                    "instagram_id": None,
                    "twitter_id": None,
                }
            if "keywords" in append:
                body["keywords"] = {"results": self.keywords}
        return body


ANIME = {"id": 210024, "name": "anime"}

DEFAULT_TITLES = [
    FakeTitle("movie", 603, "The Matrix", "1999-03-30", [28, 878], 85.0, 8.2, 26000, imdb_id="tt0133093"),
    FakeTitle("movie", 550, "Fight Club", "1999-10-15", [18, 53], 70.0, 8.4, 30000, imdb_id="tt0137523"),
    FakeTitle("movie", 604, "The Matrix Reloaded", "2003-05-15", [28, 878], 40.0, 7.0, 11000, imdb_id="tt0234215"),
    FakeTitle(
        "tv",
        1396,
        "Breaking Bad",
        "2008-01-20",
        [18, 80],
        95.0,
        8.9,
        15000,
        imdb_id="tt0903747",
        tvdb_id=81189,
        seasons=[7, 13, 13, 13, 16],
        specials=9,
    ),
    FakeTitle(
        "tv",
        1429,
        "Attack on Titan",
        "2013-04-07",
        [16, 10759, 10765],
        90.0,
        8.7,
        6500,
        original_language="ja",
        origin_country=["JP"],
        imdb_id="tt2560140",
        tvdb_id=267440,
        keywords=[ANIME, {"id": 9715, "name": "superhero"}],
        seasons=[25, 12, 22, 28],
    ),
    # Animation from Japan without the keyword: still anime by idkarr's rule.
    FakeTitle(
        "tv",
        30991,
        "Cowboy Bebop",
        "1998-04-03",
        [16, 10759],
        60.0,
        8.4,
        2000,
        original_language="ja",
        origin_country=["JP"],
        imdb_id="tt0213338",
        tvdb_id=76885,
        seasons=[26],
    ),
]


class FakeTmdb:
    def __init__(self, titles: list[FakeTitle] | None = None, *, slow_seconds: float = 2.0) -> None:
        self.titles = list(titles or DEFAULT_TITLES)
        self.by_key = {(t.media_type, t.id): t for t in self.titles}
        self.calls: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()  # the language each call asked for ("" where none)
        self.faults: list[int | str] = []
        self.hold: asyncio.Event | None = None  # when set, requests wait for it (to pile up concurrency)
        self.arrivals: list[float] = []  # loop time of every request, for rate measurements
        self.slow_seconds = slow_seconds
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/3"

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    # --- plumbing ---------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.arrivals.append(asyncio.get_running_loop().time())
        self.calls[request.path.removeprefix("/3/")] += 1
        self.languages[request.query.get("language", "")] += 1
        if self.hold is not None:
            await self.hold.wait()
        authorised = request.query.get("api_key") == API_KEY or (
            request.headers.get("Authorization") == f"Bearer {READ_TOKEN}"
        )
        if not authorised:
            return json_response(
                {
                    "status_code": 7,
                    "status_message": "Invalid API key: You must be granted a valid key.",
                    "success": False,
                },
                401,
            )
        if self.faults:
            fault = self.faults.pop(0)
            if fault == 429:
                return json_response(
                    {
                        "status_code": 25,
                        "status_message": "Your request count (41) is over the allowed limit of 40.",
                        "success": False,
                    },
                    429,
                    {"Retry-After": "1"},
                )
            if isinstance(fault, int):
                return json_response(
                    {
                        "status_code": 11,
                        "status_message": "Internal error: Something went wrong, contact TMDb.",
                        "success": False,
                    },
                    fault,
                )
            if fault == "slow":
                await asyncio.sleep(self.slow_seconds)
            elif fault == "malformed":
                return web.Response(body=b'{"page": 1, "results": [', content_type="application/json")
            elif fault == "huge-stream":
                # Chunked, with no Content-Length: the client can only stop reading as the bytes come in.
                stream = web.StreamResponse(headers={"Content-Type": "application/json"})
                stream.enable_chunked_encoding()
                await stream.prepare(request)
                await stream.write(b'{"page": 1, "results": [')
                for _ in range(2000):
                    await stream.write(b'{"id": 1, "title": "' + b"x" * 1000 + b'"},')
                await stream.write_eof(b"{}]}")
                return stream
            elif fault == "huge":
                filler = [{"id": n, "title": "x" * 200} for n in range(60000)]
                return json_response({"page": 1, "results": filler, "total_pages": 1, "total_results": 60000})
        return await handler(request)

    def _not_found(self) -> web.Response:
        return json_response(
            {"status_code": 34, "status_message": "The resource you requested could not be found.", "success": False},
            404,
        )

    def _paged(self, request: web.Request, titles: list[FakeTitle], *, media_type: bool = False) -> web.Response:
        page = int(request.query.get("page", "1"))
        if not 1 <= page <= 500:
            return json_response(
                {
                    "status_code": 22,
                    "status_message": "Invalid page: Pages start at 1 and max at "
                    "500. They are expected to be an integer.",
                    "success": False,
                },
                422,
            )
        ordered = sorted(titles, key=lambda t: -t.popularity)
        chunk = ordered[(page - 1) * 20 : page * 20]
        return json_response(
            {
                "page": page,
                "results": [t.result(with_media_type=media_type) for t in chunk],
                "total_pages": max(1, -(-len(ordered) // 20)),
                "total_results": len(ordered),
            }
        )

    def _of(self, media_type: str) -> list[FakeTitle]:
        return [t for t in self.titles if t.media_type == media_type]

    # --- endpoints --------------------------------------------------------------------------------

    async def configuration(self, request: web.Request) -> web.Response:
        return json_response(TMDB_CONFIGURATION)

    async def genres(self, request: web.Request) -> web.Response:
        return json_response({"genres": GENRES_MOVIE if request.match_info["kind"] == "movie" else GENRES_TV})

    async def trending(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        titles = self.titles if kind == "all" else self._of(kind)
        return self._paged(request, titles, media_type=True)

    async def lists(self, request: web.Request) -> web.Response:
        return self._paged(request, self._of(request.path.split("/")[2]))

    async def discover(self, request: web.Request) -> web.Response:
        titles = self._of(request.match_info["kind"])
        keywords = request.query.get("with_keywords")
        if keywords:
            titles = [t for t in titles if any(str(k["id"]) == keywords for k in t.keywords)]
        genre = request.query.get("with_genres")
        if genre:
            titles = [t for t in titles if int(genre) in t.genre_ids]
        return self._paged(request, titles)

    def _matching(self, request: web.Request, titles: list[FakeTitle]) -> list[FakeTitle]:
        query = request.query.get("query", "").casefold()
        return [t for t in titles if query and query in t.name.casefold()]

    async def search(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        if kind == "multi":
            return self._paged(request, self._matching(request, self.titles), media_type=True)
        return self._paged(request, self._matching(request, self._of(kind)))

    async def details(self, request: web.Request) -> web.Response:
        title = self.by_key.get((request.match_info["kind"], int(request.match_info["id"])))
        if title is None:
            return self._not_found()
        append = set(filter(None, request.query.get("append_to_response", "").split(",")))
        return json_response(title.details(append))

    async def season(self, request: web.Request) -> web.Response:
        title = self.by_key.get(("tv", int(request.match_info["id"])))
        number = int(request.match_info["number"])
        if title is None or not 1 <= number <= len(title.seasons):
            return self._not_found()
        episodes: list[dict[str, Any]] = [
            {
                "air_date": title.date,
                "episode_number": n,
                "episode_type": "standard",
                "id": title.id * 1000 + n,
                "name": f"Episode {n}",
                "overview": "",
                "production_code": "",
                "runtime": 47,
                "season_number": number,
                "show_id": title.id,
                "still_path": None,
                "vote_average": 8.0,
                "vote_count": 10,
                "crew": [],
                "guest_stars": [],
            }
            for n in range(1, title.seasons[number - 1] + 1)
        ]
        return json_response(
            {
                "_id": f"s{title.id}{number}",
                "air_date": title.date,
                "episodes": episodes,
                "name": f"Season {number}",
                "overview": "",
                "id": title.id * 100 + number,
                "poster_path": None,
                "season_number": number,
                "vote_average": 8.1,
            }
        )

    async def related(self, request: web.Request) -> web.Response:
        kind, title_id = request.match_info["kind"], int(request.match_info["id"])
        source = self.by_key.get((kind, title_id))
        if source is None:
            return self._not_found()
        others = [t for t in self._of(kind) if t is not source and set(t.genre_ids) & set(source.genre_ids)]
        return self._paged(request, others)

    async def find(self, request: web.Request) -> web.Response:
        value, source = request.match_info["external_id"], request.query.get("external_source")
        found = [
            t
            for t in self.titles
            if (source == "imdb_id" and t.imdb_id == value) or (source == "tvdb_id" and str(t.tvdb_id) == value)
        ]
        return json_response(
            {
                "movie_results": [t.result(with_media_type=True) for t in found if t.media_type == "movie"],
                "person_results": [],
                "tv_results": [t.result(with_media_type=True) for t in found if t.media_type == "tv"],
                "tv_episode_results": [],
                "tv_season_results": [],
            }
        )

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/3/configuration", self.configuration)
        app.router.add_get("/3/genre/{kind}/list", self.genres)
        app.router.add_get("/3/trending/{kind}/{window}", self.trending)
        app.router.add_get("/3/discover/{kind}", self.discover)
        app.router.add_get("/3/search/{kind}", self.search)
        app.router.add_get("/3/find/{external_id}", self.find)
        for kind in ("movie", "tv"):
            for name in ("popular", "top_rated", "upcoming", "now_playing", "airing_today", "on_the_air"):
                app.router.add_get(f"/3/{kind}/{name}", self.lists)
        app.router.add_get(r"/3/{kind}/{id:\d+}", self.details)
        app.router.add_get(r"/3/tv/{id:\d+}/season/{number:\d+}", self.season)
        app.router.add_get(r"/3/{kind}/{id:\d+}/{relation:similar|recommendations}", self.related)
        return app


def serve_tmdb(fake: FakeTmdb | None = None) -> AbstractAsyncContextManager[FakeTmdb]:
    return serving(fake or FakeTmdb())


def synthetic_titles(count: int) -> list[FakeTitle]:
    """`count` distinct made-up films for load tests."""
    return [
        FakeTitle(
            "movie",
            100000 + n,
            f"Synthetic Film {n:04d}",
            f"{1950 + n % 70}-01-01",
            [18],
            float(count - n),
            imdb_id=f"tt9{n:07d}",
        )
        for n in range(count)
    ]
