"""Hand-off: approved requests sent to the Sonarr or Radarr behind their instance.

Approval writes a `handoff` row in its own transaction (`approve_row`), so an approved request is never
forgotten; this sends them. Due rows are claimed with SKIP LOCKED and a lease (their due time pushed ahead,
committed before anything is sent), so in several processes each is sent once, and one whose sender died is
taken again when its lease ends. A refusal (the key, a missing profile, an unknown id) fails the request at
once with the reason; an outage is retried with backoff and fails it after `handoff_attempts`. Retrying a
failed request (chat or CLI) approves it again, which makes its row due again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import text

from core.config import SyncSettings
from core.db.session import Database
from core.enums import ContentType, InstanceBackend
from core.errors import AlreadyDecided, IdkarrError
from core.integrations.arr import Download, MovieOrder, SeriesOrder, open_arr
from core.integrations.connection import Endpoint
from core.pubsub import OUTBOX, first_of, woken_by
from core.secretbox import SecretBox
from core.services import requests
from core.services.requests.common import season_numbers
from core.upstream_errors import UpstreamUnavailable

__all__ = ["HandoffWorker", "download_queue", "send_due"]

log = logging.getLogger(__name__)

_LEASE = timedelta(minutes=5)
# Due rows of approved requests, leased; with everything sending needs, read in the same statement.
_CLAIM = text("""
    WITH due AS (
        SELECT h.request_id FROM handoff h JOIN request r ON r.id = h.request_id
        WHERE h.sent_at IS NULL AND h.due_at <= now() AND r.status = 'approved'
        ORDER BY h.due_at LIMIT :batch
        FOR UPDATE OF h SKIP LOCKED
    )
    UPDATE handoff h SET due_at = now() + CAST(:lease AS interval)
    FROM due, request r
    JOIN instance i ON i.id = r.instance_id
    JOIN "user" u ON u.id = r.requested_by_id
    LEFT JOIN quality_profile q ON q.id = r.quality_profile_id
    LEFT JOIN root_folder f ON f.id = r.root_folder_id
    WHERE h.request_id = due.request_id AND r.id = h.request_id
    RETURNING h.request_id, h.attempts, r.content_type, r.tmdb_id, r.tvdb_id, r.title, r.year, r.seasons,
              r.media_id, i.backend, i.base_url, i.api_key_encrypted, i.name AS instance, q.external_id AS profile,
              f.path AS folder, u.username
""")
_SENT = text("""
    WITH sent AS (
        UPDATE handoff SET sent_at = now(), external_id = :external, last_error = NULL, attempts = attempts + 1
        WHERE request_id = :request RETURNING request_id
    )
    UPDATE media SET external_service_id = :external, updated_at = now() WHERE id = :media
""")
_LATER = text("""
    UPDATE handoff SET attempts = attempts + 1, last_error = :error, due_at = now() + CAST(:wait AS interval)
    WHERE request_id = :request
