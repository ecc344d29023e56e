"""What the download side and the media servers push: Sonarr and Radarr's imports make requests available
at once, without waiting for the next library sync."""

from __future__ import annotations

import logging
from contextlib import suppress

from sqlalchemy import text

from core.config import SyncSettings
from core.db.session import Database
from core.enums import InstanceBackend
from core.errors import AlreadyDecided
from core.integrations.arr import open_arr
from core.integrations.connection import Endpoint
from core.secretbox import SecretBox
from core.services import requests
from core.services.requests.common import season_numbers

__all__ = ["movie_imported", "series_imported"]

log = logging.getLogger(__name__)

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
