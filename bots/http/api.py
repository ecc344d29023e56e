"""The HTTP API (/api/v3): discovery, requests and activity for scripts and dashboards, through the same core
rules the bots use. A caller is an idkarr user by their API key (X-Api-Key, `idkarr user api-key NAME`); no
route acts as the operator. Answers are `{"data": ...}`; refusals are `{"code", "message"}` with the status
their kind calls for (see `error_status`)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal

import orjson
import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection

from core.config import Settings
from core.db.session import Database
from core.enums import ActivityType, ContentType, DiscoveryKind, RequestStatus, WatchlistType
from core.errors import AlreadyAvailable, AlreadyDecided, AlreadyExists, DomainError, InvalidInput, NotAllowed, NotFound
from core.memo import ByIdentity
from core.metadata.provider import ExternalIds
from core.metadata.types import DiscoverQuery
from core.pubsub import ACTIVITY, first_of, woken_by
from core.services import identity, requests, watchlists
from core.services.activity import ActivityEntry, feed, latest_id
from core.services.discovery import DiscoveryPage, DiscoveryService
from core.services.users import UserSummary
from core.upstream_errors import UpstreamError, UpstreamNotFound, UpstreamUnavailable

__all__ = ["api_router", "error_status"]

Content = Literal["series", "anime", "movie"]
ContentOrAll = Literal["series", "anime", "movie", "all"]
ListKind = Literal["trending", "popular", "upcoming", "top-rated", "airing-today", "on-the-air"]


def error_status(error: Exception) -> int:
    """The HTTP status of a refusal or an upstream failure."""
    if isinstance(error, NotFound | UpstreamNotFound):
        return 404
    if isinstance(error, NotAllowed):
        return 403
    if isinstance(error, AlreadyDecided | AlreadyExists | AlreadyAvailable):
        return 409
    if isinstance(error, InvalidInput):
        return 400
    if isinstance(error, UpstreamUnavailable):
        return 503
    if isinstance(error, UpstreamError):
        return 502
    return 400 if isinstance(error, DomainError) else 500


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeasonChoice(_Body):
    seasonNumber: int = Field(ge=0, le=10_000)
    monitored: bool = True


class NewRequest(_Body):
    contentType: Content
    tmdbId: int | None = Field(default=None, ge=1, le=2**31 - 1)
    tvdbId: int | None = Field(default=None, ge=1, le=2**31 - 1)
    aniDbId: int | None = Field(default=None, ge=1, le=2**31 - 1)
    imdbId: str | None = Field(default=None, pattern=r"^tt\d{5,10}$")
    seasons: list[SeasonChoice] | None = Field(default=None, max_length=200)
    qualityProfileId: int | None = Field(default=None, ge=1, le=2**31 - 1)
    rootFolderId: int | None = Field(default=None, ge=1, le=2**31 - 1)


class Approval(_Body):
    instance: str | None = Field(default=None, min_length=1, max_length=100)
    qualityProfileId: int | None = Field(default=None, ge=1, le=2**31 - 1)
    rootFolderId: int | None = Field(default=None, ge=1, le=2**31 - 1)


class WatchlistTitle(_Body):
    contentType: Content
    tmdbId: int | None = Field(default=None, ge=1, le=2**31 - 1)
    tvdbId: int | None = Field(default=None, ge=1, le=2**31 - 1)


class WatchlistAdd(WatchlistTitle):
    list: WatchlistType = WatchlistType.WATCHLIST


class WatchlistChange(WatchlistTitle):
    list: WatchlistType | None = None
    season: int | None = Field(default=None, ge=0, le=10_000)
    episode: int | None = Field(default=None, ge=0, le=10_000)
    rating: int | None = Field(default=None, ge=1, le=10, description="0 is not a rating; clearRating removes one")
    review: str | None = Field(default=None, min_length=1, max_length=watchlists.MAX_REVIEW)
    clearRating: bool = False
    clearReview: bool = False


class Denial(_Body):
    reason: str = Field(min_length=1, max_length=500)


def _data(value: Any, status: int = 200) -> Response:
    """An answer, serialised here: FastAPI's own encoding of a returned dict walked every value again and
    cost more than the call's work."""
    return Response(orjson.dumps({"data": value}), status_code=status, media_type="application/json")


