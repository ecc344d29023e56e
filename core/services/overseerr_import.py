"""`idkarr import overseerr`: users (with their Discord and Telegram ids as linked chats), titles and requests
from Overseerr or Seerr, so that moving to idkarr loses no one and no history.

Everything is read first, then written in one transaction: an import that fails half-way leaves nothing
half-imported, and `--dry-run` is the same run rolled back. What was imported is remembered by the source's
id (`imported_row`), so running it again changes nothing. A person already in idkarr with the same email is
linked rather than made twice. Imported requests are history: nothing is sent to Sonarr or Radarr again and
nobody is notified.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import func, or_, select, text, tuple_
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import jsonb
from core.db.models import ChatIdentity, ImportedRow, Media, MediaSeason, Request, RequestWatcher, User
from core.db.session import Database
from core.enums import ChatPlatform, ContentType, MediaStatus, RequestStatus, UserStatus
from core.errors import InvalidInput
from core.integrations.connection import Endpoint
from core.integrations.overseerr import Malformed, SourceMedia, SourceRequest, SourceUser, open_overseerr
from core.metadata.provider import ExternalIds
from core.metadata.types import Title, TitleDetails
from core.services.overseerr_mapping import media_status, request_status, role_and_overrides, username_from
from core.services.servers import checked_token, parse_url, refused_token
from core.upstream_errors import UpstreamError, UpstreamNotFound

__all__ = ["ImportSummary", "Tally", "import_overseerr"]

DetailsLookup = Callable[[ContentType, ExternalIds], Awaitable[TitleDetails]]
Progress = Callable[[str, int, int], None]

_TITLE_LOOKUPS = 16
_POSTGRES = postgresql.dialect()  # type: ignore[no-untyped-call, unused-ignore]


@dataclass
class Tally:
    imported: int = 0
    matched: int = 0  # already in idkarr by other means (same email, same title): linked, not made again
    already: int = 0  # imported by an earlier run
    skipped: int = 0

    def to_json(self) -> dict[str, int]:
        return {"imported": self.imported, "matched": self.matched, "already": self.already, "skipped": self.skipped}


@dataclass
class ImportSummary:
    source: str
    program: str
    version: str
    dry_run: bool
    users: Tally = field(default_factory=Tally)
    chats: Tally = field(default_factory=Tally)
    media: Tally = field(default_factory=Tally)
    requests: Tally = field(default_factory=Tally)
    joined: int = 0  # pending requests for a title already pending: their requester now follows that one
    unnamed: int = 0  # titles whose name could not be looked up: shown by their id
    skipped: list[Malformed] = field(default_factory=list)

    def skip(self, kind: str, external_id: int | None, reason: str) -> None:
        self.skipped.append(Malformed(kind, external_id, reason))

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "program": self.program,
            "version": self.version,
            "dryRun": self.dry_run,
            "users": self.users.to_json(),
            "chats": self.chats.to_json(),
            "media": self.media.to_json(),
            "requests": self.requests.to_json(),
            "joined": self.joined,
            "unnamed": self.unnamed,
            "skipped": [{"kind": row.kind, "id": row.external_id, "reason": row.reason} for row in self.skipped],
        }


_Row = TypeVar("_Row", SourceUser, SourceMedia, SourceRequest)
_Key = tuple[bool, int | None, int | None]  # (a show?, TMDB id, TheTVDB id), as the source identifies a title


def _key(media: SourceMedia) -> _Key:
    return (media.tv, media.tmdb_id, media.tvdb_id)


class _DryRun(Exception):
    """Raised inside the transaction to roll back what a dry run wrote."""


async def import_overseerr(
    database: Database,
    lookup: DetailsLookup | None,
    *,
    url: str,
    api_key: str,
    dry_run: bool = False,
    progress: Progress | None = None,
    request_seconds: float = 30.0,
    page_size: int = 100,
) -> ImportSummary:
    """Import from the Overseerr or Seerr at `url`; `lookup` names titles (idkarr's discovery), since the
    source's requests carry only ids."""
    where = parse_url(url, option="--url")
    endpoint = Endpoint(where.text, checked_token(api_key, option="--api-key"), request_seconds)

    def step(phase: str) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        done = 0

        def advance(count: int, total: int) -> None:
            nonlocal done
            done += count
            progress(phase, done, total)

        return advance

    async with refused_token("--api-key", "API key"), open_overseerr(endpoint, page_size=page_size) as source:
        info = await source.info()
        users = await source.users(step("users"))
        media = await source.media(step("titles"))
        requests = await source.requests(step("requests"))
    seerr = not info.version.startswith(("0.", "1."))  # Seerr (and Jellyseerr from 2.0) count past 1.x
    summary = ImportSummary(where.text, "Seerr" if seerr else "Overseerr", info.version, dry_run)
    tallies = {"user": summary.users, "media": summary.media, "request": summary.requests}
    for row in (*users.rows, *media.rows, *requests.rows):
        if isinstance(row, Malformed):
            summary.skipped.append(row)
            tallies[row.kind].skipped += 1

    titles = {_key(row): row for row in media.rows if isinstance(row, SourceMedia)}
    titles |= {_key(row.media): row.media for row in requests.rows if isinstance(row, SourceRequest)}
    names = await _names(database, lookup, titles, summary, step("names"))
    try:
        async with database.transaction() as session:
            links = await _links(session, where.text)
            people = await _write_users(session, where.text, _only(users.rows, SourceUser), links, summary)
            known = await _write_media(
                session, where.text, _only(media.rows, SourceMedia), names, links, summary, seerr
            )
            await _write_requests(
                session, where.text, _only(requests.rows, SourceRequest), names, people, known, links, summary, seerr
            )
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return summary


def _only(rows: Iterable[object], kind: type[_Row]) -> list[_Row]:
    # The source pages while it may change: a row seen twice is imported once.
    seen: dict[int, _Row] = {}
    for row in rows:
        if isinstance(row, kind):
            seen.setdefault(row.id, row)
    return list(seen.values())


# --- titles: their names, from idkarr's library or its discovery --------------------------------------------


async def _names(
    database: Database,
    lookup: DetailsLookup | None,
    titles: dict[_Key, SourceMedia],
    summary: ImportSummary,
    progress: Callable[[int, int], None] | None,
) -> dict[_Key, Title]:
    names: dict[_Key, Title] = {}
    async with database.session() as session:
        library = await _media_rows(session, [key[1] for key in titles], [key[2] for key in titles])
    by_tmdb = {(row.content_type != ContentType.MOVIE, row.tmdb_id): row for row in library if row.tmdb_id}
    by_tvdb = {row.tvdb_id: row for row in library if row.tvdb_id and row.content_type != ContentType.MOVIE}
    missing: list[_Key] = []
    for key in titles:
        row = by_tmdb.get((key[0], key[1])) or (by_tvdb.get(key[2]) if key[0] else None)
        if row is None:
            missing.append(key)
            continue
        names[key] = Title(
            row.content_type, row.title, row.year, row.tmdb_id or key[1], row.tvdb_id or key[2], row.imdb_id
        )
    gate = asyncio.Semaphore(_TITLE_LOOKUPS)

    async def name(key: _Key) -> None:
        tv, tmdb_id, tvdb_id = key
        kind = ContentType.SERIES if tv else ContentType.MOVIE
        details = None
        if lookup is not None:
            async with gate:
                try:
                    details = await lookup(kind, ExternalIds(tmdb_id=tmdb_id, tvdb_id=tvdb_id if tv else None))
                except (UpstreamError, UpstreamNotFound, InvalidInput):
                    details = None
        if progress:
            progress(1, len(missing))
        if details is None:
            summary.unnamed += 1
            label = f"TMDB {tmdb_id}" if tmdb_id else f"TheTVDB {tvdb_id}"
            names[key] = Title(kind, label, None, tmdb_id, tvdb_id, titles[key].imdb_id)
            return
        title = details.title
        names[key] = replace(
            title,
            type=details.classified_as or title.type,
            tmdb_id=title.tmdb_id or tmdb_id,
            tvdb_id=title.tvdb_id or tvdb_id,
            imdb_id=title.imdb_id or titles[key].imdb_id,
        )

    await asyncio.gather(*(name(key) for key in missing))
    return names


# --- what an earlier run imported ----------------------------------------------------------------------------


async def _links(session: AsyncSession, source: str) -> dict[tuple[str, int], int]:
    rows = await session.execute(
        select(ImportedRow.kind, ImportedRow.external_id, ImportedRow.local_id).where(ImportedRow.source == source)
    )
    return {(row.kind, row.external_id): row.local_id for row in rows}


async def _remember(session: AsyncSession, source: str, kind: str, pairs: list[tuple[int, int]]) -> None:
    if pairs:
        rows = [{"source": source, "kind": kind, "external_id": ext, "local_id": local} for ext, local in pairs]
        await _insert_rows(session, ImportedRow, rows)


async def _new_ids(session: AsyncSession, model: Any, count: int) -> list[int]:
    """`count` ids drawn from the table's sequence, for rows about to be inserted: known before the insert,
    they can be referred to at once (asking INSERT ... RETURNING to keep the rows' order instead costs
    SQLAlchemy time quadratic in their number)."""
    if count <= 0:
        return []
    return list(
        await session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
            {"table": f'"{model.__table__.name}"', "count": count},
        )
    )


