"""Library sync: what a media server holds, into idkarr's library, and the requests it fulfils.

A server's films and shows are read page by page and written as they arrive, one statement per page
(`library_item`: which title each item is, how many episodes of each season it has). A row is rewritten only
when it changed, so a sync of an unchanged library writes nothing, and only the titles whose items changed
have their availability worked out again: per season from the episode counts of every server (available, or
partially when fewer than the season has), per title from its seasons, `deleted` when no server holds it any
more. Requests waiting for those titles are then marked available or partial through the one service that
says so (`requests.mark_available`), which notifies their requester and watchers.

A full sync also removes the items the server no longer lists, at its end only: a sync that fails or is
killed half-way has written what it read and removed nothing, and the next run starts from the same cursor
(`synced_until` moves only on success). An incremental sync reads what changed since that cursor.

Each server is synced by one process at a time (a PostgreSQL advisory lock), whichever idkarr runs it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import func, select, text, update

from core.config import SyncSettings
from core.db.models import MediaServer
from core.db.session import Database
from core.enums import ContentType, RequestStatus
from core.errors import AlreadyDecided, IdkarrError, InvalidInput, NotFound
from core.integrations.types import LibraryItem
from core.metadata.provider import ExternalIds
from core.metrics import SYNC_SECONDS
from core.secretbox import SecretBox
from core.services import requests
from core.services.requests.common import season_numbers
from core.services.servers import media_endpoint, open_media_client
from core.services.watched_sync import sync_watched
from core.upstream_errors import UpstreamError

if TYPE_CHECKING:
    from core.services.discovery import DiscoveryService

__all__ = ["SyncResult", "find_server", "sync_lock_key", "sync_server"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]  # items read so far, total when known


@dataclass
class SyncResult:
    server: str
    full: bool
    items: int = 0  # films and shows read
    changed: int = 0  # library items added or changed
    unidentified: int = 0  # items with no id a title can be matched by
    removed: int = 0  # items gone from the server (full sync)
    titles_updated: int = 0  # titles whose availability changed
    requests_fulfilled: list[int] = field(default_factory=list)
    requests_removed: list[int] = field(default_factory=list)
    watched_plays: int = 0  # plays new or changed (watched sync)
    watchlists_moved: int = 0
    seconds: float = 0.0
    skipped: str | None = None  # why nothing ran (another process holds the server's sync)

    def as_json(self) -> dict[str, object]:
        return {
            "server": self.server,
            "full": self.full,
            "items": self.items,
            "changed": self.changed,
            "unidentified": self.unidentified,
            "removed": self.removed,
            "titles_updated": self.titles_updated,
            "requests_fulfilled": self.requests_fulfilled,
            "requests_removed": self.requests_removed,
            "watched_plays": self.watched_plays,
            "watchlists_moved": self.watchlists_moved,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
        }


FULL_EVERY = timedelta(days=1)


def is_due(server: MediaServer, now: datetime) -> bool:
    return server.last_sync is None or server.last_sync + timedelta(seconds=server.sync_interval) <= now


def scheduled_full(server: MediaServer, now: datetime) -> bool:
    """A scheduled sync is full once a day (it alone notices removals), incremental otherwise."""
    return server.last_full_sync is None or server.last_full_sync + FULL_EVERY <= now


def sync_lock_key(server_id: int) -> int:
    # A fixed namespace in the high bits keeps these clear of the front ends' leader locks.
    return (0x1D4A << 32) | server_id


# An item's title: same kind (a show may be kept as anime), by its best id (TheTVDB's for a show, TMDB's, then
# IMDb's), each looked up by equality, so each is one index probe (an OR of the three would not use them).
_KINDS = (
    "CASE WHEN p.kind = 'movie' THEN CAST(ARRAY['movie'] AS content_type[])"
    " ELSE CAST(ARRAY['series', 'anime'] AS content_type[]) END"
)
_FOUND = f"""coalesce(
    (SELECT m.id FROM media m WHERE p.tvdb IS NOT NULL AND m.tvdb_id = p.tvdb
        AND m.content_type = ANY({_KINDS}) ORDER BY m.id LIMIT 1),
    (SELECT m.id FROM media m WHERE p.tmdb IS NOT NULL AND m.tmdb_id = p.tmdb
        AND m.content_type = ANY({_KINDS}) ORDER BY m.id LIMIT 1),
    (SELECT m.id FROM media m WHERE p.imdb IS NOT NULL AND m.imdb_id = p.imdb
        AND m.content_type = ANY({_KINDS}) ORDER BY m.id LIMIT 1))"""
# A page is written by one statement: the page travels once, as one JSON document (orjson encodes it in a
# millisecond, where arrays of 2,000 values cost psycopg's Python array adapter tens of milliseconds), and
# only its new or changed items (seasons, or ids that now name another title) are matched and written, so a
# sync of an unchanged library is one read per page.
# - changed: those items, with the title each held before (a title an item no longer is loses it);
# - found: each one's title, by its best id; `new_key` is what a title added for it is found by again;
# - added: titles the library does not know yet, added as the server has them (`add`, the server's
#   sync_library), films available at once (a show's status comes from its seasons). One that another
#   transaction adds at the same moment is skipped here and picked up by the next sync;
# - written: the items, each tied to its title, rewritten only when what they say changed.
_NEW_KEY = """CASE WHEN {kind} = 'movie' THEN coalesce('tmdb:' || {tmdb}, 'imdb:' || {imdb})
         ELSE coalesce('tvdb:' || {tvdb}, 'tmdb:' || {tmdb}) END"""
_WRITE_PAGE = text(f"""
    WITH p AS MATERIALIZED (
        SELECT * FROM jsonb_to_recordset(CAST(:page AS jsonb))
            AS p(key text, kind text, title text, year int, tmdb int, tvdb int, imdb text, seasons jsonb)
    ),
    changed AS MATERIALIZED (
        SELECT p.*, li.media_id AS former
        FROM p
        LEFT JOIN library_item li ON li.media_server_id = :server AND li.item_key = p.key
        LEFT JOIN media m ON m.id = li.media_id
        WHERE li.id IS NULL
           OR li.seasons IS DISTINCT FROM coalesce(p.seasons, CAST('{{}}' AS jsonb))
           OR (p.tmdb IS NOT NULL AND m.tmdb_id IS NOT NULL AND p.tmdb <> m.tmdb_id)
           OR (p.tvdb IS NOT NULL AND m.tvdb_id IS NOT NULL AND p.tvdb <> m.tvdb_id)
    ),
    found AS MATERIALIZED (
        SELECT p.*, {_FOUND} AS media_id,
               {_NEW_KEY.format(kind="p.kind", tmdb="p.tmdb", tvdb="p.tvdb", imdb="p.imdb")} AS new_key
        FROM changed AS p
    ),
    added AS (
        INSERT INTO media (content_type, tmdb_id, tvdb_id, imdb_id, title, year, status, available_at)
        SELECT DISTINCT ON (f.kind, f.new_key)
               CAST(f.kind AS content_type), f.tmdb, f.tvdb, f.imdb, f.title, f.year,
               CASE WHEN f.kind = 'movie' THEN 'available'::media_status ELSE 'unknown'::media_status END,
               CASE WHEN f.kind = 'movie' THEN now() END
        FROM found f
        WHERE :add AND f.media_id IS NULL AND f.new_key IS NOT NULL
        ORDER BY f.kind, f.new_key
        ON CONFLICT DO NOTHING
        RETURNING id, content_type,
                  {_NEW_KEY.format(kind="content_type", tmdb="tmdb_id", tvdb="tvdb_id", imdb="imdb_id")} AS new_key
    ),
    written AS (
        INSERT INTO library_item (media_server_id, item_key, media_id, seasons, seen_at)
        SELECT :server, f.key, coalesce(f.media_id, a.id), f.seasons, now()
        FROM found f
        LEFT JOIN added a ON a.new_key = f.new_key AND (a.content_type = 'movie') = (f.kind = 'movie')
        WHERE coalesce(f.media_id, a.id) IS NOT NULL
        ON CONFLICT (media_server_id, item_key) DO UPDATE
            SET media_id = excluded.media_id, seasons = excluded.seasons, seen_at = excluded.seen_at
            WHERE library_item.media_id IS DISTINCT FROM excluded.media_id
               OR library_item.seasons IS DISTINCT FROM excluded.seasons
        RETURNING media_id
    )
    SELECT media_id, true AS written FROM written
    UNION ALL
    SELECT former, false FROM changed WHERE former IS NOT NULL