def _page_answer(bodies: ByIdentity[bytes], page: DiscoveryPage) -> Response:
    """A discovery page as an answer, serialised once: the discovery service hands the same page object out
    again while nothing about it changed (see DiscoveryService._marked)."""
    body = bodies.get(page) or bodies.put(orjson.dumps({"data": page.to_json()}), page)
    return Response(body, media_type="application/json")


def _content(value: str) -> ContentType | None:
    return None if value == "all" else ContentType(value)


async def _caller(request: Request, x_api_key: Annotated[str | None, Header(max_length=200)] = None) -> UserSummary:
    return await _identify(request, x_api_key)


async def _identify(request: HTTPConnection, x_api_key: str | None) -> UserSummary:
    """The idkarr user whose API key this is (the app keeps the database in its state), within their rate."""
    if not x_api_key:
        raise HTTPException(401, "an API key is needed, in the X-Api-Key header (idkarr user api-key NAME)")
    known: dict[str, tuple[float, UserSummary]] = request.app.state.api_keys
    digest = hashlib.sha256(x_api_key.encode()).hexdigest()
    now = time.monotonic()
    cached = known.get(digest)
    if cached is not None and cached[0] > now:
        who = cached[1]
    else:
        try:
            who = await identity.authenticate_api_key(request.app.state.database, x_api_key)
        except NotAllowed:
            raise HTTPException(401, "that API key is not valid") from None
        if len(known) > 10_000:  # keys are few; this only bounds a flood of distinct valid ones
            known.clear()
        known[digest] = (now + _KEY_SECONDS, who)
    await _within_rate(request, who.id)
    return who


# A key is checked against the database at most this often per process: a revoked key or a disabled user
# stops working within this many seconds, and a script's calls each cost no transaction of their own.
_KEY_SECONDS = 10.0