""")


@dataclass(frozen=True)
class _Due:
    request_id: int
    attempts: int
    content_type: ContentType
    tmdb_id: int | None
    tvdb_id: int | None
    title: str
    year: int | None
    seasons: list[dict[str, Any]]
    media_id: int | None
    backend: InstanceBackend
    base_url: str | None
    api_key_encrypted: str | None
    instance: str
    profile: int | None
    folder: str | None
    username: str


class _Refused(IdkarrError):
    """Sending cannot work as things are set up: fail the request with this reason."""


async def _send(due: _Due, box: SecretBox, settings: SyncSettings) -> int:
    if due.backend == InstanceBackend.NONE or not due.base_url or not due.api_key_encrypted:
        raise _Refused(f"instance {due.instance} has no Sonarr or Radarr behind it any more")
    if due.profile is None or due.folder is None:
        raise _Refused(f"instance {due.instance} has no quality profile or root folder from its backend")
    endpoint = Endpoint(due.base_url, box.open(due.api_key_encrypted), settings.timeout_seconds)
    async with open_arr(due.backend, endpoint) as client:
        if due.backend == InstanceBackend.RADARR:
            if due.tmdb_id is None:
                raise _Refused("Radarr needs the film's TMDB id, and this request has none")
            return await client.add_movie(
                MovieOrder(due.tmdb_id, due.title, due.year, due.profile, due.folder, tag=due.username)
            )
        if due.tvdb_id is None:
            raise _Refused("Sonarr needs the show's TheTVDB id, and this request has none")
        order = SeriesOrder(
            tvdb_id=due.tvdb_id,
            title=due.title,
            quality_profile_id=due.profile,
            root_folder_path=due.folder,
            seasons=sorted(season_numbers(due.seasons)),
            anime=due.content_type == ContentType.ANIME,
            tag=due.username,
        )
        return await client.add_series(order)


async def _fail(database: Database, request_id: int, reason: str) -> None:
    with suppress(AlreadyDecided):  # cancelled or decided meanwhile: nothing to say
        await requests.mark_failed(database, request_id, reason=reason)


async def send_due(
    database: Database, box: SecretBox, settings: SyncSettings = SyncSettings(), *, batch: int = 20
) -> int:
    """Send what is due; returns how many were handled (sent, failed or put off)."""
    async with database.transaction() as session:
        rows = (
            await session.execute(_CLAIM, {"batch": batch, "lease": f"{int(_LEASE.total_seconds())} seconds"})
        ).all()
    due = [
        _Due(**{**row._mapping, "backend": InstanceBackend(row.backend), "content_type": ContentType(row.content_type)})
        for row in rows
    ]
    await asyncio.gather(*(_one(database, box, settings, item) for item in due))
    return len(due)


async def _one(database: Database, box: SecretBox, settings: SyncSettings, due: _Due) -> None:
    try:
        external = await _send(due, box, settings)
    except UpstreamUnavailable as error:
        attempts = due.attempts + 1
        if attempts >= settings.handoff_attempts:
            await _fail(database, due.request_id, f"{error} (after {attempts} attempts)")
            return
        wait = min(3600, 30 * 2 ** (attempts - 1))
        async with database.transaction() as session:
            await session.execute(
                _LATER, {"request": due.request_id, "error": str(error)[:500], "wait": f"{wait} seconds"}
            )
        log.info("event=handoff_retry request=%d attempt=%d wait=%d", due.request_id, attempts, wait)
        return
    except IdkarrError as error:
        await _fail(database, due.request_id, str(error))
        log.info("event=handoff_refused request=%d reason=%r", due.request_id, str(error))
        return
    async with database.transaction() as session:
        await session.execute(_SENT, {"request": due.request_id, "external": external, "media": due.media_id})
    log.info("event=handoff_sent request=%d backend=%s id=%d", due.request_id, due.backend.value, external)


_QUEUE_OF = text("""
    SELECT h.external_id, i.backend, i.base_url, i.api_key_encrypted
    FROM handoff h JOIN request r ON r.id = h.request_id JOIN instance i ON i.id = r.instance_id
    WHERE h.request_id = :request AND h.sent_at IS NOT NULL AND i.backend <> 'none'
""")


async def download_queue(
    database: Database, box: SecretBox, request_id: int, settings: SyncSettings = SyncSettings()
) -> Sequence[Download] | None:
    """What Sonarr or Radarr is downloading for a request: None when it was not sent to one."""
    async with database.session() as session:
        row = (await session.execute(_QUEUE_OF, {"request": request_id})).first()
    if row is None or row.external_id is None or not row.api_key_encrypted or not row.base_url:
        return None
    endpoint = Endpoint(row.base_url, box.open(row.api_key_encrypted), min(settings.timeout_seconds, 5.0))
    async with open_arr(InstanceBackend(row.backend), endpoint) as client:
        return await client.queue(row.external_id)


class HandoffWorker:
    """Sends due hand-offs: woken by each committed change (an approval leaves a notification, whose signal
    arrives here too), and every `handoff_seconds` for retries that come due."""

    def __init__(self, database: Database, box: SecretBox, settings: SyncSettings) -> None:
        self.database = database
        self.box = box
        self.settings = settings

    async def run(self, stop: asyncio.Event, *, redis: aioredis.Redis | None = None, prefix: str = "idkarr:") -> None:
        async with woken_by(redis, prefix, [OUTBOX]) as wake:
            while not stop.is_set():
                wake.clear()
                try:
                    while await send_due(self.database, self.box, self.settings) and not stop.is_set():
                        pass
                except Exception:
                    log.exception("event=handoff_failed")
                await first_of(stop, wake, seconds=self.settings.handoff_seconds)
