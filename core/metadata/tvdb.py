"""TheTVDB v4: season lists in the numbering the download side (Sonarr) uses, and series search.

Authentication is a bearer token from POST /login (API key, and PIN for user-supported keys). The token is
a JWT valid for about a month; it is renewed an hour before it expires and, should TheTVDB reject it
earlier, once on the 401 before giving up.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from core.enums import ContentType
from core.metadata.provider import ExternalIds
from core.metadata.types import ContentFilter, Page, Season, Title, TitleDetails
from core.upstream import Upstream
from core.upstream_errors import UpstreamAuthFailed, UpstreamBadResponse, UpstreamNotFound

__all__ = ["SEASON_TYPES", "TvdbProvider", "token_expiry"]

# TheTVDB's orderings; "official" is the aired order it calls default and Sonarr follows.
SEASON_TYPES = ("official", "dvd", "absolute")
RENEW_BEFORE = 3600.0
# TheTVDB tags series with these genres; with a Japanese origin they make a show anime.
_ANIME_GENRES = {"anime", "animation"}
_IMDB_SOURCE, _TMDB_SOURCE = "IMDB", "TheMovieDB.com"


def token_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (seconds since the epoch), read without verifying: only to plan renewal."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _remote(ids: Any, source: str) -> str | None:
    for entry in ids or ():
        if isinstance(entry, dict) and entry.get("sourceName") == source and entry.get("id"):
            return str(entry["id"])
    return None


class TvdbProvider:
    name = "thetvdb"

    def __init__(
        self, upstream: Upstream, *, api_key: str, pin: str | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._upstream = upstream
        self._credentials = {"apikey": api_key, **({"pin": pin} if pin else {})}
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._login_lock = asyncio.Lock()
        self.logins = 0

    async def _login(self, *, stale: str | None = None) -> str:
        async with self._login_lock:
            # Another caller may have logged in while this one waited for the lock.
            if self._token and self._token != stale and self._clock() < self._expires_at - RENEW_BEFORE:
                return self._token
            body = await self._upstream.request_json("POST", "login", json_body=self._credentials)
            token = (body.get("data") or {}).get("token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                raise UpstreamBadResponse(self._upstream.service, "login answered no token")
            self.logins += 1
            self._token = token
            self._expires_at = token_expiry(token) or self._clock() + 24 * 3600
            return token

    async def _get(self, path: str, **params: Any) -> dict[str, Any]:
        token = self._token
        if token is None or self._clock() >= self._expires_at - RENEW_BEFORE:
            token = await self._login()
        query = {k: v for k, v in params.items() if v is not None}
        try:
            body = await self._upstream.get_json(path, params=query, headers={"Authorization": f"Bearer {token}"})
        except UpstreamAuthFailed:
            # Revoked or expired early: log in again, once.
            token = await self._login(stale=token)
            body = await self._upstream.get_json(path, params=query, headers={"Authorization": f"Bearer {token}"})
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict | list):
            raise UpstreamBadResponse(self._upstream.service, f"{path} answered no data")
        return body

    # --- titles ------------------------------------------------------------------------------------

    @staticmethod
    def _kind(country: Any, genres: list[str]) -> ContentType:
        japanese = str(country or "").lower() in ("jpn", "jp")
        return ContentType.ANIME if japanese and _ANIME_GENRES & {g.lower() for g in genres} else ContentType.SERIES

    def _from_search(self, item: dict[str, Any]) -> Title | None:
        tvdb_id = _int(item.get("tvdb_id"))
        name = item.get("name")
        if tvdb_id is None or not name:
            return None
        genres = [str(g) for g in item.get("genres") or () if g]
        overview = item.get("overview") or (item.get("overviews") or {}).get("eng") or ""
        return Title(
            type=self._kind(item.get("country"), genres),
            title=str(name),
            year=_int(item.get("year")),
            tmdb_id=_int(_remote(item.get("remote_ids"), _TMDB_SOURCE)),
            tvdb_id=tvdb_id,
            imdb_id=_remote(item.get("remote_ids"), _IMDB_SOURCE),
            overview=str(overview),
            poster=item.get("image_url") or None,
            genres=tuple(genres),
            release_date=item.get("first_air_time") or None,
            original_language=item.get("primary_language"),
        )

    async def search(
        self, term: str, content: ContentFilter, *, page: int = 1, year: int | None = None, language: str = "en-US"
    ) -> Page:
        if content == ContentType.MOVIE:
            return Page((), page, 1, 0, source=self.name)  # idkarr takes films from TMDB or the catalog
        body = await self._get("search", query=term, type="series", year=year, offset=(page - 1) * 20, limit=20)
        items = []
        for raw in body["data"] if isinstance(body["data"], list) else ():
            title = self._from_search(raw) if isinstance(raw, dict) else None
            if title is not None and (content is None or title.type == content):
                items.append(title)
        total = _int((body.get("links") or {}).get("total_items")) or len(items)
        return Page(tuple(items), page, max(1, -(-total // 20)), total, source=self.name)

    async def _tvdb_id(self, ids: ExternalIds) -> int:
        if ids.tvdb_id is not None:
            return ids.tvdb_id
        found = await self.resolve(ids)
        if found is None or found.tvdb_id is None:
            raise UpstreamNotFound(self.name, f"no series with {ids.described()}")
        return found.tvdb_id

    async def details(self, content_type: ContentType, ids: ExternalIds, *, language: str = "en-US") -> TitleDetails:
        if content_type == ContentType.MOVIE:
            raise UpstreamNotFound(self.name, "films come from TMDB or the catalog")
        series_id = await self._tvdb_id(ids)
        data = (await self._get(f"series/{series_id}/extended", meta="episodes", short="true"))["data"]
        if not isinstance(data, dict) or not data.get("name"):
            raise UpstreamBadResponse(self.name, f"series/{series_id}/extended has no name")
        genres = [str(g.get("name")) for g in data.get("genres") or () if isinstance(g, dict) and g.get("name")]
        status = data.get("status") or {}
        title = Title(
            type=content_type,
            title=str(data["name"]),
            year=_int(data.get("year")),
            tmdb_id=_int(_remote(data.get("remoteIds"), _TMDB_SOURCE)),
            tvdb_id=series_id,
            imdb_id=_remote(data.get("remoteIds"), _IMDB_SOURCE),
            overview=str(data.get("overview") or ""),
            poster=data.get("image") or None,
            genres=tuple(genres),
            release_date=data.get("firstAired") or None,
            original_language=data.get("originalLanguage"),
        )
        return TitleDetails(
            title, self._seasons(data), status.get("name") if isinstance(status, dict) else None, self.name
        )

    @staticmethod
    def _seasons(data: dict[str, Any]) -> tuple[Season, ...]:
        """The official (aired) order's seasons, with their episode counts, specials (season 0) included."""
        official = {
            _int(season.get("number"))
            for season in data.get("seasons") or ()
            if isinstance(season, dict) and (season.get("type") or {}).get("type") in ("official", "default")
        }
        counts = Counter(
            _int(episode.get("seasonNumber"))
            for episode in data.get("episodes") or ()
            if isinstance(episode, dict) and _int(episode.get("seasonNumber")) is not None
        )
        numbers = sorted(n for n in (official | set(counts)) if n is not None)
        return tuple(Season(number, counts.get(number, 0)) for number in numbers)

    async def episode_counts(self, series_id: int, season_type: str) -> dict[int, int]:
        """Episodes per season in another ordering (dvd, absolute), following TheTVDB's pages."""
        if season_type not in SEASON_TYPES:
            raise ValueError(f"season type must be one of {', '.join(SEASON_TYPES)}")
        counts: Counter[int] = Counter()
        for page in range(100):  # a 10,000-episode cap, far past any series
            body = await self._get(f"series/{series_id}/episodes/{season_type}", page=page)
            episodes = (body["data"] or {}).get("episodes") if isinstance(body["data"], dict) else None
            for episode in episodes or ():
                number = _int(episode.get("seasonNumber")) if isinstance(episode, dict) else None
                if number is not None:
                    counts[number] += 1
            if not (body.get("links") or {}).get("next"):
                break
        return dict(sorted(counts.items()))

    async def resolve(self, ids: ExternalIds) -> Title | None:
        if ids.tvdb_id is not None:
            details = await self.details(ContentType.SERIES, ids)
            return details.title
        remote = ids.imdb_id
        if not remote:
            return None
        body = await self._get(f"search/remoteid/{remote}")
        for entry in body["data"] if isinstance(body["data"], list) else ():
            series = entry.get("series") if isinstance(entry, dict) else None
            if isinstance(series, dict) and _int(series.get("id")):
                return (await self.details(ContentType.SERIES, ExternalIds(tvdb_id=int(series["id"])))).title
        return None
