"""Decisions on a request. Each claims the request only while it is in a state that allows the change (a
row lock on a conditional select), so two moderators pressing at once give one result and a clear answer
to the other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import and_, bindparam, case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Instance, Media, QualityProfile, Request, RootFolder, User
from core.db.prepared import Prepared, together
from core.db.session import Database
from core.enums import ActivityType, ContentType, MediaStatus, RequestStatus
from core.errors import AlreadyDecided, InvalidInput, NotAllowed, NotFound
from core.permissions import Permission
from core.services.requests.common import (
    MAX_REASON,
    REQUEST_COLUMNS,
    USER_ROW,
    Person,
    RequestFields,
    RequestView,
    change,
    followers,
    load_user,
    person,
    record,
    request_change,
    require_permission,
    title_by_ids,
    title_ids,
    view_of,
)
from core.text import clean_text


@dataclass(frozen=True)
class Placement:
    """Where a moderator sends an approved title: each by id or name (a root folder by id or path).

    Anything left out is the instance's default; no instance given is the default instance for the type.
    """

    instance: str | None = None
    quality_profile: str | None = None
    root_folder: str | None = None


_Setting = TypeVar("_Setting", QualityProfile, RootFolder)


def _by_id_or_name(column: Any, id_column: Any, value: str) -> Any:
    text = value.strip()
    return id_column == int(text) if text.isdigit() else func.lower(column) == text.lower()


_DEFAULT_PROFILE = select(QualityProfile).where(
    QualityProfile.instance_id == bindparam("instance"), QualityProfile.is_default
)
_DEFAULT_FOLDER = select(RootFolder).where(RootFolder.instance_id == bindparam("instance"), RootFolder.is_default)
_DEFAULT_INSTANCE = select(Instance).where(
    Instance.content_type == bindparam("content_type"), Instance.is_default, Instance.enabled
)


async def _chosen(
    session: AsyncSession, model: type[_Setting], name: Any, instance: Instance, wanted: str | None
) -> _Setting | None:
    """The instance's quality profile or root folder named by `wanted` (a name or an id), else its default."""
    if not wanted:
        default = _DEFAULT_PROFILE if model is QualityProfile else _DEFAULT_FOLDER
        return (await session.execute(default, {"instance": instance.id})).scalars().first()
    query = select(model).where(model.instance_id == instance.id, _by_id_or_name(name, model.id, wanted))
    return (await session.execute(query)).scalars().first()


async def _placement(
    session: AsyncSession, content_type: ContentType, placement: Placement
) -> tuple[Instance | None, QualityProfile | None, RootFolder | None]:
    if placement.instance:
        instance = (
            await session.execute(
                select(Instance).where(_by_id_or_name(Instance.name, Instance.id, placement.instance))
            )
        ).scalar_one_or_none()
        if instance is None:
            raise NotFound("there is no instance {name!r}", code="instance.unknown", name=placement.instance)
        if instance.content_type != content_type:
            raise InvalidInput(
                "instance {name} holds {holds}, not {content}",
                code="instance.content",
                name=instance.name,
                holds=instance.content_type.value,
                content=content_type.value,
            )
        if not instance.enabled:
            raise InvalidInput("instance {name} is disabled", code="instance.disabled", name=instance.name)
    else:
        instance = (await session.execute(_DEFAULT_INSTANCE, {"content_type": content_type})).scalar_one_or_none()
    if instance is None:
        if placement.quality_profile or placement.root_folder:
            raise InvalidInput(
                "there is no {content} instance to choose a profile or folder in",
                code="instance.none",
                content=content_type.value,
            )
        return None, None, None
    profile = await _chosen(session, QualityProfile, QualityProfile.name, instance, placement.quality_profile)
    if profile is None and placement.quality_profile:
        raise NotFound(
            "instance {name} has no quality profile {profile!r}",
            code="instance.profile",
            name=instance.name,
            profile=placement.quality_profile,
        )
    folder = await _chosen(session, RootFolder, RootFolder.path, instance, placement.root_folder)
    if folder is None and placement.root_folder:
        raise NotFound(
            "instance {name} has no root folder {folder!r}",
            code="instance.folder",
            name=instance.name,
            folder=placement.root_folder,
        )
    return instance, profile, folder


