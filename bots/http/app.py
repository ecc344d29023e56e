"""The FastAPI application and its server. Webhooks prove themselves with the shared secret
(`api.webhook_secret`), in the X-Idkarr-Secret header or the `secret` query parameter (Plex's webhooks cannot
set headers); anything unauthenticated or malformed gets a 4xx and changes nothing."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

import psycopg
import sqlalchemy.exc
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Form, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bots.http.api import api_router, error_status
from bots.http.health import health
from core.config import ApiSettings, Settings
from core.db.session import Database
from core.errors import IdkarrError, StartupError
from core.metrics import REGISTRY, database_figures
from core.runtime import Redis
from core.secretbox import SecretBox
from core.services import arrivals
from core.services.discovery import DiscoveryService
from core.services.webhook_syncs import SyncTrigger
from core.upstream_errors import UpstreamError

__all__ = ["build_app", "http_server"]

log = logging.getLogger(__name__)


# What a field checked by a pattern should look like, in words, for the 400 that refuses it.
_FORMS = {"language": "a language code such as en or en-US", "imdbId": "an IMDb id such as tt0133093"}


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Series(_Loose):
    id: int = Field(ge=1)
    tvdbId: int = Field(ge=1)
    title: str = Field(default="", max_length=500)


class _Movie(_Loose):
    id: int = Field(ge=1)
    tmdbId: int = Field(ge=1)
    title: str = Field(default="", max_length=500)


class _Release(_Loose):
    releaseTitle: str = Field(default="", max_length=500)


class SonarrEvent(_Loose):
    """Sonarr's webhook body, as far as idkarr reads it (the field names are Sonarr's)."""

    eventType: str = Field(max_length=50)
    series: _Series | None = None
    release: _Release | None = None
    deletedFiles: bool = False


class RadarrEvent(_Loose):
    eventType: str = Field(max_length=50)
    movie: _Movie | None = None
    release: _Release | None = None
    deletedFiles: bool = False


class JellyfinEvent(_Loose):
    NotificationType: str = Field(max_length=50)
    ServerId: str | None = Field(default=None, max_length=100)


class _PlexServer(_Loose):
    uuid: str = Field(max_length=100)


class PlexEvent(_Loose):
    event: str = Field(max_length=50)
    Server: _PlexServer | None = None


def _release(release: _Release | None) -> str:
    return release.releaseTitle if release is not None else ""


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _methods_at(app: FastAPI, path: str) -> list[str]:
    """The methods the API's routes take at `path`, from its OpenAPI document (path templates as patterns)."""
    patterns: list[tuple[re.Pattern[str], list[str]]] | None = app.state.route_patterns
    if patterns is None:
        patterns = app.state.route_patterns = [
            (re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"), [m.upper() for m in methods])
            for template, methods in app.openapi().get("paths", {}).items()
        ]
    return sorted({method for pattern, methods in patterns if pattern.match(path) for method in methods})


def _unrouted(
    app: FastAPI, request: Request, status: int, message: str, headers: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """What to say of a path no route serves (404) or a method its routes do not take (405)."""
    where = f"{request.method} {request.url.path}"
    if status == 404:
        return f"there is no {where}: the API's routes are listed in /api/v3/openapi.json", headers
    if status == 405:
        allowed = _methods_at(app, request.url.path)
        if allowed:
            headers["allow"] = ", ".join(allowed)
            return f"{request.url.path} takes {' or '.join(allowed)}, not {request.method}", headers
    return message, headers


def build_app(
    settings: Settings,
    database: Database,
    box: SecretBox,
    syncs: SyncTrigger,
    discovery: DiscoveryService | None = None,
    redis: Redis | None = None,
) -> FastAPI:
    app = FastAPI(
        title="idkarr",
        openapi_url="/api/v3/openapi.json",
        docs_url=None,
        redoc_url=None,
        # idkarr's figures are Prometheus's (/metrics); FastAPI would otherwise ask OpenTelemetry on every call.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.database = database
    app.state.api_keys = {}  # digest -> (until when, the key's user): see bots.http.api._caller
    app.state.redis = redis
    app.state.rate_per_minute = settings.api.rate_per_minute
    app.state.key_prefix = settings.redis.key_prefix
    app.state.route_patterns = None  # see _methods_at

    @app.exception_handler(IdkarrError)
    async def _refused(request: Request, error: IdkarrError) -> JSONResponse:
        status = error_status(error)
        if status >= 500 and not isinstance(error, UpstreamError):
            log.error("event=api_failed path=%s error=%r", request.url.path, str(error))
        code = getattr(error, "code", None) or ("upstream" if isinstance(error, UpstreamError) else "refused")
        return _error(status, code, str(error))

    # The database not answering (restarting, or no connection free for long): the caller should try again,
    # and is told so in the API's own shape rather than with a bare 500.
    @app.exception_handler(sqlalchemy.exc.OperationalError)
    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    @app.exception_handler(psycopg.OperationalError)
    async def _database_away(request: Request, error: Exception) -> JSONResponse:
        cause = getattr(error, "orig", None) or error
        log.warning("event=api_database_unavailable path=%s error=%s", request.url.path, type(cause).__name__)
        answer = _error(503, "database.unavailable", "idkarr's database is not answering; try again in a few seconds")
        answer.headers["retry-after"] = "5"
        return answer

    # Anything else unforeseen: Starlette logs it after this answer, which says nothing of it.
    @app.exception_handler(Exception)
    async def _failed(_request: Request, _unforeseen: Exception) -> JSONResponse:
        return _error(500, "internal", "idkarr failed to answer this; what went wrong is in its log")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ("body", "query", "header", "path", "cookie")
        field = ".".join(str(part) for part in first.get("loc", ()) if part not in where)
        said = first.get("msg", "invalid")
        if first.get("type") == "string_pattern_mismatch" and field in _FORMS:
            said = f"should be {_FORMS[field]}"  # pydantic's own message quotes the regular expression
        if first.get("type") == "json_invalid":
            field, said = "body", f"not valid JSON ({first.get('ctx', {}).get('error', 'cannot be read')})"
        elif first.get("type") == "model_attributes_type" and not field:
            # FastAPI reads a body as JSON only when it is said to be JSON.
            sent = request.headers.get("content-type", "").split(";")[0].strip()
            said = "should be a JSON object"
            if sent != "application/json":
                said += f", sent with Content-Type: application/json (this one came as {sent or 'no content type'})"
        return _error(400, "invalid", f"{field or 'body'}: {said}")

    # Starlette's own, which FastAPI's subclasses: routing's 404 and 405 answer in the same shape as the rest.
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 429: "rate_limited"}.get(
            error.status_code, "error"
        )
        message, headers = str(error.detail), {name.lower(): value for name, value in (error.headers or {}).items()}
        if not isinstance(error, HTTPException):  # raised by routing itself, not by a route
            message, headers = _unrouted(app, request, error.status_code, message, headers)
        answer = _error(error.status_code, "method_not_allowed" if error.status_code == 405 else code, message)
        answer.headers.update(headers)
        return answer

    def authenticated(
        x_idkarr_secret: Annotated[str | None, Header()] = None,
        secret: Annotated[str | None, Query(max_length=500)] = None,
    ) -> None:
        configured = settings.api.webhook_secret
        if configured is None:
            raise HTTPException(403, "webhooks are off: set api.webhook_secret (IDKARR_API__WEBHOOK_SECRET)")
        given = x_idkarr_secret or secret or ""
        if not hmac.compare_digest(given.encode(), configured.get_secret_value().encode()):
            raise HTTPException(401, "a webhook needs the shared secret, in X-Idkarr-Secret or ?secret=")

    hooks = APIRouter(prefix="/api/v3/webhooks", dependencies=[Depends(authenticated)])

    @hooks.post("/sonarr")
    async def sonarr(event: SonarrEvent) -> dict[str, Any]:
        if event.series is None:
            return {"event": event.eventType, "requests": []}
        happened = arrivals.ArrEvent(
            event.eventType, False, event.series.tvdbId, event.series.id, _release(event.release), event.deletedFiles
        )
        return {"event": event.eventType, "requests": await arrivals.arr_event(database, box, happened, settings.sync)}

    @hooks.post("/radarr")
    async def radarr(event: RadarrEvent) -> dict[str, Any]:
        if event.movie is None:
            return {"event": event.eventType, "requests": []}
        happened = arrivals.ArrEvent(
            event.eventType, True, event.movie.tmdbId, event.movie.id, _release(event.release), event.deletedFiles
        )
        return {"event": event.eventType, "requests": await arrivals.arr_event(database, box, happened, settings.sync)}

    @hooks.post("/jellyfin", status_code=202)
    @hooks.post("/emby", status_code=202)
    async def jellyfin(event: JellyfinEvent) -> dict[str, Any]:
        # The plugin's item events say what changed; an incremental sync reads it with season counts.
        queued = await syncs.soon(event.ServerId, kinds=("jellyfin", "emby"))
        return {"event": event.NotificationType, "syncs": queued}

    @hooks.post("/plex", status_code=202)
    async def plex(payload: Annotated[str, Form(max_length=1_000_000)]) -> dict[str, Any]:
        try:
            event = PlexEvent.model_validate(json.loads(payload))
        except (ValueError, ValidationError):
            raise HTTPException(400, "payload: not a Plex webhook") from None
        queued = (
            await syncs.soon(event.Server.uuid if event.Server else None, kinds=("plex",))
            if event.event == "library.new"
            else []
        )
        return {"event": event.event, "syncs": queued}

    app.include_router(hooks)
    app.include_router(api_router(settings, database, discovery))
    # What runs beside the server in this process, filled in by `idkarr run` as each part starts.
    app.state.front_ends = []
    app.state.scheduler = None

    @app.get("/healthz", tags=["health"])
    async def healthz() -> JSONResponse:
        scheduler = app.state.scheduler
        running = None if scheduler is None else bool(scheduler.running)
        well, report = await health(database, redis, list(app.state.front_ends), running)
        return JSONResponse(report, status_code=200 if well else 503)

    @app.get("/metrics", tags=["health"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus text format: this process's counters, and what every process shares from the
        database (requests by status, the outbox's lag). No key, as /healthz: it holds counts, no names."""
        try:
            await database_figures(database)
        except Exception as error:  # the counters are still worth serving while the database is away
            log.warning("event=metrics_database_failed error=%s", type(error).__name__)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return app


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handlers: `idkarr run` owns SIGINT and SIGTERM and stops it."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def http_server(app: FastAPI, api: ApiSettings) -> AsyncIterator[int]:
    """Serve `app` inside this event loop until the block ends; yields the port it listens on.

    The socket is bound here, before uvicorn starts, so a port already taken or a host that is not this
    machine's is one clear line naming the setting (uvicorn itself would exit the whole process)."""
    try:
        family = socket.AF_INET6 if ":" in api.host else socket.AF_INET
        listening = socket.socket(family, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((api.host, api.port))
    except OSError as error:
        listening.close()
        raise StartupError(
            f"the HTTP server cannot listen on {api.host}:{api.port} ({error.strerror or error}); "
            "set api.host and api.port (IDKARR_API__HOST, IDKARR_API__PORT), or api.enabled = false"
        ) from None
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started:
        if task.done():
            listening.close()
            raise StartupError(f"the HTTP server stopped as it started ({api.host}:{api.port}); see the log above")
        await asyncio.sleep(0.01)
    port = listening.getsockname()[1]
    log.info("event=http_listening host=%s port=%d", api.host, port)
    try:
        yield port
    finally:
        server.should_exit = True
        await task
        listening.close()