""")
# A first sync fills these tables from nothing far faster than autovacuum analyzes them: with statistics
# from when they were empty, the planner scans them whole for each page, and each page is slower than the last.
_ANALYZE = text("ANALYZE media, media_season, library_item")
_ANALYZE_FROM = 4000  # rows written before the first refresh; each next one waits for twice as many
_REMOVE_GONE = text("""
    DELETE FROM library_item
    WHERE media_server_id = :server AND NOT (item_key = ANY(CAST(:keys AS text[])))
    RETURNING media_id
""")
# Each season of the titles, from every server's items: how many episodes the best-stocked one has.
_HELD = """held AS (
        SELECT li.media_id, CAST(s.key AS int) AS season_number, max(CAST(s.value AS int)) AS episodes
        FROM library_item li CROSS JOIN LATERAL jsonb_each_text(li.seasons) AS s
        WHERE li.media_id = ANY(CAST(:ids AS int[])) AND li.seasons <> '{}'
          AND s.key ~ '^[0-9]{1,4}$' AND s.value ~ '^[0-9]{1,6}$'
        GROUP BY 1, 2
    )"""
_SEASONS = text(f"""
    WITH {_HELD}, present AS (
        INSERT INTO media_season AS ms (media_id, season_number, available_episode_count, status)
        SELECT media_id, season_number, episodes, 'available' FROM held WHERE episodes > 0
        ON CONFLICT (media_id, season_number) DO UPDATE
            SET available_episode_count = CASE WHEN ms.episode_count IS NULL THEN excluded.available_episode_count
                                               ELSE least(excluded.available_episode_count, ms.episode_count) END,
                status = CASE WHEN ms.episode_count IS NULL OR excluded.available_episode_count >= ms.episode_count
                              THEN 'available'::media_status ELSE 'partially_available'::media_status END,
                updated_at = now()
            WHERE ms.available_episode_count IS DISTINCT FROM
                      (CASE WHEN ms.episode_count IS NULL THEN excluded.available_episode_count
                            ELSE least(excluded.available_episode_count, ms.episode_count) END)
               OR ms.status IS DISTINCT FROM
                      (CASE WHEN ms.episode_count IS NULL OR excluded.available_episode_count >= ms.episode_count
                            THEN 'available'::media_status ELSE 'partially_available'::media_status END)
        RETURNING 1
    )
    UPDATE media_season ms SET status = 'deleted', available_episode_count = 0, updated_at = now()
    WHERE ms.media_id = ANY(CAST(:ids AS int[]))
      AND ms.status IN ('available', 'partially_available')
      AND NOT EXISTS (SELECT 1 FROM held h
                      WHERE h.media_id = ms.media_id AND h.season_number = ms.season_number AND h.episodes > 0)
