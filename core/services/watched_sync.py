"""Watched sync: what people played on a media server, into `watched_item`, and their watchlists moved on.

Server users are matched to idkarr users by the ids an admin configured (`idkarr user media`): a Jellyfin or
Emby user id, a Plex account name. Each play is kept per film or episode (a row rewritten only when its count
or time changed); a title with new plays moves its owner's watchlist entry (a film to watched, a show to
watching at the furthest episode played), which records movie_watched or episode_watched through the
watchlist service, shown as the person's privacy settings allow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import orjson
from sqlalchemy import select, text

from core.db.models import Media, MediaServer, User, WatchlistEntry
from core.db.session import Database
from core.enums import ContentType, MediaServerType, WatchlistType
from core.errors import AlreadyExists, InvalidInput, NotFound
from core.integrations.types import Played
from core.metadata.types import Title
from core.services import watchlists
from core.services.requests.common import title_by_ids, title_ids
from core.services.servers import MediaClient

__all__ = ["WatchedResult", "sync_watched"]

log = logging.getLogger(__name__)

_EPISODE_KEY = 100_000  # an episode's key in watched_item: season * this + episode (there is no episode table)

# A user's plays, each tied to its title through the server's library items; only new or changed rows return.
_WRITE_PLAYS = text("""
    INSERT INTO watched_item AS w (media_server_id, user_id, content_type, media_id, tmdb_id, tvdb_id, imdb_id,
                                   episode_id, season_number, episode_number, watched, last_watched, play_count,
                                   media_server_key)
    SELECT :server, :user, m.content_type, m.id, m.tmdb_id, m.tvdb_id, m.imdb_id,
           p.episode_id, p.season, p.episode, true, p.last_played, p.plays, p.key
    FROM jsonb_to_recordset(CAST(:plays AS jsonb))
             AS p(key text, episode_id int, season int, episode int, plays int, last_played timestamptz)
    JOIN library_item li ON li.media_server_id = :server AND li.item_key = p.key
    JOIN media m ON m.id = li.media_id
    ON CONFLICT (media_server_id, user_id, media_id, episode_id, edition) DO UPDATE
        SET play_count = excluded.play_count, last_watched = excluded.last_watched, updated_at = now()
        WHERE w.play_count IS DISTINCT FROM excluded.play_count
           OR w.last_watched IS DISTINCT FROM excluded.last_watched
    RETURNING w.media_id
""")
# The furthest episode a user has played of each show, over every server.
_FURTHEST = text("""
    SELECT DISTINCT ON (media_id) media_id, season_number, episode_number
    FROM watched_item
    WHERE user_id = :user AND media_id = ANY(CAST(:media AS int[])) AND episode_id IS NOT NULL
    ORDER BY media_id, season_number DESC, episode_number DESC
