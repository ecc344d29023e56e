"""Reading requests: one, or a page of them, as the reader is allowed to see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Boolean, Integer, any_, bindparam, cast, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY

from core.db.models import Request, RequestWatcher
from core.db.pgtypes import REQUEST_STATUS
from core.db.prepared import Prepared
from core.db.session import Database
from core.enums import OPEN_REQUEST_STATUSES, ContentType, RequestStatus, UserStatus
from core.errors import InvalidInput, NotFound
from core.metadata.types import Title
from core.permissions import Permission, effective_permissions, request_permission
from core.services.operator import Operator, Someone
from core.services.requests.common import REQUEST_COLUMNS, RequestView, load_user, view_of, views_of


@dataclass(frozen=True)
class Abilities:
    """What a person may do now, as a front end asks before it draws buttons (pressing one checks again)."""

    decide: bool
    request: frozenset[ContentType]
    view_all: bool = False  # everyone's requests, not only their own and those they follow


async def abilities(database: Database, user_id: int) -> Abilities:
    async with database.reads() as session:
        actor = await load_user(session, user_id)
    granted = effective_permissions(actor.role, actor.permissions)
    active = actor.status == UserStatus.ACTIVE
    return Abilities(
        decide=active and Permission.MANAGE_REQUESTS in granted,
        request=frozenset(kind for kind in ContentType if active and request_permission(kind) in granted),
        view_all=active and Permission.VIEW_ALL_REQUESTS in granted,
    )


async def may_decide(database: Database, user_id: int) -> bool:
    """Whether this person may approve, deny and retry requests now."""
    return (await abilities(database, user_id)).decide


_ONE = Prepared(select(*REQUEST_COLUMNS).where(Request.id == bindparam("id")), Request)
# A page of requests, newest first: filters left None take everything; `everyone` False keeps what `viewer`
# made or follows. One statement for every combination, so a page is one prepared round trip.
_STATUS = bindparam("status", type_=REQUEST_STATUS)
_USER = bindparam("user", type_=Integer)
_VIEWER = bindparam("viewer", type_=Integer)
_PAGE = Prepared(
    select(*REQUEST_COLUMNS)
    .where(
        # A bare parameter has no type for PostgreSQL to read in `IS NULL`: the cast gives it the column's.
        or_(cast(_STATUS, REQUEST_STATUS).is_(None), Request.status == _STATUS),
        or_(_USER.is_(None), Request.requested_by_id == _USER),
        or_(
            bindparam("everyone", type_=Boolean),
            Request.requested_by_id == _VIEWER,
            Request.id.in_(select(RequestWatcher.request_id).where(RequestWatcher.user_id == _VIEWER)),
        ),
    )
    .order_by(Request.created_at.desc(), Request.id.desc())
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("offset", type_=Integer)),
    Request,
)


async def get(database: Database, request_id: int) -> RequestView:
    async with database.reads() as session:
        request = await _ONE.first(session, id=request_id)
        if request is None:
            raise NotFound("there is no request #{id}", code="request.unknown", id=request_id)
        return await view_of(session, request)


async def list_requests(
    database: Database,
    *,
    viewer: Someone,
    status: RequestStatus | None = None,
    user_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[RequestView]:
    """Newest first. Without permission to see everyone's, a person sees their own and those they follow;
    the operator sees every request."""
    if not 1 <= limit <= 100:
        raise InvalidInput("limit must be between 1 and {most}", code="page.limit", most=100)
    if offset < 0:
        raise InvalidInput("offset must be between 0 and {most}", code="page.offset", most=100_000)
    async with database.reads() as session:
        everyone, viewer_id = True, None
        if not isinstance(viewer, Operator):
            actor = await load_user(session, viewer)
            everyone = Permission.VIEW_ALL_REQUESTS in effective_permissions(actor.role, actor.permissions)
            viewer_id = actor.id
        found = await _PAGE.rows(
            session,
            status=status,
            user=user_id,
            everyone=everyone,
            viewer=viewer_id,
            limit=limit,
            offset=offset,
        )
        return await views_of(session, found)


_WATCHERS = select(func.count()).where(RequestWatcher.request_id == Request.id).correlate(Request).scalar_subquery()
_DEMAND = Prepared(
    select(Request.content_type, Request.tmdb_id, Request.tvdb_id, _WATCHERS).where(
        Request.status == any_(bindparam("open", list(OPEN_REQUEST_STATUSES), type_=ARRAY(REQUEST_STATUS))),
        or_(
            Request.tmdb_id == any_(bindparam("tmdb", type_=ARRAY(Integer))),
            Request.tvdb_id == any_(bindparam("tvdb", type_=ARRAY(Integer))),
        ),
    )
)


async def demand(database: Database, titles: Sequence[Title]) -> dict[str, int]:
    """How many people want each of these titles (requester and watchers of its open request), by title key."""
    tmdb_ids = [t.tmdb_id for t in titles if t.tmdb_id is not None]
    tvdb_ids = [t.tvdb_id for t in titles if t.tvdb_id is not None and t.type != ContentType.MOVIE]
    if not tmdb_ids and not tvdb_ids:
        return {}
    # Read for every page of cards people see: one prepared statement, no transaction (see core.db.prepared).
    async with database.reads() as unit:
        rows = await _DEMAND.rows(unit, tmdb=tmdb_ids, tvdb=tvdb_ids)
    wanted: dict[str, int] = {}
    for content_type, tmdb_id, tvdb_id, count in rows:
        for key in (f"{content_type.value}:tmdb:{tmdb_id}", f"{content_type.value}:tvdb:{tvdb_id}"):
            wanted[key] = wanted.get(key, 0) + 1 + int(count)
    return {t.key: wanted[k] for t in titles for k in _keys(t) if k in wanted}


def _keys(title: Title) -> list[str]:
    return [f"{title.type.value}:tvdb:{title.tvdb_id}", f"{title.type.value}:tmdb:{title.tmdb_id}"]