""")
# Each title from its items and seasons, worked out with joins over the changed titles (a correlated EXISTS
# per title took seconds on a first sync of 50,000); only titles whose status changes are written.
_TITLES = text("""
    WITH ids AS (SELECT DISTINCT unnest(CAST(:ids AS int[])) AS id),
    held AS (SELECT DISTINCT li.media_id FROM library_item li JOIN ids ON ids.id = li.media_id),
    seasons AS (
        SELECT ms.media_id,
               bool_or(ms.status = 'available') AS any_available,
               bool_or(ms.season_number > 0 AND ms.status IN ('available', 'partially_available')) AS regular_held,
               bool_or(ms.season_number > 0 AND ms.status NOT IN ('available', 'unknown')) AS regular_missing
        FROM media_season ms JOIN ids ON ids.id = ms.media_id
        GROUP BY ms.media_id
    ),
    worked AS (
        SELECT m.id,
               CASE
                   WHEN h.media_id IS NULL THEN
                       CASE WHEN m.status IN ('available', 'partially_available') THEN 'deleted'::media_status
                            ELSE m.status END
                   WHEN m.content_type = 'movie' THEN 'available'::media_status
                   WHEN NOT coalesce(s.regular_held, false) THEN
                       CASE WHEN coalesce(s.any_available, false) THEN 'available'::media_status ELSE m.status END
                   WHEN coalesce(s.regular_missing, false) THEN 'partially_available'::media_status
                   ELSE 'available'::media_status
               END AS status
        FROM media m JOIN ids ON ids.id = m.id
        LEFT JOIN held h ON h.media_id = m.id
        LEFT JOIN seasons s ON s.media_id = m.id
    )
    UPDATE media m
    SET status = w.status, updated_at = now(),
        available_at = CASE WHEN w.status = 'available' THEN coalesce(m.available_at, now()) ELSE m.available_at END
    FROM worked w
    WHERE m.id = w.id AND m.status IS DISTINCT FROM w.status
    RETURNING m.id