""")


@dataclass
class WatchedResult:
    users: int = 0  # server users matched to idkarr users
    plays: int = 0  # plays new or changed
    moved: int = 0  # watchlist entries moved on


def _fold(plays: list[Played]) -> list[dict[str, object]]:
    """One row per film or episode: Plex's history lists each viewing, Jellyfin's each item once."""
    rows: dict[tuple[str, int | None], dict[str, object]] = {}
    for play in plays:
        episode_id = None
        if play.content_type != ContentType.MOVIE:
            if play.season_number is None or play.episode_number is None:
                continue
            episode_id = play.season_number * _EPISODE_KEY + play.episode_number
        key = (play.item_key, episode_id)
        row = rows.get(key)
        last = play.last_played.isoformat() if play.last_played else None
        if row is None:
            rows[key] = {
                "key": play.item_key,
                "episode_id": episode_id,
                "season": play.season_number,
                "episode": play.episode_number,
                "plays": play.play_count,
                "last_played": last,
            }
        else:
            row["plays"] = int(row["plays"]) + play.play_count  # type: ignore[call-overload]
            if last and (row["last_played"] is None or last > str(row["last_played"])):
                row["last_played"] = last
    return list(rows.values())


async def _people(database: Database, server: MediaServer, client: MediaClient) -> list[tuple[str, int]]:
    """(server user, idkarr user) for each server user an idkarr user is configured as."""
    server_users = await client.users()
    async with database.session() as session:
        if server.type == MediaServerType.PLEX:
            names = {user.name.lower(): user.key for user in server_users}
            found = await session.execute(select(User.id, User.plex_username).where(User.plex_username.is_not(None)))
            return [(names[name.lower()], uid) for uid, name in found if name and name.lower() in names]
        column = User.emby_user_id if server.type == MediaServerType.EMBY else User.jellyfin_user_id
        keys = {user.key.replace("-", "").lower(): user.key for user in server_users}
        found = await session.execute(select(User.id, column).where(column.is_not(None)))
        return [
            (keys[key.replace("-", "").lower()], uid)
            for uid, key in found
            if key and key.replace("-", "").lower() in keys
        ]


async def _move_on(database: Database, user_id: int, media_ids: list[int]) -> int:
    """Each title's watchlist entry moved to what was played; returns how many moved."""
    async with database.session() as session:
        titles = list(await session.scalars(select(Media).where(Media.id.in_(media_ids))))
        furthest = {
            row.media_id: (row.season_number, row.episode_number)
            for row in await session.execute(_FURTHEST, {"user": user_id, "media": media_ids})
        }
    moved = 0
    for media in titles:
        title = Title(media.content_type, media.title, media.year, media.tmdb_id, media.tvdb_id, media.imdb_id)
        if title.tmdb_id is None and title.tvdb_id is None:
            continue
        async with database.session() as session:
            own = select(WatchlistEntry).where(WatchlistEntry.user_id == user_id, title_by_ids(WatchlistEntry))
            found = await session.execute(own, title_ids(media.content_type, media.tmdb_id, media.tvdb_id))
            entry = found.scalars().first()
        tmdb, tvdb = media.tmdb_id, media.tvdb_id
        try:
            if media.content_type == ContentType.MOVIE:
                if entry is None:
                    await watchlists.add(database, user_id, title, WatchlistType.WATCHED)
                elif entry.type != WatchlistType.WATCHED:
                    await watchlists.update(
                        database, user_id, media.content_type, tmdb_id=tmdb, tvdb_id=tvdb, kind=WatchlistType.WATCHED
                    )
                else:
                    continue
            else:
                season, episode = furthest.get(media.id, (None, None))
                if entry is None:
                    await watchlists.add(database, user_id, title, WatchlistType.WATCHING)
                elif entry.type in (WatchlistType.WATCHING, WatchlistType.WATCHED) and (
                    entry.current_season or 0,
                    entry.current_episode or 0,
                ) >= (season or 0, episode or 0):
                    continue
                kind = None if entry is not None and entry.type == WatchlistType.WATCHED else WatchlistType.WATCHING
                await watchlists.update(
                    database,
                    user_id,
                    media.content_type,
                    tmdb_id=tmdb,
                    tvdb_id=tvdb,
                    kind=kind,
                    season=season,
                    episode=episode,
                )
        except (AlreadyExists, NotFound, InvalidInput) as error:
            log.info("event=watchlist_not_moved user=%d media=%d reason=%r", user_id, media.id, str(error))
            continue
        moved += 1
    return moved


async def sync_watched(database: Database, server: MediaServer, client: MediaClient) -> WatchedResult:
    """What each matched person played on the server, and their watchlists moved on."""
    result = WatchedResult()
    for server_user, user_id in await _people(database, server, client):
        result.users += 1
        plays: list[Played] = []
        async for page in client.played(server_user):
            plays.extend(page)
        rows = _fold(plays)
        if not rows:
            continue
        async with database.transaction() as session:
            written = list(
                (
                    await session.execute(
                        _WRITE_PLAYS, {"server": server.id, "user": user_id, "plays": orjson.dumps(rows).decode()}
                    )
                ).scalars()
            )
        result.plays += len(written)
        if written:
            result.moved += await _move_on(database, user_id, sorted(set(written)))
    return result
