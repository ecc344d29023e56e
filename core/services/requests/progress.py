"""What happens to a request after the decision: it becomes available (wholly or in part) as media-server
sync finds it, fails and is retried, or expires unanswered; and while pending its seasons can be changed.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Integer, bindparam, case, func, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert

from core.config import RequestSettings
from core.db.models import Media, MediaSeason, Request
from core.db.pgtypes import MEDIA_STATUS
from core.db.prepared import Prepared
from core.db.session import Database, Unit
from core.enums import ActivityType, ContentType, MediaStatus, RequestStatus
from core.errors import InvalidInput, NotAllowed
from core.metadata.types import TitleDetails
from core.permissions import Permission, effective_permissions
from core.services import outbox
from core.services.requests.common import (
    CHANGE_SEASONS,
    MAX_REASON,
    REQUEST_COLUMNS,
    LibraryEvent,
    RequestView,
    change,
    followers,
    load_user,
    record_change,
    record_library,
    request_change,
    require_permission,
    season_json,
    season_numbers,
    view_of,
)
from core.services.requests.create import check_quota, choose_seasons
from core.services.requests.decisions import approve_row, claim
from core.services.requests.placement import media_for
from core.services.requests.reading import get
from core.text import clean_text

if TYPE_CHECKING:
    from core.services.discovery import DiscoveryService

__all__ = ["edit_seasons", "expire_due", "mark_available", "mark_failed", "mark_removed", "retry"]

_IN_PROGRESS = (RequestStatus.APPROVED, RequestStatus.PARTIAL)


# Seasons arriving on a library record (upserted as available), and every season now available on it.
_SEASONS_ARRIVED = Prepared(
    insert(MediaSeason)
    .from_select(
        ["media_id", "season_number", "status"],
        select(
            bindparam("media", type_=Integer),
            func.unnest(bindparam("seasons", type_=ARRAY(Integer))),
            literal(MediaStatus.AVAILABLE, type_=MEDIA_STATUS),
        ),
    )
    .on_conflict_do_update(
        index_elements=[MediaSeason.media_id, MediaSeason.season_number], set_={"status": MediaStatus.AVAILABLE}
    )
)
_SEASONS_AVAILABLE = Prepared(
    select(MediaSeason.season_number).where(
        MediaSeason.media_id == bindparam("media"), MediaSeason.status == MediaStatus.AVAILABLE
    )
)
_MEDIA_AVAILABLE = Prepared(
    update(Media)
    .where(Media.id == bindparam("media"))
    .values(
        status=bindparam("status", type_=MEDIA_STATUS),
        available_at=case((bindparam("complete", type_=Boolean), func.now()), else_=Media.available_at),
    )
)


async def _season_rows(session: Unit, media_id: int, seasons: Sequence[int]) -> set[int]:
    """Mark seasons available on the library record; returns every season now available."""
    if seasons:
        await _SEASONS_ARRIVED.rows(session, media=media_id, seasons=sorted(set(seasons)))
    return {row.season_number for row in await _SEASONS_AVAILABLE.rows(session, media=media_id)}


_FOUND = request_change("status", "media_id")
_LINKED = request_change("media_id")
_FAILED = request_change("status", "failure_reason")


async def mark_available(
    database: Database,
    request_id: int,
    *,
    seasons: Sequence[int] | None = None,
    check_with: DiscoveryService | None = None,
) -> RequestView:
    """The film, or these seasons of a show, arrived in the library: the one way to say so (media-server sync,
    the CLI's `request available`). `seasons` None: everything the request asked for. With `check_with`,
    seasons a person typed are checked against the title's real list first (a typo must not fill the
    library), read outside the transaction."""
    if seasons is not None and check_with is not None:
        asked = await get(database, request_id)
        choose_seasons((await check_with.title(asked.content_type, asked.lookup_ids())).details, seasons)
    async with database.unit() as session:
        request = await claim(session, request_id, "marked available", _IN_PROGRESS)
        media = (await media_for(session, request)).media
        library: LibraryEvent | None = None
        if request.content_type == ContentType.MOVIE:
            complete, newly = True, set()
            if media.status != MediaStatus.AVAILABLE:
                library = LibraryEvent(ActivityType.MOVIE_ADDED, media.id)
        else:
            before = await _season_rows(session, media.id, ())
            arriving = season_numbers(request.seasons) if seasons is None else set(seasons)
            now_available = await _season_rows(session, media.id, sorted(arriving))
            arrived = sorted(now_available - before)
            if arrived:
                only = arrived[0] if len(arrived) == 1 else None
                library = LibraryEvent(ActivityType.EPISODE_ADDED, media.id, only, {"seasons": arrived})
            wanted = season_numbers(request.seasons)
            newly = (now_available - before) & wanted
            complete = wanted <= now_available
            if not newly and not complete:
                # Nothing new for this request; it is still tied to its library record.
                if request.media_id != media.id:
                    request = await change(session, _LINKED, request.id, media_id=media.id)
                if library is not None:  # seasons nobody asked for here still arrived in the library
                    await record_library(session, request, None, library)
                return await view_of(session, request)
        status = MediaStatus.AVAILABLE if complete else MediaStatus.PARTIALLY_AVAILABLE
        await _MEDIA_AVAILABLE.rows(session, media=media.id, status=status, complete=complete)
        found = {"status": RequestStatus.AVAILABLE if complete else RequestStatus.PARTIAL, "media_id": media.id}
        kind = ActivityType.REQUEST_AVAILABLE if complete else ActivityType.REQUEST_PARTIAL
        request, followed_by = await record_change(
            session, request, _FOUND, found, None, kind, followers(request), library=library, seasons=sorted(newly)
        )
        return await view_of(session, request, followed_by=followed_by)


async def mark_failed(database: Database, request_id: int, *, reason: str) -> RequestView:
    """The download side could not take or complete the request."""
    return await _fail(database, request_id, reason, _IN_PROGRESS)


async def mark_removed(database: Database, request_id: int, *, server: str) -> RequestView:
    """What the request brought is gone from the media servers: it is no longer available, and its people
    are told; retrying it sends it to the download side again."""
    reason = f"removed from the library (gone from {server})"
    return await _fail(database, request_id, reason, (RequestStatus.AVAILABLE, RequestStatus.PARTIAL))


async def _fail(database: Database, request_id: int, reason: str, allowed: tuple[RequestStatus, ...]) -> RequestView:
    reason = clean_text(reason)[:MAX_REASON] or "unknown error"
    async with database.unit() as session:
        request = await claim(session, request_id, "marked failed", allowed)
        failing = {"status": RequestStatus.FAILED, "failure_reason": reason}
        request, followed_by = await record_change(
            session, request, _FAILED, failing, None, ActivityType.REQUEST_FAILED, followers(request), reason=reason
        )
        return await view_of(session, request, followed_by=followed_by)


async def retry(database: Database, request_id: int, *, actor_id: int) -> RequestView:
    async with database.unit() as session:
        actor = await load_user(session, actor_id)
        require_permission(actor, Permission.MANAGE_REQUESTS)
        request = await claim(session, request_id, "retried", (RequestStatus.FAILED,))
        approved = await approve_row(session, request, actor, retry=True)
        return await view_of(session, approved.request, followed_by=approved.followed_by)


_DUE = Prepared(
    select(*REQUEST_COLUMNS)
    .where(Request.status == RequestStatus.PENDING, Request.expires_at <= bindparam("moment"))
    .order_by(Request.expires_at)
    .limit(bindparam("batch"))
    .with_for_update(skip_locked=True),
    Request,
)
_EXPIRED = request_change("status")


async def expire_due(database: Database, *, now: datetime | None = None, batch: int = 500) -> int:
    """Expire pending requests past their date; the scheduler runs this. Returns how many expired.

    SKIP LOCKED leaves a request a moderator is deciding this very moment to that moderator.
    """
    moment = now or datetime.now(UTC)
    expired = 0
    while True:
        async with database.unit() as session:
            due = await _DUE.rows(session, moment=moment, batch=batch)
            for request in due:
                expiring = {"status": RequestStatus.EXPIRED}
                await record_change(
                    session, request, _EXPIRED, expiring, None, ActivityType.REQUEST_EXPIRED, followers(request)
                )
        expired += len(due)
        if len(due) < batch:
            return expired


async def edit_seasons(
    database: Database,
    request_id: int,
    details: TitleDetails,
    *,
    actor_id: int,
    seasons: Sequence[int],
    settings: RequestSettings = RequestSettings(),
) -> RequestView:
    """Change what a pending request asks for: its requester, within their quota, or a moderator (who may
    widen it beyond the requester's quota, as they could approve more)."""
    if details.title.type == ContentType.MOVIE:
        raise InvalidInput("films have no seasons", code="seasons.film")
    chosen = choose_seasons(details, seasons)
    async with database.unit() as session:
        actor = await load_user(session, actor_id)
        request = await claim(session, request_id, "edited")
        title = details.title
        same = (request.tvdb_id is not None and request.tvdb_id == title.tvdb_id) or (
            request.tmdb_id is not None and request.tmdb_id == title.tmdb_id
        )
        if not same:
            raise InvalidInput(
                "those seasons belong to {title}, not to {requested}",
                code="seasons.other_title",
                title=title.title,
                requested=request.title,
            )
        moderator = Permission.MANAGE_REQUESTS in effective_permissions(actor.role, actor.permissions)
        if request.requested_by_id != actor.id and not moderator:
            raise NotAllowed(
                "only the person who made request #{id} or a moderator can change it",
                code="request.edit_own",
                id=request_id,
            )
        if not moderator:
            await check_quota(session, actor, request.content_type, chosen, settings, changing=request.id)
        changed = await change(session, CHANGE_SEASONS, request.id, seasons=season_json(chosen))
        if request.requested_by_id != actor.id:
            # The requester hears that someone else changed what they asked for.
            await outbox.enqueue(
                session,
                event="request_edited",
                dedup_base=f"request:{request.id}:edited:{secrets.token_hex(6)}",
                recipients=[request.requested_by_id],
                payload={
                    "request_id": request.id,
                    "title": request.title,
                    "year": request.year,
                    "content_type": str(request.content_type),
                    "by": actor.username,
                    "seasons": sorted(chosen),
                },
            )
        return await view_of(session, changed)
