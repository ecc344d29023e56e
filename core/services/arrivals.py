"""What the download side and the media servers push: Sonarr and Radarr's imports make requests available
at once, without waiting for the next library sync."""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy import text

from core.config import SyncSettings
from core.db.session import Database
from core.enums import ActivityType, InstanceBackend
from core.errors import AlreadyDecided
from core.integrations.arr import open_arr
from core.integrations.connection import Endpoint
from core.secretbox import SecretBox
from core.services import activity_log, requests
from core.services.requests.common import season_numbers

__all__ = ["ArrEvent", "arr_event", "download_started", "files_deleted", "movie_imported", "series_imported"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArrEvent:
    """A Sonarr or Radarr webhook, as far as it matters: the event's name (theirs), whether it is Radarr's (a
    film, by TMDB id) or Sonarr's (a show, by TheTVDB id), their own id of the title, the release grabbed, and
    whether a deletion took the files with it."""

    name: str
    film: bool
    title_id: int
    arr_id: int
    release: str = ""
    deleted_files: bool = False


async def arr_event(
    database: Database, box: SecretBox, event: ArrEvent, settings: SyncSettings = SyncSettings()
) -> list[int]:
    """What a Sonarr or Radarr event does; returns the requests it touched. Both name their events alike:
    Grab, Download (an import or an upgrade), SeriesDelete or MovieDelete; anything else (Test, Rename, ...)
    changes nothing."""
    if event.name == "Download":
        if event.film:
            return await movie_imported(database, event.title_id)
        return await series_imported(database, box, event.title_id, event.arr_id, settings)
    if event.name == "Grab":
        return await download_started(database, film=event.film, external_id=event.title_id, release=event.release)
    if event.name in ("SeriesDelete", "MovieDelete") and event.deleted_files:
        service = "Radarr" if event.film else "Sonarr"
        return await files_deleted(database, film=event.film, external_id=event.title_id, service=service)
    return []


_OPEN_FILMS = text("""
    SELECT id FROM request WHERE status IN ('approved', 'partial') AND content_type = 'movie' AND tmdb_id = :tmdb
    ORDER BY id
""")
# Open requests for the show, with the Sonarr they were sent to (the one that imported, if any was).
_OPEN_SHOWS = text("""
    SELECT r.id, r.seasons, i.backend, i.base_url, i.api_key_encrypted, h.external_id
    FROM request r
    LEFT JOIN handoff h ON h.request_id = r.id
    LEFT JOIN instance i ON i.id = r.instance_id
    WHERE r.status IN ('approved', 'partial') AND r.content_type <> 'movie' AND r.tvdb_id = :tvdb
    ORDER BY r.id
""")


async def movie_imported(database: Database, tmdb_id: int) -> list[int]:
    """Radarr imported a film: its open requests are available. Returns the requests it made available."""
    async with database.session() as session:
        waiting = list((await session.execute(_OPEN_FILMS, {"tmdb": tmdb_id})).scalars())
    done = []
    for request_id in waiting:
        with suppress(AlreadyDecided):
            await requests.mark_available(database, request_id)
            done.append(request_id)
    return done


async def series_imported(
    database: Database,
    box: SecretBox,
    tvdb_id: int,
    series_id: int,
    settings: SyncSettings = SyncSettings(),
) -> list[int]:
    """Sonarr imported episodes of a show: each open request for it gets the seasons Sonarr now holds whole
    (as many files as episodes aired), read from the Sonarr the request was sent to."""
    async with database.session() as session:
        waiting = list((await session.execute(_OPEN_SHOWS, {"tvdb": tvdb_id})).all())
    done = []
    complete_by_sonarr: dict[str, set[int]] = {}
    for row in waiting:
        if row.backend != InstanceBackend.SONARR.value or not row.base_url or not row.api_key_encrypted:
            continue
        if row.base_url not in complete_by_sonarr:
            endpoint = Endpoint(row.base_url, box.open(row.api_key_encrypted), settings.timeout_seconds)
            async with open_arr(InstanceBackend.SONARR, endpoint) as client:
                seasons = await client.series_seasons(row.external_id or series_id)
            complete_by_sonarr[row.base_url] = {n for n, (files, aired) in seasons.items() if aired and files >= aired}
        arrived = sorted(complete_by_sonarr[row.base_url] & season_numbers(row.seasons))
        if not arrived:
            continue
        with suppress(AlreadyDecided):
            await requests.mark_available(database, row.id, seasons=arrived)
            done.append(row.id)
    return done


# Requests still waiting for a title, by TMDB id for a film or TheTVDB id for a show.
_WAITING_FOR = text("""
    SELECT r.id, r.content_type, r.tmdb_id, r.tvdb_id, r.imdb_id, r.title, r.year, r.poster, r.media_id,
           r.requested_by_id
    FROM request r
    WHERE r.status IN ('approved', 'partial')
      AND CASE WHEN :film THEN r.content_type = 'movie' AND r.tmdb_id = :id
               ELSE r.content_type <> 'movie' AND r.tvdb_id = :id END
    ORDER BY r.id
""")
_FULFILLED_BY = text("""
    SELECT id FROM request
    WHERE status IN ('available', 'partial')
      AND CASE WHEN :film THEN content_type = 'movie' AND tmdb_id = :id
               ELSE content_type <> 'movie' AND tvdb_id = :id END
    ORDER BY id
""")


async def download_started(database: Database, *, film: bool, external_id: int, release: str) -> list[int]:
    """Sonarr or Radarr grabbed a release for a title: download_started in the feed of each request waiting
    for it. Returns those requests."""
    async with database.transaction() as session:
        waiting = list((await session.execute(_WAITING_FOR, {"film": film, "id": external_id})).all())
        for request in waiting:
            await activity_log.write(
                session,
                type=ActivityType.DOWNLOAD_STARTED,
                user_id=request.requested_by_id,
                request_id=request.id,
                media_id=request.media_id,
                content_type=request.content_type,
                tmdb_id=request.tmdb_id,
                tvdb_id=request.tvdb_id,
                imdb_id=request.imdb_id,
                title=request.title,
                year=request.year,
                poster=request.poster,
                details={"release": " ".join(release.split())[:300]} if release.strip() else None,
            )
    return [request.id for request in waiting]


async def files_deleted(database: Database, *, film: bool, external_id: int, service: str) -> list[int]:
    """Sonarr or Radarr deleted a title with its files: requests it had fulfilled are no longer available
    (their people are told; a retry sends them again)."""
    async with database.session() as session:
        fulfilled = list((await session.execute(_FULFILLED_BY, {"film": film, "id": external_id})).scalars())
    removed = []
    for request_id in fulfilled:
        with suppress(AlreadyDecided):
            await requests.mark_removed(database, request_id, server=service)
            removed.append(request_id)
    return removed
