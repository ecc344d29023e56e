"""Fake Sonarr and Radarr (API v3, X-Api-Key) on 127.0.0.1: status, quality profiles, root folders, tags,
lookup, add (validated as they validate it, answering 400 with their list of errors), update, commands,
series statistics and the download queue. What idkarr posted is kept for tests to read."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .fakes import json_response

SONARR_KEY = "0123456789abcdef0123456789abcdef"
RADARR_KEY = "fedcba9876543210fedcba9876543210"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeArr:
    app_name: str = "Sonarr"  # or "Radarr"
    port: int = 0
    calls: list[str] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)  # bodies of POST /series or /movie
    updated: list[dict[str, Any]] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    library: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> series or movie
    tags: list[dict[str, Any]] = field(default_factory=list)
    queue: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None
    known: dict[int, dict[str, Any]] = field(default_factory=dict)  # what lookup finds, by tvdb or tmdb id
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def key(self) -> str:
        return SONARR_KEY if self.sonarr else RADARR_KEY

    @property
    def sonarr(self) -> bool:
        return self.app_name == "Sonarr"

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.calls.append(f"{request.method} {request.path_qs}")
        if request.headers.get("X-Api-Key") != self.key:
            return web.Response(status=401, text="Unauthorized")
        if self.fail_with is not None:
            return json_response({"message": "forced failure"}, self.fail_with)
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        kind = "series" if self.sonarr else "movie"
        app.router.add_get("/api/v3/system/status", self.status)
        app.router.add_get("/api/v3/qualityprofile", self.profiles)
        app.router.add_get("/api/v3/rootfolder", self.folders)
        app.router.add_get("/api/v3/tag", self.tag_list)
        app.router.add_post("/api/v3/tag", self.tag_add)
        app.router.add_get(f"/api/v3/{kind}", self.listing)
        app.router.add_get("/api/v3/series/lookup", self.lookup)
        app.router.add_get("/api/v3/movie/lookup/tmdb", self.lookup)
        app.router.add_post(f"/api/v3/{kind}", self.add)
        app.router.add_put(f"/api/v3/{kind}/{{id}}", self.update)
        app.router.add_get(f"/api/v3/{kind}/{{id}}", self.one)
        app.router.add_post("/api/v3/command", self.command)
        app.router.add_get("/api/v3/queue/details", self.queue_details)
        return app

    async def status(self, request: web.Request) -> web.Response:
        return json_response({"appName": self.app_name, "instanceName": self.app_name, "version": "4.0.11.2680"})

    async def profiles(self, request: web.Request) -> web.Response:
        return json_response([{"id": 1, "name": "Any"}, {"id": 4, "name": "HD-1080p"}])

    async def folders(self, request: web.Request) -> web.Response:
        path = "/tv" if self.sonarr else "/movies"
        return json_response([{"id": 1, "path": path, "accessible": True, "freeSpace": 5_000_000_000_000}])

    async def tag_list(self, request: web.Request) -> web.Response:
        return json_response(self.tags)

    async def tag_add(self, request: web.Request) -> web.Response:
        body = await request.json()
        tag = {"id": len(self.tags) + 1, "label": body["label"]}
        self.tags.append(tag)
        return json_response(tag, 201)

    def _id_field(self) -> str:
        return "tvdbId" if self.sonarr else "tmdbId"

    async def listing(self, request: web.Request) -> web.Response:
        wanted = request.query.get(self._id_field())
        rows = [item for item in self.library.values() if wanted is None or str(item[self._id_field()]) == wanted]
        return json_response(rows)

    async def lookup(self, request: web.Request) -> web.Response:
        if self.sonarr:
            term = request.query.get("term", "")
            number = int(term.removeprefix("tvdb:")) if term.startswith("tvdb:") else -1
            found = self.known.get(number)
            return json_response([found] if found else [])
        found = self.known.get(int(request.query.get("tmdbId", "-1")))
        return json_response(found) if found else json_response({"message": "NotFound"}, 404)

    async def add(self, request: web.Request) -> web.Response:
        body = await request.json()
        errors = []
        if body.get("qualityProfileId") not in (1, 4):
            errors.append({"propertyName": "QualityProfileId", "errorMessage": "'Quality Profile Id' must be valid."})
        if body.get("rootFolderPath") not in ("/tv", "/movies"):
            errors.append({"propertyName": "RootFolderPath", "errorMessage": "'Root Folder Path' is not valid."})
        if not body.get("title") or not body.get(self._id_field()):
            errors.append({"propertyName": "Title", "errorMessage": "'Title' must not be empty."})
        if any(item[self._id_field()] == body.get(self._id_field()) for item in self.library.values()):
            errors.append({"propertyName": self._id_field(), "errorMessage": "This series has already been added"})
        if errors:
            return json_response(errors, 400)
        self.added.append(body)
        item = {**body, "id": next(self._ids)}
        if self.sonarr:
            item["seasons"] = [
                {**season, "statistics": {"episodeFileCount": 0, "episodeCount": 10, "totalEpisodeCount": 10}}
                for season in body.get("seasons", [])
            ]
        self.library[item["id"]] = item
        return json_response(item, 201)

    async def update(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.updated.append(body)
        self.library[int(request.match_info["id"])] = body
        return json_response(body, 202)

    async def one(self, request: web.Request) -> web.Response:
        item = self.library.get(int(request.match_info["id"]))
        return json_response(item) if item else json_response({"message": "NotFound"}, 404)

    async def command(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.commands.append(body)
        return json_response({**body, "id": len(self.commands), "status": "queued"}, 201)

    async def queue_details(self, request: web.Request) -> web.Response:
        return json_response(self.queue)

    def import_files(self, item_id: int, season: int | None = None, files: int = 10) -> None:
        """Episodes of a season imported (Sonarr's statistics change as its own import does)."""
        if self.sonarr and season is not None:
            for entry in self.library[item_id]["seasons"]:
                if entry["seasonNumber"] == season:
                    entry["statistics"]["episodeFileCount"] = files