_MEDIA_COLUMNS = (Media.id, Media.status, Media.instance_id, Media.quality_profile_id, Media.root_folder_id)
_MEDIA_FOR_TITLE = Prepared(select(*_MEDIA_COLUMNS).where(title_by_ids(Media)).with_for_update())
_NEW_MEDIA = Prepared(
    insert(Media)
    .values(
        content_type=bindparam("new_content_type"),
        tmdb_id=bindparam("new_tmdb_id"),
        tvdb_id=bindparam("new_tvdb_id"),
        imdb_id=bindparam("new_imdb_id"),
        title=bindparam("new_title"),
        year=bindparam("new_year"),
        status=MediaStatus.PROCESSING,
        instance_id=bindparam("new_instance"),
        quality_profile_id=bindparam("new_profile"),
        root_folder_id=bindparam("new_folder"),
    )
    .returning(*_MEDIA_COLUMNS)
)
# A title already in the library stays available; anything else is now on its way.
_PLACED_MEDIA = Prepared(
    update(Media)
    .where(Media.id == bindparam("media"))
    .values(
        status=case((Media.status == MediaStatus.AVAILABLE, Media.status), else_=MediaStatus.PROCESSING),
        instance_id=bindparam("new_instance"),
        quality_profile_id=bindparam("new_profile"),
        root_folder_id=bindparam("new_folder"),
        updated_at=func.now(),
    )
    .returning(*_MEDIA_COLUMNS)
)


# The content type's default instance with its default quality profile and root folder, in one read.
_DEFAULT_PLACEMENT = Prepared(
    select(Instance.id.label("instance"), QualityProfile.id.label("profile"), RootFolder.id.label("folder"))
    .select_from(Instance)
    .outerjoin(QualityProfile, and_(QualityProfile.instance_id == Instance.id, QualityProfile.is_default))
    .outerjoin(RootFolder, and_(RootFolder.instance_id == Instance.id, RootFolder.is_default))
    .where(Instance.content_type == bindparam("content_type"), Instance.is_default, Instance.enabled)
)


async def media_for(session: AsyncSession, request: RequestFields, placement: Placement | None = None) -> Any:
    """The library record approval creates (or reuses), placed where the moderator chose or by default in
    the content type's default instance with its default profile and folder. Returns its row."""
    ids = title_ids(request.content_type, request.tmdb_id, request.tvdb_id)
    # The default placement is read along with the record (one round trip), in case the record has none.
    found, defaults = await together(
        session, (_MEDIA_FOR_TITLE, ids), (_DEFAULT_PLACEMENT, {"content_type": request.content_type})
    )
    media = found[0] if found else None
    place = (media.instance_id, media.quality_profile_id, media.root_folder_id) if media else (None, None, None)
    # A title already placed stays where it is unless the moderator says otherwise.
    if placement is not None and any((placement.instance, placement.quality_profile, placement.root_folder)):
        instance, profile, folder = await _placement(session, request.content_type, placement)
        if instance is not None:
            place = (instance.id, profile.id if profile else None, folder.id if folder else None)
    elif place[0] is None and defaults:
        place = (defaults[0].instance, defaults[0].profile, defaults[0].folder)
    where = {"new_instance": place[0], "new_profile": place[1], "new_folder": place[2]}
    if media is not None:
        return await _PLACED_MEDIA.first(session, media=media.id, **where)
    return await _NEW_MEDIA.first(
        session,
        new_content_type=request.content_type,
        new_tmdb_id=request.tmdb_id,
        new_tvdb_id=request.tvdb_id,
        new_imdb_id=request.imdb_id,
        new_title=request.title,
        new_year=request.year,
        **where,
    )


_APPROVED = request_change(
    "status",
    "failure_reason",
    "approved_by_id",
    "approved_at",
    "media_id",
    "instance_id",
    "quality_profile_id",
    "root_folder_id",
)


class Approved(NamedTuple):
    """A request as approval left it, and its followers as read for the notifications (see `view_of`)."""

    request: Any
    followed_by: dict[int, Any]


async def approve_row(
    session: AsyncSession,
    request: RequestFields,
    actor: Person | None,
    *,
    retry: bool = False,
    wanted_by: int | None = None,
    placement: Placement | None = None,
) -> Approved:
    """Approve (or, after a failure, approve again) a claimed request: library record, status, activity and
    notifications.

    `actor` None is idkarr itself, approving because `wanted_by` people asked for the title.
    """
    media = await media_for(session, request, placement)
    approved = await change(
        session,
        _APPROVED,
        request.id,
        status=RequestStatus.APPROVED,
        failure_reason=None,
        approved_by_id=actor.id if actor else None,
        approved_at=datetime.now(UTC),
        media_id=media.id,
        instance_id=media.instance_id,
        quality_profile_id=media.quality_profile_id,
        root_folder_id=media.root_folder_id,
    )
    details: dict[str, Any] = {"approved_by": actor.username if actor else None}
    if retry:
        details["retry"] = True
    if wanted_by is not None:
        details["wanted_by"] = wanted_by
    followed_by = await record(
        session,
        approved,
        actor.id if actor else None,
        ActivityType.REQUEST_APPROVED,
        followers(approved),
        **details,
    )
    return Approved(approved, followed_by)


def _decided(request_id: int, status: RequestStatus, decided_by: str | None, attempted: str) -> AlreadyDecided:
    if decided_by:
        return AlreadyDecided(
            "request #{id} was already {status} by {name}; it cannot be {attempted}",
            code="request.decided_by",
            id=request_id,
            status=status,
            name=decided_by,
            attempted=attempted,
        )
    return AlreadyDecided(
        "request #{id} was already {status}; it cannot be {attempted}",
        code="request.decided",
        id=request_id,
        status=status,
        attempted=attempted,
    )


