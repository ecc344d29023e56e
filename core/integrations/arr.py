"""Sonarr and Radarr (API v3, X-Api-Key): the download side approved requests are handed to.

Adding follows what their own web UI does: look the title up (series/lookup, movie/lookup/tmdb), send it
back with idkarr's choices (profile, folder, monitored seasons, tags, search on add). A title already there is
updated instead (the requested seasons monitored) and searched for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from core.enums import InstanceBackend
from core.errors import InvalidInput
from core.integrations.connection import Endpoint, connect
from core.integrations.types import ServerInfo, mapping
from core.upstream import Upstream
from core.upstream_errors import UpstreamBadResponse, UpstreamNotFound

__all__ = ["ArrClient", "Download", "Folder", "MovieOrder", "Profile", "SeriesOrder", "open_arr"]


@dataclass(frozen=True, slots=True)
class Profile:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Folder:
    id: int
    path: str
    free_space: int | None


@dataclass(frozen=True, slots=True)
class Download:
    """One entry of the download queue, as a person reads it."""

    title: str
    state: str
    percent: float
    time_left: str | None
    season_number: int | None = None


@dataclass(frozen=True, slots=True)
class SeriesOrder:
    tvdb_id: int
    title: str
    quality_profile_id: int
    root_folder_path: str
    seasons: Sequence[int]
    anime: bool
    tag: str | None


@dataclass(frozen=True, slots=True)
class MovieOrder:
    tmdb_id: int
    title: str
    year: int | None
    quality_profile_id: int
    root_folder_path: str
    tag: str | None
    minimum_availability: str = "released"


def _objects(body: Any, service: str, what: str) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise UpstreamBadResponse(service, f"{what} is not a list")
    return [entry for entry in body if isinstance(entry, dict)]


def _number(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _tag_label(name: str) -> str:
    # Sonarr and Radarr take tags of lower-case letters, digits and dashes only.
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    return f"idkarr-{cleaned}"[:60] or "idkarr"


class ArrClient:
    def __init__(self, upstream: Upstream, backend: InstanceBackend) -> None:
        self.upstream = upstream
        self.backend = backend
        self.service = upstream.service

    async def info(self) -> ServerInfo:
        body = await self.upstream.get_json("/api/v3/system/status")
        if not isinstance(body, dict):
            raise UpstreamBadResponse(self.service, "system/status is not an object")
        app = str(body.get("appName") or self.service)
        if app.lower() != self.backend.value:
            # Answered, but it is another program: the address is wrong, and trying again will not help.
            raise InvalidInput(
                "the address given answers as {app}, not {service}: check the URL",
                code="server.wrong_kind",
                app=app[:40],
                service=self.service,
            )
        return ServerInfo(name=str(body.get("instanceName") or app), version=str(body.get("version") or "?"))

    async def profiles(self) -> list[Profile]:
        body = await self.upstream.get_json("/api/v3/qualityprofile")
        return [
            Profile(entry["id"], str(entry.get("name") or entry["id"]))
            for entry in _objects(body, self.service, "qualityprofile")
            if isinstance(entry.get("id"), int)
        ]

    async def folders(self) -> list[Folder]:
        body = await self.upstream.get_json("/api/v3/rootfolder")
        return [
            Folder(
                entry["id"], entry["path"], entry.get("freeSpace") if isinstance(entry.get("freeSpace"), int) else None
            )
            for entry in _objects(body, self.service, "rootfolder")
            if isinstance(entry.get("id"), int) and isinstance(entry.get("path"), str)
        ]

    async def _tag(self, name: str | None) -> list[int]:
        if not name:
            return []
        label = _tag_label(name)
        for tag in _objects(await self.upstream.get_json("/api/v3/tag"), self.service, "tag"):
            if tag.get("label") == label and isinstance(tag.get("id"), int):
                return [tag["id"]]
        made = await self.upstream.request_json("POST", "/api/v3/tag", json_body={"label": label})
        return [made["id"]] if isinstance(made, dict) and isinstance(made.get("id"), int) else []

    async def add_series(self, order: SeriesOrder) -> int:
        """Send a series to Sonarr, or monitor the requested seasons of one already there; search either
        way. Returns Sonarr's id of the series."""
        wanted = set(order.seasons)
        found = _objects(
            await self.upstream.get_json("/api/v3/series", params={"tvdbId": order.tvdb_id}), self.service, "series"
        )
        found = [series for series in found if series.get("tvdbId") == order.tvdb_id]
        if found:
            series = found[0]
            for season in series.get("seasons") or []:
                if isinstance(season, dict) and season.get("seasonNumber") in wanted:
                    season["monitored"] = True
            series["monitored"] = True
            await self.upstream.request_json("PUT", f"/api/v3/series/{series['id']}", json_body=series)
            await self.upstream.request_json(
                "POST", "/api/v3/command", json_body={"name": "SeriesSearch", "seriesId": series["id"]}
            )
            return int(series["id"])
        lookup = _objects(
            await self.upstream.get_json("/api/v3/series/lookup", params={"term": f"tvdb:{order.tvdb_id}"}),
            self.service,
            "series/lookup",
        )
        template = next((entry for entry in lookup if entry.get("tvdbId") == order.tvdb_id), None)
        if template is None:
            raise UpstreamNotFound(self.service, f"Sonarr cannot find TheTVDB id {order.tvdb_id}")
        seasons = [
            {"seasonNumber": season["seasonNumber"], "monitored": season["seasonNumber"] in wanted}
            for season in template.get("seasons") or []
            if isinstance(season, dict) and isinstance(season.get("seasonNumber"), int)
        ]
        body = {
            **template,
            "tvdbId": order.tvdb_id,
            "title": template.get("title") or order.title,
            "qualityProfileId": order.quality_profile_id,
            "rootFolderPath": order.root_folder_path,
            "seasons": seasons,
            "seriesType": "anime" if order.anime else "standard",
            "seasonFolder": True,
            "monitored": True,
            "tags": await self._tag(order.tag),
            "addOptions": {"searchForMissingEpisodes": True, "ignoreEpisodesWithFiles": True},
        }
        added = await self.upstream.request_json("POST", "/api/v3/series", json_body=body)
        if not isinstance(added, dict) or not isinstance(added.get("id"), int):
            raise UpstreamBadResponse(self.service, "the added series has no id")
        return int(added["id"])

    async def add_movie(self, order: MovieOrder) -> int:
        found = _objects(
            await self.upstream.get_json("/api/v3/movie", params={"tmdbId": order.tmdb_id}), self.service, "movie"
        )
        found = [movie for movie in found if movie.get("tmdbId") == order.tmdb_id]
        if found:
            movie = found[0]
            if not movie.get("monitored"):
                movie["monitored"] = True
                await self.upstream.request_json("PUT", f"/api/v3/movie/{movie['id']}", json_body=movie)
            await self.upstream.request_json(
                "POST", "/api/v3/command", json_body={"name": "MoviesSearch", "movieIds": [movie["id"]]}
            )
            return int(movie["id"])
        template = await self.upstream.get_json("/api/v3/movie/lookup/tmdb", params={"tmdbId": order.tmdb_id})
        if not isinstance(template, dict):
            raise UpstreamNotFound(self.service, f"Radarr cannot find TMDB id {order.tmdb_id}")
        body = {
            **template,
            "tmdbId": order.tmdb_id,
            "title": template.get("title") or order.title,
            "year": template.get("year") or order.year,
            "qualityProfileId": order.quality_profile_id,
            "rootFolderPath": order.root_folder_path,
            "minimumAvailability": order.minimum_availability,
            "monitored": True,
            "tags": await self._tag(order.tag),
            "addOptions": {"searchForMovie": True},
        }
        added = await self.upstream.request_json("POST", "/api/v3/movie", json_body=body)
        if not isinstance(added, dict) or not isinstance(added.get("id"), int):
            raise UpstreamBadResponse(self.service, "the added movie has no id")
        return int(added["id"])

    async def series_seasons(self, series_id: int) -> dict[int, tuple[int, int]]:
        """Season number -> (episodes with files, episodes aired) of a series, from its statistics."""
        series = await self.upstream.get_json(f"/api/v3/series/{series_id}")
        seasons: dict[int, tuple[int, int]] = {}
        for season in series.get("seasons") or [] if isinstance(series, dict) else []:
            stats = season.get("statistics") if isinstance(season, dict) else None
            number = season.get("seasonNumber") if isinstance(season, dict) else None
            if isinstance(number, int) and isinstance(stats, dict):
                files = stats.get("episodeFileCount")
                aired = stats.get("episodeCount")
                if isinstance(files, int) and isinstance(aired, int):
                    seasons[number] = (files, aired)
        return seasons

    async def queue(self, external_id: int) -> list[Download]:
        """What is downloading for a series or film (Sonarr or Radarr's id of it)."""
        key = "seriesId" if self.backend == InstanceBackend.SONARR else "movieId"
        body = await self.upstream.get_json("/api/v3/queue/details", params={key: external_id})
        downloads = []
        for entry in _objects(body, self.service, "queue"):
            size, left = entry.get("size"), entry.get("sizeleft")
            percent = (
                100.0 * (size - left) / size
                if isinstance(size, int | float) and size and isinstance(left, int | float)
                else 0.0
            )
            episode = mapping(entry.get("episode"))
            downloads.append(
                Download(
                    title=str(entry.get("title") or "?")[:200],
                    state=str(entry.get("trackedDownloadState") or entry.get("status") or "unknown"),
                    percent=round(max(0.0, min(100.0, percent)), 1),
                    time_left=str(entry["timeleft"]) if entry.get("timeleft") else None,
                    season_number=episode.get("seasonNumber") if isinstance(episode.get("seasonNumber"), int) else None,
                )
            )
        return downloads


@asynccontextmanager
async def open_arr(backend: InstanceBackend, endpoint: Endpoint) -> AsyncIterator[ArrClient]:
    service = "Sonarr" if backend == InstanceBackend.SONARR else "Radarr"
    async with connect(service, endpoint, {"X-Api-Key": endpoint.token}) as upstream:
        yield ArrClient(upstream, backend)
