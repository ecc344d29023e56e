"""Overseerr and Seerr (ex-Jellyseerr) as a source to import from: their API v1 (X-Api-Key), read only.

Both answer lists as `{"pageInfo": {"pages", "pageSize", "results", "page"}, "results": [...]}` paged by
`take` and `skip`. Rows are parsed here into idkarr's terms; a row that cannot be read becomes a `Malformed`
naming why, so an import reports it instead of failing on it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from core.integrations.connection import Endpoint, connect
from core.integrations.types import ServerInfo, id_number, imdb_id, mapping
from core.upstream import Upstream
from core.upstream_errors import UpstreamBadResponse

__all__ = [
    "Malformed",
    "OverseerrClient",
    "SourceMedia",
    "SourceRequest",
    "SourceUser",
    "open_overseerr",
    "parse_media",
    "parse_request",
    "parse_user",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Malformed:
    """A row the source sent that cannot be imported, and why (shown in the import's summary)."""

    kind: str
    external_id: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class SourceUser:
    id: int
    name: str
    email: str | None
    permissions: int
    kind: int  # Overseerr's userType: 1 Plex, 2 local, 3 Jellyfin, 4 Emby
    plex_username: str | None
    media_server_user_id: str | None  # Seerr's jellyfinUserId (an Emby user's too)
    movie_quota: tuple[int | None, int | None]
    tv_quota: tuple[int | None, int | None]
    created_at: datetime | None
    # Filled from the user's notification settings when the list does not carry them.
    discord_ids: tuple[str, ...] = ()
    telegram_chat_id: str | None = None
    settings_read: bool = False


@dataclass(frozen=True, slots=True)
class SourceMedia:
    id: int
    tv: bool
    tmdb_id: int | None
    tvdb_id: int | None
    imdb_id: str | None
    status: int
    seasons: tuple[tuple[int, int], ...]  # (season number, status)
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class SourceRequest:
    id: int
    status: int  # 1 pending, 2 approved, 3 declined, 4 failed, 5 completed (Seerr)
    media: SourceMedia
    requested_by: int | None
    modified_by: int | None
    seasons: tuple[int, ...]
    is4k: bool
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Paged(Generic[T]):
    rows: list[T | Malformed]
    total: int


def _text(value: object, limit: int = 300) -> str | None:
    return value.strip()[:limit] or None if isinstance(value, str) else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_SNOWFLAKE = re.compile(r"\d{15,21}")


def discord_ids(value: object) -> tuple[str, ...]:
    """Discord ids as Overseerr keeps one (a string) or as a list (newer forms, and several typed into the one
    field separated by commas or spaces); anything that is not a Discord id is left out."""
    parts: list[str] = []
    if isinstance(value, str):
        parts = re.split(r"[\s,;]+", value)
    elif isinstance(value, int) and not isinstance(value, bool):
        parts = [str(value)]
    elif isinstance(value, list):
        parts = [str(entry) for entry in value if isinstance(entry, str | int) and not isinstance(entry, bool)]
    seen: dict[str, None] = {}
    for part in parts:
        cleaned = part.strip()
        if _SNOWFLAKE.fullmatch(cleaned):
            seen[cleaned] = None
    return tuple(seen)


def telegram_chat(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value.strip()):
        return value.strip()
    return None


def _with_settings(user: SourceUser, settings: dict[str, Any]) -> SourceUser:
    ids = discord_ids(settings.get("discordId")) or discord_ids(settings.get("discordIds"))
    return replace(
        user, discord_ids=ids, telegram_chat_id=telegram_chat(settings.get("telegramChatId")), settings_read=True
    )


def _identified(row: object, kind: str, what: str) -> tuple[dict[str, Any], int] | Malformed:
    """A row's fields and its id; a row without an id cannot be imported, nor named in the summary."""
    body = mapping(row)
    number = id_number(body.get("id"))
    return Malformed(kind, None, f"{what} without an id") if number is None else (body, number)


def parse_user(row: object) -> SourceUser | Malformed:
    found = _identified(row, "user", "a user")
    if isinstance(found, Malformed):
        return found
    body, number = found
    email = _text(body.get("email"))
    name = (
        _text(body.get("username"), 64)
        or _text(body.get("plexUsername"), 64)
        or _text(body.get("jellyfinUsername"), 64)
        or _text(body.get("displayName"), 64)
        or (email.split("@")[0][:64] if email else None)
    )
    if not name:
        return Malformed("user", number, "a user without a name or an email")
    permissions = body.get("permissions")
    if not isinstance(permissions, int) or isinstance(permissions, bool) or permissions < 0:
        return Malformed("user", number, "a user whose permissions are not a number")
    kind = body.get("userType") if isinstance(body.get("userType"), int) else 2
    user = SourceUser(
        id=number,
        name=name,
        email=email if email and "@" in email else None,
        permissions=permissions,
        kind=int(kind),  # type: ignore[arg-type]
        plex_username=_text(body.get("plexUsername"), 200),
        media_server_user_id=_text(body.get("jellyfinUserId"), 64),
        movie_quota=(_count(body.get("movieQuotaLimit")), _count(body.get("movieQuotaDays")) or None),
        tv_quota=(_count(body.get("tvQuotaLimit")), _count(body.get("tvQuotaDays")) or None),
        created_at=_when(body.get("createdAt")),
    )
    settings = body.get("settings")
    return _with_settings(user, settings) if isinstance(settings, dict) else user


def parse_media(row: object) -> SourceMedia | Malformed:
    found = _identified(row, "media", "a title")
    if isinstance(found, Malformed):
        return found
    body, number = found
    kind = body.get("mediaType")
    if kind not in ("movie", "tv"):
        return Malformed("media", number, "a title that is neither a movie nor a series")
    tmdb, tvdb = id_number(body.get("tmdbId")), id_number(body.get("tvdbId"))
    if tmdb is None and tvdb is None:
        return Malformed("media", number, "a title with neither a TMDB nor a TheTVDB id")
    if kind == "movie" and tmdb is None:
        return Malformed("media", number, "a movie without a TMDB id")
    seasons: list[tuple[int, int]] = []
    for season in body.get("seasons") or []:
        season_number = _count(season.get("seasonNumber")) if isinstance(season, dict) else None
        if season_number is not None:
            state = season.get("status")
            seasons.append((season_number, state if isinstance(state, int) and not isinstance(state, bool) else 1))
    status = body.get("status")
    return SourceMedia(
        id=number,
        tv=kind == "tv",
        tmdb_id=tmdb,
        tvdb_id=tvdb,
        imdb_id=imdb_id(body.get("imdbId")),
        status=status if isinstance(status, int) and not isinstance(status, bool) else 1,
        seasons=tuple(seasons),
        created_at=_when(body.get("createdAt")),
    )


def _person(value: object) -> int | None:
    return id_number(value.get("id")) if isinstance(value, dict) else id_number(value)


def parse_request(row: object) -> SourceRequest | Malformed:
    found = _identified(row, "request", "a request")
    if isinstance(found, Malformed):
        return found
    body, number = found
    media = parse_media(body.get("media"))
    if isinstance(media, Malformed):
        return Malformed("request", number, f"its title: {media.reason}")
    status = body.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or status not in (1, 2, 3, 4, 5):
        return Malformed("request", number, "a request whose status is not one Overseerr has")
    seasons = tuple(
        sorted(
            {
                season["seasonNumber"]
                for season in body.get("seasons") or []
                if isinstance(season, dict) and _count(season.get("seasonNumber")) is not None
            }
        )
    )
    return SourceRequest(
        id=number,
        status=status,
        media=media,
        requested_by=_person(body.get("requestedBy")),
        modified_by=_person(body.get("modifiedBy")),
        seasons=seasons,
        is4k=body.get("is4k") is True,
        created_at=_when(body.get("createdAt")),
        updated_at=_when(body.get("updatedAt")),
    )


class OverseerrClient:
    def __init__(self, upstream: Upstream, *, page_size: int = 100, concurrency: int = 4) -> None:
        self.upstream = upstream
        self.page_size = page_size
        self._gate = asyncio.Semaphore(concurrency)

    async def info(self) -> ServerInfo:
        """The program and its version; /settings/main needs the admin API key, so a wrong key shows here."""
        status = mapping(await self.upstream.get_json("/api/v1/status"))
        version = _text(status.get("version"), 40) or "?"
        main = mapping(await self.upstream.get_json("/api/v1/settings/main"))
        if "applicationTitle" not in main and "apiKey" not in main:
            raise UpstreamBadResponse(self.upstream.service, "settings/main is not Overseerr's or Seerr's")
        return ServerInfo(name=_text(main.get("applicationTitle"), 100) or "Overseerr", version=version)

    async def _page(self, path: str, skip: int, extra: dict[str, str]) -> tuple[list[object], int]:
        async with self._gate:
            body = await self.upstream.get_json(path, params={"take": self.page_size, "skip": skip, **extra})
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise UpstreamBadResponse(self.upstream.service, f"{path} did not answer with a page of results")
        info = mapping(body.get("pageInfo"))
        total = info.get("results")
        return list(body["results"]), total if isinstance(total, int) and total >= 0 else len(body["results"])

    async def _all(
        self,
        path: str,
        parse: Callable[[object], T | Malformed],
        extra: dict[str, str],
        progress: Callable[[int, int], None] | None,
    ) -> Paged[T]:
        """Every page: the first says how many there are, the rest are read a few at a time."""
        first, total = await self._page(path, 0, extra)
        rows = [parse(row) for row in first]
        if progress:
            progress(len(first), total)
        offsets = range(self.page_size, total, self.page_size) if len(first) >= self.page_size else range(0)

        async def read(skip: int) -> list[object]:
            page, _ = await self._page(path, skip, extra)
            if progress:
                progress(len(page), total)
            return page

        for page in await asyncio.gather(*(read(skip) for skip in offsets)):
            rows.extend(parse(row) for row in page)
        return Paged(rows, total)

    async def users(self, progress: Callable[[int, int], None] | None = None) -> Paged[SourceUser]:
        found = await self._all("/api/v1/user", parse_user, {"sort": "created"}, progress)
        unread = [row for row in found.rows if isinstance(row, SourceUser) and not row.settings_read]

        async def settings(user: SourceUser) -> SourceUser:
            async with self._gate:
                body = await self.upstream.get_json(f"/api/v1/user/{user.id}/settings/notifications")
            return _with_settings(user, mapping(body))

        read = {user.id: user for user in await asyncio.gather(*(settings(user) for user in unread))}
        rows = [read.get(row.id, row) if isinstance(row, SourceUser) else row for row in found.rows]
        return Paged(rows, found.total)

    async def media(self, progress: Callable[[int, int], None] | None = None) -> Paged[SourceMedia]:
        return await self._all("/api/v1/media", parse_media, {"filter": "all", "sort": "added"}, progress)

    async def requests(self, progress: Callable[[int, int], None] | None = None) -> Paged[SourceRequest]:
        return await self._all("/api/v1/request", parse_request, {"filter": "all", "sort": "added"}, progress)


@asynccontextmanager
async def open_overseerr(endpoint: Endpoint, *, page_size: int = 100) -> AsyncIterator[OverseerrClient]:
    # One's own Overseerr on the local network, read once: no public API's rate to keep to.
    async with connect("Overseerr", endpoint, {"X-Api-Key": endpoint.token}, rate=1000.0) as upstream:
        yield OverseerrClient(upstream, page_size=page_size)