def _unknown(request_id: int) -> NotFound:
    return NotFound("there is no request #{id}", code="request.unknown", id=request_id)


# The request and whoever decided it. The name is a subquery, not a join: after waiting for the lock the
# statement sees the row as the winner left it, and a subquery is evaluated again on that row.
_DECIDED_BY = select(User.username).where(User.id == Request.approved_by_id).scalar_subquery().label("decided_by")
_CLAIMED = Prepared(select(*REQUEST_COLUMNS, _DECIDED_BY).where(Request.id == bindparam("id")).with_for_update())
_STATE = Prepared(select(Request.status, _DECIDED_BY).where(Request.id == bindparam("id")))


async def claim(
    session: AsyncSession,
    request_id: int,
    attempted: str,
    allowed: tuple[RequestStatus, ...] = (RequestStatus.PENDING,),
) -> Any:
    """Lock the request and go on only if it is in a state that allows the change: the one place every
    transition is made safe under concurrency. Anyone arriving second is told who got there first, from the
    same read. Returns the request's row."""
    return _allowed(await _CLAIMED.rows(session, id=request_id), request_id, attempted, allowed)


def _allowed(claimed: list[Any], request_id: int, attempted: str, allowed: tuple[RequestStatus, ...]) -> Any:
    if not claimed:
        raise _unknown(request_id)
    request = claimed[0]
    if request.status not in allowed:
        raise _decided(request_id, request.status, request.decided_by, attempted)
    return request


async def _decide(session: AsyncSession, request_id: int, actor_id: int, attempted: str) -> tuple[Person, Any]:
    """A moderator's decision: who they are and the request, claimed, read in one round trip. The permission
    is checked before the request's state, so someone without it is told so whatever the state."""
    users, claimed = await together(session, (USER_ROW, {"id": actor_id}), (_CLAIMED, {"id": request_id}))
    actor = person(users, actor_id)
    require_permission(actor, Permission.MANAGE_REQUESTS)
    return actor, _allowed(claimed, request_id, attempted, (RequestStatus.PENDING,))


async def approve(
    database: Database, request_id: int, *, actor_id: int, placement: Placement | None = None
) -> RequestView:
    async with database.transaction() as session:
        actor, request = await _decide(session, request_id, actor_id, "approved")
        approved = await approve_row(session, request, actor, placement=placement)
        return await view_of(session, approved.request, followed_by=approved.followed_by)


_DENIED = request_change("status", "denial_reason", "approved_by_id")
_CANCELLED = request_change("status")
_OWNER = Prepared(select(Request.requested_by_id).where(Request.id == bindparam("id")))


async def deny(database: Database, request_id: int, *, actor_id: int, reason: str) -> RequestView:
    reason = clean_text(reason)
    if not 1 <= len(reason) <= MAX_REASON:
        raise InvalidInput("a denial needs a reason of 1 to {most} characters", code="deny.reason", most=MAX_REASON)
    async with database.transaction() as session:
        actor, request = await _decide(session, request_id, actor_id, "denied")
        request = await change(
            session, _DENIED, request.id, status=RequestStatus.DENIED, denial_reason=reason, approved_by_id=actor.id
        )
        followed_by = await record(
            session,
            request,
            actor.id,
            ActivityType.REQUEST_DENIED,
            followers(request),
            reason=reason,
            denied_by=actor.username,
        )
        return await view_of(session, request, followed_by=followed_by)


async def cancel(database: Database, request_id: int, *, actor_id: int) -> RequestView:
    async with database.transaction() as session:
        actor = await load_user(session, actor_id)
        exists = await _OWNER.first(session, id=request_id)
        if exists is None:
            raise _unknown(request_id)
        if exists.requested_by_id != actor.id:
            raise NotAllowed(
                "only the person who made request #{id} can cancel it", code="request.cancel_own", id=request_id
            )
        request = await claim(session, request_id, "cancelled")
        request = await change(session, _CANCELLED, request.id, status=RequestStatus.CANCELLED)
        await record(session, request, actor.id, ActivityType.REQUEST_CANCELLED)
        return await view_of(session, request)


async def check_can_decide(database: Database, request_id: int, *, actor_id: int) -> None:
    """Raise what approve or deny would raise now, without deciding (a front end asks before a reason)."""
    async with database.session() as session:
        actor = await load_user(session, actor_id)
        require_permission(actor, Permission.MANAGE_REQUESTS)
        state = await _STATE.first(session, id=request_id)
        if state is None:
            raise _unknown(request_id)
        if state.status != RequestStatus.PENDING:
            raise _decided(request_id, state.status, state.decided_by, "denied")