""")
# Requests the changed titles now fulfil, wholly or in part: a film any server holds, the seasons of a show
# a server holds whole (as many episodes as the season has, where that is known). Read before the seasons'
# statuses are written, so `mark_available` sees which of them are new to the library.
_FULFILLED = text(f"""
    WITH {_HELD}
    SELECT r.id, r.content_type, r.seasons,
           coalesce(array_agg(h.season_number) FILTER (
               WHERE h.episodes > 0 AND (ms.episode_count IS NULL OR h.episodes >= ms.episode_count)),
               '{{}}') AS complete
    FROM request r
    LEFT JOIN held h ON h.media_id = r.media_id
    LEFT JOIN media_season ms ON ms.media_id = h.media_id AND ms.season_number = h.season_number
    WHERE r.status IN ('approved', 'partial') AND r.media_id = ANY(CAST(:ids AS int[]))
      AND EXISTS (SELECT 1 FROM library_item li WHERE li.media_id = r.media_id)
    GROUP BY r.id
    ORDER BY r.id
""")
_WAITING = text("""
    SELECT DISTINCT r.media_id FROM request r JOIN library_item li ON li.media_id = r.media_id
    WHERE r.status IN ('approved', 'partial') AND li.media_server_id = :server
""")
_REMOVED = text("""
    SELECT r.id FROM request r JOIN media m ON m.id = r.media_id
    WHERE r.status IN ('available', 'partial') AND m.id = ANY(CAST(:ids AS int[])) AND m.status = 'deleted'
    ORDER BY r.id
""")
# Requested shows among the changed titles, whose seasons' real lengths tell a whole season from part of one.
_REQUESTED_SHOWS = text("""
    SELECT DISTINCT m.id, m.content_type, m.tmdb_id, m.tvdb_id FROM media m JOIN request r ON r.media_id = m.id
    WHERE m.id = ANY(CAST(:ids AS int[])) AND m.content_type <> 'movie' AND r.status IN ('approved', 'partial')
""")
_SEASON_LENGTHS = text("""
    INSERT INTO media_season AS ms (media_id, season_number, episode_count, available_episode_count, status)
    SELECT :media, s.number, s.episodes, 0, 'unknown'
    FROM unnest(CAST(:numbers AS int[]), CAST(:episodes AS int[])) AS s(number, episodes)
    ON CONFLICT (media_id, season_number) DO UPDATE
        SET episode_count = excluded.episode_count,
            available_episode_count = least(ms.available_episode_count, excluded.episode_count)
        WHERE ms.episode_count IS DISTINCT FROM excluded.episode_count
