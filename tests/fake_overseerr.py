"""A fake Overseerr (or Seerr, by its version) on 127.0.0.1: API v1 with X-Api-Key, answering /status,
/settings/main, /user (paged, as `{"pageInfo", "results"}`), /user/{id}/settings/notifications, /media and
/request (paged the same way, each request with its media and its requester inline), in the shapes of
Overseerr's API documentation. Tests put rows in, malformed ones included."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .fakes import json_response

OVERSEERR_KEY = "MTY4MzQ1NjcwMDAwMGFiY2RlZi0xMjM0LTU2NzgtOWFiYy1kZWYwMTIzNDU2Nzg="

_STAMP = "2024-03-01T12:00:00.000Z"


def user(number: int, name: str, *, permissions: int = 32, user_type: int = 2, **extra: Any) -> dict[str, Any]:
    """A user as Overseerr lists one (its notification settings are a route of their own)."""
    return {
        "id": number,
        "email": f"{name.lower()}@example.org",
        "plexUsername": None,
        "username": name,
        "userType": user_type,
        "permissions": permissions,
        "avatar": "/os_logo_square.png",
        "createdAt": _STAMP,
        "updatedAt": _STAMP,
        "requestCount": 0,
        "movieQuotaLimit": None,
        "movieQuotaDays": None,
        "tvQuotaLimit": None,
        "tvQuotaDays": None,
        "displayName": name,
        **extra,
    }


def media(
    number: int, *, tmdb: int, tvdb: int | None = None, tv: bool = False, status: int = 2, **extra: Any
) -> dict[str, Any]:
    return {
        "id": number,
        "mediaType": "tv" if tv else "movie",
        "tmdbId": tmdb,
        "tvdbId": tvdb,
        "imdbId": None,
        "status": status,
        "status4k": 1,
        "createdAt": _STAMP,
        "updatedAt": _STAMP,
        "lastSeasonChange": _STAMP,
        "mediaAddedAt": _STAMP if status in (4, 5) else None,
        "serviceId": 0,
        "externalServiceId": None,
        "externalServiceSlug": None,
        "ratingKey": None,
        "seasons": [],
        **extra,
    }


def request(
    number: int,
    of: dict[str, Any],
    by: dict[str, Any],
    *,
    status: int = 1,
    modified_by: dict[str, Any] | None = None,
    seasons: list[int] | None = None,
    created: str = _STAMP,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": number,
        "status": status,
        "media": of,
        "createdAt": created,
        "updatedAt": created,
        "requestedBy": by,
        "modifiedBy": modified_by,
        "is4k": False,
        "serverId": 0,
        "profileId": 4,
        "rootFolder": "/movies" if of.get("mediaType") == "movie" else "/tv",
        "type": of.get("mediaType"),
        "seasons": [
            {"id": number * 100 + season, "seasonNumber": season, "status": status} for season in (seasons or [])
        ],
        **extra,
    }


@dataclass
class FakeOverseerr:
    version: str = "1.33.2"  # Seerr answers 2.x and later
    port: int = 0
    users: list[dict[str, Any]] = field(default_factory=list)
    notifications: dict[int, dict[str, Any]] = field(default_factory=dict)  # user id -> notification settings
    media: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    broken_page: str | None = None  # a path whose second page answers 500

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls.append(f"{request.method} {request.path_qs}")
        if request.path != "/api/v1/status" and request.headers.get("X-Api-Key") != OVERSEERR_KEY:
            return json_response({"message": "You do not have permission to access this endpoint"}, 403)
        response: web.StreamResponse = await handler(request)
        return response

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/api/v1/status", self._status)
        app.router.add_get("/api/v1/settings/main", self._main)
        app.router.add_get("/api/v1/user", self._paged(lambda: self.users))
        app.router.add_get("/api/v1/user/{id}/settings/notifications", self._notifications)
        app.router.add_get("/api/v1/media", self._paged(lambda: self.media))
        app.router.add_get("/api/v1/request", self._paged(lambda: self.requests))
        return app

    async def _status(self, _request: web.Request) -> web.Response:
        return json_response({"version": self.version, "commitTag": "local", "updateAvailable": False})

    async def _main(self, _request: web.Request) -> web.Response:
        return json_response(
            {
                "apiKey": OVERSEERR_KEY,
                "applicationTitle": "Overseerr" if self.version.startswith("1.") else "Seerr",
                "applicationUrl": "",
                "defaultPermissions": 32,
                "hideAvailable": False,
                "localLogin": True,
                "region": "",
                "originalLanguage": "",
            }
        )

    def _paged(self, rows: Any) -> Any:
        async def page(request: web.Request) -> web.Response:
            try:
                take = int(request.query.get("take", "20"))
                skip = int(request.query.get("skip", "0"))
            except ValueError:
                return json_response({"message": "take and skip must be numbers"}, 400)
            if self.broken_page == request.path and skip > 0:
                return json_response({"message": "Something went wrong."}, 500)
            everything = rows()
            pages = -(-len(everything) // take) if take else 0
            return json_response(
                {
                    "pageInfo": {
                        "pages": pages,
                        "pageSize": take,
                        "results": len(everything),
                        "page": skip // take + 1,
                    },
                    "results": everything[skip : skip + take],
                }
            )

        return page

    async def _notifications(self, request: web.Request) -> web.Response:
        number = int(request.match_info["id"])
        if not any(row.get("id") == number for row in self.users if isinstance(row, dict)):
            return json_response({"message": "User not found."}, 404)
        settings = {
            "enableNotifications": True,
            "notificationTypes": {},
            "discordId": None,
            "telegramChatId": None,
            "telegramSendSilently": False,
            "pgpKey": None,
            **self.notifications.get(number, {}),
        }
        return json_response(settings)