async def _within_rate(request: HTTPConnection, user_id: int) -> None:
    """Each key's calls per minute, counted in Redis across every idkarr process (a fixed window: one INCR
    and one EXPIRE a call); past the limit, 429 with the seconds to the next window."""
    redis, limit = request.app.state.redis, request.app.state.rate_per_minute
    if redis is None or not limit:
        return
    now = time.time()
    window = int(now // 60)
    key = f"{request.app.state.key_prefix}api:rate:{user_id}:{window}"
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
    except (aioredis.RedisError, OSError):
        return  # Redis away: serve rather than refuse everyone
    if count > limit:
        wait = max(1, int((window + 1) * 60 - now) + 1)
        raise HTTPException(
            429,
            f"more than {limit} calls a minute with this key; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


# At module level: FastAPI reads the (postponed) annotations in the module's namespace.
Caller = Annotated[UserSummary, Depends(_caller)]


def api_router(settings: Settings, database: Database, discovery: DiscoveryService | None) -> APIRouter:
    router = APIRouter(prefix="/api/v3")
    bodies: ByIdentity[bytes] = ByIdentity()

    def titles() -> DiscoveryService:
        if discovery is None:
            raise HTTPException(503, "discovery is not running in this process")
        return discovery

    @router.get("/discovery", tags=["discovery"])
    async def discover(
        who: Caller,
        type: ListKind,
        contentType: ContentOrAll = "all",
        language: Annotated[
            str, Query(min_length=2, max_length=10, pattern=r"^[A-Za-z]{2}(-[A-Za-z]{2})?$")
        ] = "en-US",  # the bots' language: their pages and the API's are cached once for both
        page: Annotated[int, Query(ge=1, le=500)] = 1,
        pageSize: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> Response:
        found = await titles().discover(
            DiscoveryKind(type),
            _content(contentType),
            page=page,
            page_size=pageSize,
            query=DiscoverQuery(language=language),
        )
        return _page_answer(bodies, found)

    @router.get("/discovery/search", tags=["discovery"])
    async def search(
        who: Caller,
        term: Annotated[str, Query(min_length=1, max_length=200)],
        contentType: ContentOrAll = "all",
        page: Annotated[int, Query(ge=1, le=500)] = 1,
    ) -> Response:
        if not term.strip():
            raise InvalidInput("term: say what to search for", code="api.term")
        found = await titles().search(term, _content(contentType), page=page)
        return _page_answer(bodies, found)

    @router.get("/discovery/similar/{mediaId}", tags=["discovery"])
    async def similar(
        who: Caller,
        mediaId: Annotated[int, Path(ge=1, le=2**31 - 1, description="TMDB id of a film, TheTVDB id of a show")],
        contentType: Content,
        page: Annotated[int, Query(ge=1, le=500)] = 1,
    ) -> Response:
        kind = ContentType(contentType)
        ids = ExternalIds(tmdb_id=mediaId) if kind == ContentType.MOVIE else ExternalIds(tvdb_id=mediaId)
        found = await titles().related(DiscoveryKind.SIMILAR, kind, ids, page=page)
        return _page_answer(bodies, found)

    @router.get("/discovery/upcoming", tags=["discovery"])
    async def upcoming(
        who: Caller,
        contentType: ContentOrAll = "all",
        days: Annotated[int, Query(ge=1, le=365)] = 30,
        page: Annotated[int, Query(ge=1, le=500)] = 1,
    ) -> Response:
        found = await titles().upcoming(_content(contentType), days=days, page=page)
        return _page_answer(bodies, found)

    @router.get("/requests", tags=["requests"])
    async def all_requests(
        who: Caller,
        status: RequestStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> Response:
        if not (await requests.abilities(database, who.id)).view_all:
            raise NotAllowed("seeing everyone's requests needs the view_all_requests permission", code="api.view_all")
        found = await requests.list_requests(database, viewer=who.id, status=status, limit=limit, offset=offset)
        return _data([view.to_json() for view in found])

    @router.get("/requests/my", tags=["requests"])
    async def my_requests(
        who: Caller,
        status: RequestStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> Response:
        found = await requests.list_requests(
            database, viewer=who.id, status=status, user_id=who.id, limit=limit, offset=offset
        )
        return _data([view.to_json() for view in found])

    @router.post("/requests", status_code=201, tags=["requests"])
    async def create_request(who: Caller, body: NewRequest) -> Response:
        kind = ContentType(body.contentType)
        if body.aniDbId is not None and body.tvdbId is None and body.tmdbId is None:
            raise InvalidInput("aniDbId: idkarr finds anime by tvdbId or tmdbId; give one of them", code="api.anidb")
        if body.qualityProfileId is not None or body.rootFolderId is not None:
            raise InvalidInput(
                "qualityProfileId, rootFolderId: a moderator chooses them when approving "
                "(POST /api/v3/requests/{id}/approve)",
                code="api.placement_at_approval",
            )
        tvdb = None if kind == ContentType.MOVIE else body.tvdbId
        if body.tmdbId is None and tvdb is None and body.imdbId is None:
            needed = "tmdbId or imdbId" if kind == ContentType.MOVIE else "tvdbId, tmdbId or imdbId"
            raise InvalidInput("{needed}: say which title", code="api.which_title", needed=needed)
        ids = ExternalIds(tmdb_id=body.tmdbId, tvdb_id=tvdb, imdb_id=body.imdbId)
        chosen = None if body.seasons is None else [s.seasonNumber for s in body.seasons if s.monitored]
        details = await titles().details(kind, ids)
        made = await requests.create(database, details, actor_id=who.id, seasons=chosen, settings=settings.requests)
        return _data({"outcome": made.outcome, **made.request.to_json()}, 201)

    @router.post("/requests/{request_id}/approve", tags=["requests"])
    async def approve(
        who: Caller, request_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: Approval | None = None
    ) -> Response:
        chosen = body or Approval()
        placement = requests.Placement(
            instance=chosen.instance,
            quality_profile=str(chosen.qualityProfileId) if chosen.qualityProfileId else None,
            root_folder=str(chosen.rootFolderId) if chosen.rootFolderId else None,
        )
        view = await requests.approve(database, request_id, actor_id=who.id, placement=placement)
        return _data(view.to_json())

    @router.post("/requests/{request_id}/deny", tags=["requests"])
    async def deny(who: Caller, request_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: Denial) -> Response:
        view = await requests.deny(database, request_id, actor_id=who.id, reason=body.reason)
        return _data(view.to_json())

    @router.get("/activity", tags=["activity"])
    async def activity(
        who: Caller,
        type: ActivityType | None = None,
        contentType: Content | None = None,
        userId: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> Response:
        entries = await feed(
            database,
            reader=who.id,
            types=[type] if type else None,
            content_type=ContentType(contentType) if contentType else None,
            user_id=userId,
            limit=limit,
            offset=offset,
        )
        return _data([entry.to_json() for entry in entries])

    @router.get("/activity/stream", tags=["activity"], response_class=StreamingResponse)
    async def activity_stream(
        who: Caller,
        request: Request,
        last_event_id: Annotated[str | None, Header(max_length=20)] = None,
    ) -> StreamingResponse:
        """The feed as it happens, as Server-Sent Events (`id` is the entry's id, `event` its type, `data` the
        entry as JSON). Reconnecting with Last-Event-ID first sends what was missed, in order."""
        if last_event_id is not None and not last_event_id.isdigit():
            raise InvalidInput("last-event-id: the id of the last event received", code="api.last_event_id")
        # Checked before the stream starts, so a caller who may not see the feed gets 403, not an empty stream.
        await feed(database, reader=who.id, limit=1)
        start = int(last_event_id) if last_event_id is not None else await latest_id(database)
        redis, prefix = request.app.state.redis, request.app.state.key_prefix
        return StreamingResponse(
            _as_server_events(_live(database, who.id, start, request.is_disconnected, None, redis, prefix)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @router.websocket("/ws")
    async def activity_socket(websocket: WebSocket) -> None:
        """The feed as it happens over a WebSocket: one JSON text message per entry, `{"id", "type", "data"}`.
        The key goes in the X-Api-Key header (or `?apiKey=` where a client cannot set headers); `?after=ID`
        first sends what came after that entry, in order. A refusal closes the socket with 4400, 4401, 4403
        or 4429 and says why."""
        after = websocket.query_params.get("after")
        key = websocket.headers.get("x-api-key") or websocket.query_params.get("apiKey")
        await websocket.accept()
        try:
            if after is not None and not (after.isdigit() and len(after) <= 18):
                raise InvalidInput("after: the id of the last entry received", code="api.after")
            who = await _identify(websocket, key[:200] if key else None)
            await feed(database, reader=who.id, limit=1)  # may this caller see the feed at all?
        except HTTPException as refusal:
            await websocket.close(4000 + refusal.status_code, _close_reason(str(refusal.detail)))
            return
        except DomainError as refusal:
            await websocket.close(4000 + error_status(refusal), _close_reason(str(refusal)))
            return
        start = int(after) if after is not None else await latest_id(database)
        left = asyncio.Event()

        async def until_closed() -> None:
            # What the client sends is not read, only whether it is still there.
            try:
                while True:
                    await websocket.receive_text()
            except (WebSocketDisconnect, RuntimeError):
                left.set()

        async def gone() -> bool:
            return left.is_set()

        watcher = asyncio.create_task(until_closed())
        redis, prefix = websocket.app.state.redis, websocket.app.state.key_prefix
        try:
            async for entry in _live(database, who.id, start, gone, left, redis, prefix):
                if entry is not None:
                    message = {"id": entry.id, "type": entry.type.value, "data": entry.to_json()}
                    await websocket.send_text(orjson.dumps(message).decode())
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client left while an entry was on its way: it resumes with ?after=
        finally:
            watcher.cancel()

    @router.get("/activity/my", tags=["activity"])
    async def my_activity(
        who: Caller,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> Response:
        entries = await feed(database, reader=who.id, user_id=who.id, limit=limit, offset=offset)
        return _data([entry.to_json() for entry in entries])

    @router.get("/watchlist", tags=["watchlist"])
    async def watchlist(
        who: Caller,
        userId: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        list: WatchlistType | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> Response:
        """One's own list, or another person's as their privacy allows."""
        found = await watchlists.entries(
            database, owner_id=userId or who.id, reader=who.id, kind=list, limit=limit, offset=offset
        )
        return _data([entry.to_json() for entry in found])

    @router.post("/watchlist", status_code=201, tags=["watchlist"])
    async def watchlist_add(who: Caller, body: WatchlistAdd) -> Response:
        kind = ContentType(body.contentType)
        details = await titles().details(kind, _watched_ids(kind, body))
        entry = await watchlists.add(database, who.id, details.title, body.list)
        return _data(entry.to_json(), 201)

    @router.patch("/watchlist", tags=["watchlist"])
    async def watchlist_change(who: Caller, body: WatchlistChange) -> Response:
        kind = ContentType(body.contentType)
        ids = _watched_ids(kind, body)
        if body.rating is not None and body.clearRating:
            raise InvalidInput("rating, clearRating: give one or the other", code="api.rating_twice")
        if body.review is not None and body.clearReview:
            raise InvalidInput("review, clearReview: give one or the other", code="api.review_twice")
        entry = await watchlists.update(
            database,
            who.id,
            kind,
            tmdb_id=ids.tmdb_id,
            tvdb_id=ids.tvdb_id,
            kind=body.list,
            season=body.season,
            episode=body.episode,
            rating=watchlists.CLEAR if body.clearRating else body.rating,
            review=watchlists.CLEAR if body.clearReview else body.review,
        )
        return _data(entry.to_json())

    @router.delete("/watchlist", tags=["watchlist"])
    async def watchlist_remove(
        who: Caller,
        contentType: Content,
        tmdbId: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        tvdbId: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    ) -> Response:
        kind = ContentType(contentType)
        ids = _watched_ids(kind, WatchlistTitle(contentType=contentType, tmdbId=tmdbId, tvdbId=tvdbId))
        title = await watchlists.remove(database, who.id, kind, tmdb_id=ids.tmdb_id, tvdb_id=ids.tvdb_id)
        return _data({"removed": title})

    return router


# Entries are numbered as their transactions begin writing, and committed in whatever order those finish: a
# stream reads back a little behind the newest id it sent, and skips what it already sent.
_SETTLE_MARGIN = 200
_KEEP_ALIVE_SECONDS = 15.0


async def _live(
    database: Database,
    reader: int,
    after: int,
    gone: Callable[[], Awaitable[bool]],
    stop: asyncio.Event | None,
    redis: aioredis.Redis | None,
    prefix: str,
) -> AsyncIterator[ActivityEntry | None]:
    """The feed from `after` on, as it happens, as `reader` may see it; None every so often while nothing
    happens (a keep-alive). Ends when `gone` says the client left, or `stop` is set."""
    sent: deque[int] = deque(maxlen=4 * _SETTLE_MARGIN)
    floor = after  # nothing at or below this is sent: the client has it
    newest = after
    async with woken_by(redis, prefix, [ACTIVITY]) as wake:
        while not await gone():
            wake.clear()
            since = max(floor, newest - _SETTLE_MARGIN)
            entries = await feed(database, reader=reader, after=since, limit=100)
            fresh = [entry for entry in entries if entry.id not in sent]
            for entry in fresh:
                sent.append(entry.id)
                newest = max(newest, entry.id)
                yield entry
            if len(entries) == 100:
                continue
            await first_of(wake, *([stop] if stop else []), seconds=_KEEP_ALIVE_SECONDS)
            if not wake.is_set():
                yield None


async def _as_server_events(entries: AsyncIterator[ActivityEntry | None]) -> AsyncIterator[bytes]:
    async for entry in entries:
        if entry is None:
            yield b": keep-alive\n\n"
            continue
        body = orjson.dumps(entry.to_json()).decode()
        yield f"id: {entry.id}\nevent: {entry.type.value}\ndata: {body}\n\n".encode()


def _close_reason(text: str) -> str:
    # A close frame's reason is at most 123 bytes of UTF-8.
    return text.encode()[:123].decode(errors="ignore")


def _watched_ids(kind: ContentType, body: WatchlistTitle) -> ExternalIds:
    """A list entry's title: a film by its TMDB id, a show by its TheTVDB or TMDB id."""
    tvdb = None if kind == ContentType.MOVIE else body.tvdbId
    if body.tmdbId is None and tvdb is None:
        needed = "tmdbId" if kind == ContentType.MOVIE else "tvdbId or tmdbId"
        raise InvalidInput("{needed}: say which title", code="api.which_title", needed=needed)
    return ExternalIds(tmdb_id=body.tmdbId, tvdb_id=tvdb)