""")


def _page_values(items: Sequence[LibraryItem]) -> dict[str, object]:
    page = [
        {
            "key": item.key,
            "kind": item.content_type.value,
            "title": item.title,
            "year": item.year,
            "tmdb": item.tmdb_id,
            "tvdb": item.tvdb_id,
            "imdb": item.imdb_id,
            "seasons": {str(number): count for number, count in item.seasons.items()},
        }
        for item in items
    ]
    return {"page": orjson.dumps(page).decode()}


async def find_server(database: Database, name: str) -> MediaServer:
    async with database.session() as session:
        server = await session.scalar(select(MediaServer).where(func.lower(MediaServer.name) == name.strip().lower()))
    if server is None:
        raise NotFound("there is no media server named {name}", code="server.unknown", name=name.strip()[:100])
    return server


_DONE = object()


async def _ahead(pages: AsyncIterator[list[LibraryItem]], depth: int = 4) -> AsyncIterator[list[LibraryItem]]:
    """The pages, read up to `depth` ahead while the caller writes the last: the server's answers and the
    database's writes overlap instead of taking turns. A reading error comes out where its page would have."""
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=depth)

    async def read() -> None:
        try:
            async for page in pages:
                await queue.put(page)
        except BaseException as error:  # handed to the consumer, who raises it
            await queue.put(error)
            return
        await queue.put(_DONE)

    reader = asyncio.create_task(read())
    try:
        while (item := await queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        reader.cancel()
        with suppress(asyncio.CancelledError):
            await reader


class _Run:
    """One sync of one server, from its first page to its requests."""

    def __init__(self, database: Database, server: MediaServer, result: SyncResult) -> None:
        self.database = database
        self.server = server
        self.result = result
        self.touched: set[int] = set()
        self.seen: set[str] = set()
        self.unanalyzed = 0
        self.analyze_at = _ANALYZE_FROM

    async def write(self, page: Sequence[LibraryItem]) -> None:
        unique: dict[str, LibraryItem] = {}
        for item in page:
            if item.key in self.seen and item.key not in unique:
                continue  # listed twice (added and updated in one window): the first says it all
            if not item.identified:
                self.result.unidentified += 1
            unique[item.key] = item
        self.seen.update(unique)
        identified = [item for item in unique.values() if item.identified]
        if not identified:
            return
        values = {"server": self.server.id, "add": self.server.sync_library, **_page_values(identified)}
        async with self.database.transaction() as session:
            rows = (await session.execute(_WRITE_PAGE, values)).all()
        written = [row.media_id for row in rows if row.written]
        if written:
            self.result.changed += len(written)
            self.touched.update(row.media_id for row in rows)
            self.unanalyzed += len(written)
        if self.unanalyzed >= self.analyze_at:
            # Plans go wrong as a table outgrows its statistics by a factor, not by a count: refreshing at
            # doubling sizes keeps them right with a handful of ANALYZEs however large the library.
            self.analyze_at = max(_ANALYZE_FROM, self.result.changed)
            self.unanalyzed = 0
            async with self.database.transaction() as session:
                await session.execute(_ANALYZE)

    async def remove_gone(self) -> None:
        async with self.database.transaction() as session:
            gone = list(
                (await session.execute(_REMOVE_GONE, {"server": self.server.id, "keys": sorted(self.seen)})).scalars()
            )
        self.result.removed = len(gone)
        self.touched.update(gone)

    async def learn_season_lengths(self, discovery: DiscoveryService) -> None:
        """The real number of episodes of each season of requested shows, so part of a season on the server
        is told from all of it. A metadata outage leaves the lengths unknown (the server's count stands)."""
        async with self.database.session() as session:
            shows = list((await session.execute(_REQUESTED_SHOWS, {"ids": sorted(self.touched)})).all())
        for show in shows:
            try:
                ids = ExternalIds(tmdb_id=show.tmdb_id, tvdb_id=show.tvdb_id)
                view = await discovery.title(ContentType(show.content_type), ids)
            except (UpstreamError, NotFound, InvalidInput) as error:
                log.info("event=season_lengths_unknown media=%d reason=%r", show.id, str(error))
                continue
            seasons = [season for season in view.details.seasons if season.episode_count > 0]
            if not seasons:
                continue
            async with self.database.transaction() as session:
                await session.execute(
                    _SEASON_LENGTHS,
                    {
                        "media": show.id,
                        "numbers": [season.season_number for season in seasons],
                        "episodes": [season.episode_count for season in seasons],
                    },
                )

    async def settle(self, discovery: DiscoveryService | None) -> None:
        """Availability of every changed title, then the requests it fulfils or no longer does."""
        # Titles of open requests the library holds are looked at too, changed or not: a film that was on
        # the server before anyone asked for it fulfils the request approved for it since.
        async with self.database.session() as session:
            self.touched.update((await session.execute(_WAITING, {"server": self.server.id})).scalars())
        if not self.touched:
            return
        if discovery is not None:
            await self.learn_season_lengths(discovery)
        ids = sorted(self.touched)
        async with self.database.session() as session:
            fulfilled = list((await session.execute(_FULFILLED, {"ids": ids})).all())
        for request in fulfilled:
            await self._fulfil(request.id, request.content_type, request.seasons, set(request.complete))
        async with self.database.transaction() as session:
            await session.execute(_SEASONS, {"ids": ids})
            self.result.titles_updated = len(list((await session.execute(_TITLES, {"ids": ids})).scalars()))
            removed = list((await session.execute(_REMOVED, {"ids": ids})).scalars())
        for request_id in removed:
            try:
                await requests.mark_removed(self.database, request_id, server=self.server.name)
            except AlreadyDecided:
                continue
            self.result.requests_removed.append(request_id)

    async def _fulfil(
        self, request_id: int, kind: ContentType, asked: list[dict[str, Any]], complete: set[int]
    ) -> None:
        if kind == ContentType.MOVIE:
            seasons: list[int] | None = None
        else:
            seasons = sorted(complete & season_numbers(asked))
            if not seasons:
                return
        try:
            view = await requests.mark_available(self.database, request_id, seasons=seasons)
        except AlreadyDecided:
            return  # cancelled or decided meanwhile
        if view.status in (RequestStatus.AVAILABLE, RequestStatus.PARTIAL):
            self.result.requests_fulfilled.append(request_id)


async def _record(database: Database, server_id: int, *, started: datetime, full: bool, error: str | None) -> None:
    values: dict[str, object] = {"last_sync": datetime.now(UTC), "last_sync_success": error is None}
    values["last_sync_error"] = error
    if error is None:
        values["synced_until"] = started
        if full:
            values["last_full_sync"] = started
    async with database.transaction() as session:
        await session.execute(update(MediaServer).where(MediaServer.id == server_id).values(**values))


async def sync_server(
    database: Database,
    box: SecretBox,
    server: MediaServer,
    *,
    full: bool = False,
    discovery: DiscoveryService | None = None,
    settings: SyncSettings = SyncSettings(),
    progress: Progress | None = None,
    only_if_due: bool = False,
) -> SyncResult:
    """Sync one server now: full, or (by default) what changed since its last successful sync; a server never
    synced before is read whole. Raises the server's error after recording it on the server's row."""
    full = full or server.synced_until is None
    result = SyncResult(server.name, full)
    clock = time.perf_counter()
    async with database.engine.connect() as lock_connection:
        key = sync_lock_key(server.id)
        held = (await lock_connection.execute(select(func.pg_try_advisory_lock(key)))).scalar()
        await lock_connection.commit()
        if not held:
            result.skipped = "another idkarr process is syncing this server"
            return result
        try:
            # Read again under the lock: another process may have just finished this very sync.
            async with database.session() as session:
                fresh = await session.get(MediaServer, server.id)
            if fresh is None:
                result.skipped = "the server was removed"
                return result
            server = fresh
            if only_if_due and not is_due(server, datetime.now(UTC)):
                result.skipped = "synced meanwhile by another idkarr process"
                return result
            # The cursor is taken before reading, a little early rather than late: an item saved while
            # the sync reads is read again next time, never missed.
            started = datetime.now(UTC)
            run = _Run(database, server, result)
            endpoint = media_endpoint(server, box, settings.timeout_seconds)
            try:
                async with open_media_client(server.type, endpoint, settings) as client:
                    async for page in _ahead(client.items(None if full else server.synced_until)):
                        result.items += len(page)
                        await run.write(page)
                        if progress is not None:
                            progress(result.items, None)
                    if full:
                        await run.remove_gone()
                    await run.settle(discovery)
                    if server.sync_watched_status:
                        watched = await sync_watched(database, server, client)
                        result.watched_plays, result.watchlists_moved = watched.plays, watched.moved
            except (IdkarrError, OSError) as error:
                await _record(database, server.id, started=started, full=full, error=str(error)[:500])
                raise
            except Exception as error:  # a fault of idkarr's own: still on the server's record, then raised
                reason = f"idkarr failed while syncing ({type(error).__name__}); see its log"
                await _record(database, server.id, started=started, full=full, error=reason)
                raise
            await _record(database, server.id, started=started, full=full, error=None)
        finally:
            await lock_connection.execute(select(func.pg_advisory_unlock(key)))
            await lock_connection.commit()
    result.seconds = time.perf_counter() - clock
    SYNC_SECONDS.labels(result.server, "full" if result.full else "incremental").observe(result.seconds)
    log.info(
        "event=library_synced server=%s full=%s items=%d changed=%d removed=%d fulfilled=%d seconds=%.3f",
        server.name,
        full,
        result.items,
        result.changed,
        result.removed,
        len(result.requests_fulfilled),
        result.seconds,
    )
    return result


async def sync_due(
    database: Database,
    box: SecretBox,
    *,
    discovery: DiscoveryService | None = None,
    settings: SyncSettings = SyncSettings(),
) -> int:
    """Sync every enabled server whose interval has passed (the scheduler runs this every minute); returns
    how many were synced. A server's failure is recorded on it and the others go on."""
    now = datetime.now(UTC)
    async with database.session() as session:
        servers = list(await session.scalars(select(MediaServer).where(MediaServer.enabled).order_by(MediaServer.id)))
    synced = 0
    for server in servers:
        if not is_due(server, now):
            continue
        try:
            result = await sync_server(
                database,
                box,
                server,
                full=scheduled_full(server, now),
                discovery=discovery,
                settings=settings,
                only_if_due=True,
            )
        except (IdkarrError, OSError) as error:
            log.warning("event=scheduled_sync_failed server=%s error=%r", server.name, str(error))
            continue
        synced += result.skipped is None
    return synced