async def _insert_all(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows and return their ids, in order."""
    ids = await _new_ids(session, model, len(rows))
    numbered = [{**row, "id": number} for row, number in zip(rows, ids, strict=True)]
    await _insert_rows(session, model, numbered)
    return ids


async def _insert_rows(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    """All rows in one statement, sent as one JSON document: an executemany sends a statement per row, and a
    multi-row VALUES costs SQLAlchemy more to compile than PostgreSQL to run. Rows of one call share keys."""
    if not rows:
        return
    table = model.__table__
    names = list(rows[0])
    shape = ", ".join(f'"{name}" {table.c[name].type.compile(dialect=_POSTGRES)}' for name in names)
    listed = ", ".join(f'"{name}"' for name in names)
    statement = text(
        f'INSERT INTO "{table.name}" ({listed}) SELECT {listed} '
        f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({shape})"
    )
    await session.execute(statement, {"rows": jsonb.dumps_text(rows)})


# --- users and their chats -----------------------------------------------------------------------------------


async def _write_users(
    session: AsyncSession,
    source: str,
    users: list[SourceUser],
    links: dict[tuple[str, int], int],
    summary: ImportSummary,
) -> dict[int, int]:
    """Overseerr user id -> idkarr user id, for everyone imported now or before."""
    people = {ext: local for (kind, ext), local in links.items() if kind == "user"}
    fresh = [user for user in users if user.id not in people]
    summary.users.already = len(users) - len(fresh)
    emails = {user.email.lower() for user in fresh if user.email}
    lowered = func.lower(User.email)
    found = await session.execute(select(lowered, User.id).where(lowered.in_(emails)))
    by_email: dict[str, int] = dict(found.all())  # type: ignore[arg-type, unused-ignore]
    taken = set((await session.scalars(select(func.lower(User.username)))).all())
    now = datetime.now(UTC)
    new_rows: list[dict[str, Any]] = []
    new_ids: list[int] = []
    matched: list[tuple[int, int]] = []
    for user in fresh:
        existing = by_email.get(user.email.lower()) if user.email else None
        if existing is not None:
            matched.append((user.id, existing))
            continue
        role, overrides = role_and_overrides(user.permissions)
        name = username_from(user.name)
        candidate, number = name, 1
        while candidate.lower() in taken:
            number += 1
            candidate = f"{name}-{number}"
        taken.add(candidate.lower())
        server_id = user.media_server_user_id
        new_rows.append(
            {
                "username": candidate,
                "email": user.email,
                "role": role,
                "status": UserStatus.ACTIVE,
                "permissions": overrides,
                "movie_quota_limit": user.movie_quota[0],
                "movie_quota_days": user.movie_quota[1],
                "series_quota_limit": user.tv_quota[0],
                "series_quota_days": user.tv_quota[1],
                "anime_quota_limit": user.tv_quota[0],
                "anime_quota_days": user.tv_quota[1],
                "plex_username": user.plex_username,
                "jellyfin_user_id": server_id if user.kind != 4 else None,
                "emby_user_id": server_id if user.kind == 4 else None,
                "created_at": user.created_at or now,
            }
        )
        new_ids.append(user.id)
    made = await _insert_all(session, User, new_rows)
    summary.users.imported, summary.users.matched = len(made), len(matched)
    pairs = [*zip(new_ids, made, strict=True), *matched]
    await _remember(session, source, "user", pairs)
    people.update(pairs)
    await _write_chats(session, users, people, summary)
    return people


async def _write_chats(
    session: AsyncSession, users: list[SourceUser], people: dict[int, int], summary: ImportSummary
) -> None:
    wanted: list[tuple[ChatPlatform, str, int, str, int]] = []  # platform, id, idkarr user, name, source user
    for user in users:
        local = people.get(user.id)
        if local is None:
            continue
        for discord in user.discord_ids:
            wanted.append((ChatPlatform.DISCORD, discord, local, user.name, user.id))
        chat = user.telegram_chat_id
        if chat is not None and chat.startswith("-"):
            summary.chats.skipped += 1
            summary.skip("user", user.id, f"Telegram chat {chat} is a group, not a person: not linked")
        elif chat is not None:
            wanted.append((ChatPlatform.TELEGRAM, chat, local, user.name, user.id))
    if not wanted:
        return
    pairs = list({(platform, ident) for platform, ident, *_ in wanted})
    found = await session.execute(
        select(ChatIdentity.platform, ChatIdentity.platform_user_id, ChatIdentity.user_id).where(
            tuple_(ChatIdentity.platform, ChatIdentity.platform_user_id).in_(pairs)
        )
    )
    owners = {(row.platform, row.platform_user_id): row.user_id for row in found}
    rows: list[dict[str, Any]] = []
    for platform, ident, local, name, source_id in wanted:
        owner = owners.get((platform, ident))
        if owner == local:
            summary.chats.already += 1
        elif owner is not None:
            summary.chats.skipped += 1
            summary.skip(
                "user", source_id, f"{platform.value} id {ident} is already linked to another idkarr user: not moved"
            )
        else:
            owners[(platform, ident)] = local
            rows.append({"platform": platform, "platform_user_id": ident, "user_id": local, "display_name": name})
    if rows:
        await _insert_rows(session, ChatIdentity, rows)
    summary.chats.imported = len(rows)


# --- titles ------------------------------------------------------------------------------------------------


async def _media_rows(session: AsyncSession, tmdb: list[int | None], tvdb: list[int | None]) -> list[Any]:
    """idkarr's media rows with any of these ids (None ignored)."""
    rows = await session.execute(
        select(
            Media.id, Media.content_type, Media.tmdb_id, Media.tvdb_id, Media.title, Media.year, Media.imdb_id
        ).where(
            or_(
                Media.tmdb_id.in_([number for number in tmdb if number]),
                Media.tvdb_id.in_([number for number in tvdb if number]),
            )
        )
    )
    return list(rows.all())


async def _library(session: AsyncSession, names: Iterable[Title]) -> dict[tuple[ContentType, str, int], int]:
    """idkarr's media rows for these titles, by (content type, "tmdb" or "tvdb", id)."""
    listed = list(names)
    found: dict[tuple[ContentType, str, int], int] = {}
    for row in await _media_rows(session, [name.tmdb_id for name in listed], [name.tvdb_id for name in listed]):
        if row.tmdb_id:
            found[(row.content_type, "tmdb", row.tmdb_id)] = row.id
        if row.tvdb_id:
            found[(row.content_type, "tvdb", row.tvdb_id)] = row.id
    return found


def _find(library: dict[tuple[ContentType, str, int], int], name: Title) -> int | None:
    by_tvdb = library.get((name.type, "tvdb", name.tvdb_id)) if name.tvdb_id else None
    return by_tvdb or (library.get((name.type, "tmdb", name.tmdb_id)) if name.tmdb_id else None)


async def _write_media(
    session: AsyncSession,
    source: str,
    media: list[SourceMedia],
    names: dict[_Key, Title],
    links: dict[tuple[str, int], int],
    summary: ImportSummary,
    seerr: bool,
) -> dict[tuple[ContentType, str, int], int]:
    """Titles become idkarr's library rows (a title idkarr has is linked, not changed: its own sync knows
    better); returns the library by id for the requests."""
    library = await _library(session, names.values())
    fresh = [row for row in media if ("media", row.id) not in links]
    summary.media.already = len(media) - len(fresh)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    sources: list[SourceMedia] = []
    matched: list[tuple[int, int]] = []
    for row in fresh:
        name = names[_key(row)]
        existing = _find(library, name)
        if existing is not None:
            matched.append((row.id, existing))
            continue
        status = media_status(row.status, seerr=seerr)
        rows.append(
            {
                "content_type": name.type,
                "tmdb_id": name.tmdb_id,
                "tvdb_id": name.tvdb_id if name.type != ContentType.MOVIE else None,
                "imdb_id": name.imdb_id,
                "title": name.title,
                "year": name.year,
                "status": status,
                "available_at": row.created_at if status == MediaStatus.AVAILABLE else None,
                "created_at": row.created_at or now,
            }
        )
        sources.append(row)
    made = await _insert_all(session, Media, rows)
    for media_id, values in zip(made, rows, strict=True):
        for kind, number in (("tmdb", values["tmdb_id"]), ("tvdb", values["tvdb_id"])):
            if number:
                library[(values["content_type"], kind, number)] = media_id
    seasons = [
        {"media_id": media_id, "season_number": number, "status": media_status(status, seerr=seerr)}
        for row, media_id in zip(sources, made, strict=True)
        for number, status in dict(row.seasons).items()
    ]
    if seasons:
        await _insert_rows(session, MediaSeason, seasons)
    summary.media.imported, summary.media.matched = len(made), len(matched)
    await _remember(session, source, "media", [*zip((row.id for row in sources), made, strict=True), *matched])
    return library


# --- requests ----------------------------------------------------------------------------------------------


async def _pending(session: AsyncSession) -> dict[tuple[ContentType, str, int], tuple[int, int]]:
    """Pending requests by title: one per title, the rest of its askers follow it as watchers."""
    rows = await session.execute(
        select(Request.id, Request.requested_by_id, Request.content_type, Request.tmdb_id, Request.tvdb_id).where(
            Request.status == RequestStatus.PENDING
        )
    )
    found: dict[tuple[ContentType, str, int], tuple[int, int]] = {}
    for row in rows:
        if row.tmdb_id:
            found[(row.content_type, "tmdb", row.tmdb_id)] = (row.id, row.requested_by_id)
        if row.tvdb_id:
            found[(row.content_type, "tvdb", row.tvdb_id)] = (row.id, row.requested_by_id)
    return found


async def _write_requests(
    session: AsyncSession,
    source: str,
    requests: list[SourceRequest],
    names: dict[_Key, Title],
    people: dict[int, int],
    library: dict[tuple[ContentType, str, int], int],
    links: dict[tuple[str, int], int],
    summary: ImportSummary,
    seerr: bool,
) -> None:
    fresh = sorted(
        (row for row in requests if ("request", row.id) not in links),
        key=lambda row: (row.created_at or datetime.min.replace(tzinfo=UTC), row.id),
    )
    summary.requests.already = len(requests) - len(fresh)
    pending = await _pending(session)
    # An id for each request that may be made, so that later ones for the same pending title can join it
    # (the ids of those that join or are skipped are simply never used).
    numbers = iter(await _new_ids(session, Request, len(fresh)))
    rows: list[dict[str, Any]] = []
    sources: list[int] = []
    watchers: list[dict[str, Any]] = []
    joined: list[tuple[int, int]] = []
    now = datetime.now(UTC)
    for row in fresh:
        requester = people.get(row.requested_by) if row.requested_by is not None else None
        if requester is None:
            summary.requests.skipped += 1
            summary.skip("request", row.id, f"its requester (Overseerr user {row.requested_by}) was not imported")
            continue
        name = names[_key(row.media)]
        status = request_status(row.status, media_status(row.media.status, seerr=seerr))
        tvdb = name.tvdb_id if name.type != ContentType.MOVIE else None
        if status == RequestStatus.PENDING:
            keys = [(name.type, kind, number) for kind, number in (("tmdb", name.tmdb_id), ("tvdb", tvdb))]
            already = next((pending[key] for key in keys if key[2] and key in pending), None)
            if already is not None:
                if already[1] != requester:
                    watchers.append({"request_id": already[0], "user_id": requester})
                joined.append((row.id, already[0]))
                continue
        decided = row.updated_at or row.created_at or now
        number = next(numbers)
        rows.append(
            {
                "id": number,
                "requested_by_id": requester,
                "content_type": name.type,
                "tmdb_id": name.tmdb_id,
                "tvdb_id": tvdb,
                "imdb_id": name.imdb_id,
                "title": name.title,
                "year": name.year,
                "poster": name.poster,
                "overview": name.overview or None,
                "seasons": [{"season_number": season, "monitored": True} for season in row.seasons]
                if name.type != ContentType.MOVIE
                else [],
                "status": status,
                "approved_at": decided
                if status in (RequestStatus.APPROVED, RequestStatus.AVAILABLE, RequestStatus.PARTIAL)
                else None,
                "approved_by_id": people.get(row.modified_by) if row.modified_by is not None else None,
                "denial_reason": f"declined in {summary.program}" if status == RequestStatus.DENIED else None,
                "failure_reason": f"failed in {summary.program}" if status == RequestStatus.FAILED else None,
                "media_id": _find(library, name),
                "created_at": row.created_at or now,
                "modified_at": decided,
            }
        )
        sources.append(row.id)
        if status == RequestStatus.PENDING:
            for kind, external in (("tmdb", name.tmdb_id), ("tvdb", tvdb)):
                if external:
                    pending[(name.type, kind, external)] = (number, requester)
    await _insert_rows(session, Request, rows)
    made = [row["id"] for row in rows]
    if watchers:
        unique = {(row["request_id"], row["user_id"]): row for row in watchers}
        await session.execute(upsert(RequestWatcher).on_conflict_do_nothing(), list(unique.values()))
    summary.requests.imported, summary.joined = len(made), len(joined)
    await _remember(session, source, "request", [*zip(sources, made, strict=True), *joined])
