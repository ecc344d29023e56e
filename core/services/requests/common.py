"""What the request use cases share: the view of a request, permission checks, the activity and
notifications each change records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple, Protocol, TypeAlias

from sqlalchemy import ColumnElement, Integer, and_, any_, bindparam, func, null, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert

from core.db.models import Activity, Media, Request, RequestWatcher, User, WatchlistEntry
from core.db.pgtypes import USER_ROLE
from core.db.prepared import Call, Planned, Prepared, sent_at_once
from core.db.session import Work
from core.enums import ActivityType, ContentType, RequestStatus, UserRole, UserStatus, Visibility
from core.errors import NotFound
from core.metadata.provider import ExternalIds
from core.permissions import Permission, require
from core.services import activity_log, outbox
from core.services.outbox import PersonRow

MAX_REASON = 500


@dataclass(frozen=True)
class RequestView:
    """What a person is shown of a request. Every field named like a column of the request table is filled
    from the row by that name (`_view`) and written to JSON like the rest (`to_json`): showing a new column
    is adding it here. The others say in names what the row holds as ids."""

    id: int
    status: RequestStatus
    content_type: ContentType
    title: str
    year: int | None
    tmdb_id: int | None
    tvdb_id: int | None
    imdb_id: str | None
    denial_reason: str | None
    failure_reason: str | None
    created_at: datetime
    modified_at: datetime
    # Not columns as they are: the season numbers (the column holds Sonarr's season objects), and names.
    seasons: list[int]
    requested_by: str
    watchers: list[str]
    # The row keeps one decider (the seed's approved_by_id, set by a denial too); a view names which it was.
    approved_by: str | None
    denied_by: str | None

    def lookup_ids(self) -> ExternalIds:
        """The ids to read the requested title by: a show's by its TheTVDB id alone when it has one, since a
        request's seasons are in TheTVDB's numbering (Sonarr's); anything else by what it has."""
        if self.content_type != ContentType.MOVIE and self.tvdb_id is not None:
            return ExternalIds(tvdb_id=self.tvdb_id)
        return ExternalIds(tmdb_id=self.tmdb_id, tvdb_id=self.tvdb_id, imdb_id=self.imdb_id)

    def to_json(self) -> dict[str, Any]:
        return {field.name: _json_value(getattr(self, field.name)) for field in fields(self)}


def _json_value(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def season_numbers(seasons: Iterable[dict[str, Any]]) -> set[int]:
    return {int(season["season_number"]) for season in seasons}


def season_json(numbers: Iterable[int]) -> list[dict[str, Any]]:
    return [{"season_number": number, "monitored": True} for number in sorted(numbers)]


def title_by_ids(model: type[Request] | type[Media] | type[WatchlistEntry]) -> ColumnElement[bool]:
    """Rows of `model` for one title, by either id, in a statement written once: values from `title_ids`."""
    return and_(
        model.content_type == bindparam("content_type"),
        or_(model.tmdb_id == bindparam("tmdb"), model.tvdb_id == bindparam("tvdb")),
    )


def title_ids(content_type: ContentType, tmdb_id: int | None, tvdb_id: int | None) -> dict[str, Any]:
    # Films are matched by their TMDB id alone (TheTVDB lists series); an absent id matches nothing.
    return {
        "content_type": content_type,
        "tmdb": tmdb_id,
        "tvdb": tvdb_id if content_type != ContentType.MOVIE else None,
    }


REQUEST_COLUMNS = tuple(Request.__table__.c)


def request_change(*columns: str) -> Prepared[RequestRow]:
    """An UPDATE of one request (`request_id`) setting `columns` from `new_COLUMN` values, returning the row.

    The caller holds the request's row lock (`claim`), so the change is made from the state it checked.
    """
    values: dict[str, Any] = {column: bindparam(f"new_{column}") for column in columns}
    return Prepared(
        update(Request)
        .where(Request.id == bindparam("request_id"))
        .values(**values, modified_at=func.now())
        .returning(*REQUEST_COLUMNS),
        Request,
    )


def _bound(request_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values a `request_change` statement takes."""
    return {"request_id": request_id, **{f"new_{k}": v for k, v in values.items()}}


async def change(session: Work, statement: Prepared[RequestRow], request_id: int, **values: Any) -> RequestRow:
    """Run a `request_change` statement; returns the request as it now is."""
    return (await statement.rows(session, **_bound(request_id, values)))[0]


CHANGE_SEASONS = request_change("seasons")


# A request's row as statements return it (RETURNING every column): a named tuple, typed as the model whose
# columns it carries under the same names. So the model stays the one definition of what a request has: a
# statement returning `*REQUEST_COLUMNS` with `shape=Request` is checked against it at import. Rows are only
# read, never handed to the ORM; an ORM object of the model reads the same.
RequestRow: TypeAlias = Request


class Person(Protocol):
    """Someone acting, as the rules read them: a row of the user table."""

    id: int
    username: str
    role: UserRole
    status: UserStatus
    permissions: dict[str, Any] | None
    privacy_settings: dict[str, Any] | None
    request_limit: int | None


# What the rules read of a person (`Person`, and the quotas `create` looks up by content type): not the
# whole row, whose secrets (password and API key hashes, a Plex token) a permission check has no use for.
PERSON_READ = select(
    User.id,
    User.username,
    User.role,
    User.status,
    User.permissions,
    User.privacy_settings,
    User.request_limit,
    *(getattr(User, f"{kind}_quota_{part}") for kind in ("movie", "series", "anime") for part in ("limit", "days")),
).where(User.id == bindparam("id"))
USER_ROW = Prepared(PERSON_READ)  # given `id`; see `person`


def person(rows: Sequence[Person], user_id: int) -> Person:
    """The person a `USER_ROW` read found."""
    if not rows:
        raise NotFound("there is no user with id {id}", code="user.no_id", id=user_id)
    return rows[0]


async def load_user(session: Work, user_id: int) -> Person:
    return person(await USER_ROW.rows(session, id=user_id), user_id)


def require_permission(user: Person, permission: Permission) -> None:
    require(
        username=user.username, role=user.role, status=user.status, overrides=user.permissions, permission=permission
    )


# The request an entry is about. What an entry and its notifications say of the title and of the request's
# state is read back from the request's row, as the statements sent before them in the same transaction (the
# change, or the new request's insert) left it; only who did what, and the details, are bound.
_ABOUT = bindparam("about", type_=Integer)
_FROM_ROW_OF_REQUEST = ("content_type", "tvdb_id", "tmdb_id", "anidb_id", "imdb_id", "title", "poster", "year")
_BOUND = tuple(key for key in activity_log.COLUMNS if key not in _FROM_ROW_OF_REQUEST)


def _entry_column(key: str) -> ColumnElement[Any]:
    if key in _FROM_ROW_OF_REQUEST:
        return getattr(Request, key)  # type: ignore[no-any-return]
    if key == "media_id":
        # A library event names its own record; a request's entry the one the request's row points to.
        return func.coalesce(bindparam("new_media_id", type_=Integer), Request.media_id)
    return bindparam(f"new_{key}", type_=Activity.__table__.c[key].type)


_ENTRY = insert(Activity).from_select(
    list(activity_log.COLUMNS),
    select(*(_entry_column(key) for key in activity_log.COLUMNS)).where(Request.id == _ABOUT),
)
# Every notification about a request carries what it is about, so it can act on the title (Add to
# watchlist) without reading the request again; its own payload is laid over these.
_ABOUT_REQUEST = func.jsonb_build_object(
    "request_id",
    Request.id,
    "title",
    Request.title,
    "year",
    Request.year,
    "content_type",
    Request.content_type,
    "status",
    Request.status,
    "tmdb_id",
    Request.tmdb_id,
    "tvdb_id",
    Request.tvdb_id,
    type_=JSONB,
)
# The entry and the notifications it causes are written by one statement: a change's record is one round trip.
_WRITE_ACTIVITY = outbox.written_with(
    _ENTRY.returning(*activity_log.ANNOUNCED).cte("recorded"),
    prefix="activity:",
    shape=activity_log.Entry,
    under=(_ABOUT_REQUEST, Request.id == _ABOUT),
)
# A library event's entry: nobody is notified of it (the request's own entry does that).
_WRITE_LIBRARY = Prepared(_ENTRY.returning(*activity_log.ANNOUNCED), activity_log.Entry)


def _entry(kind: ActivityType, actor_id: int | None, about: int, **fields: Any) -> dict[str, Any]:
    """The values an entry about request `about` binds: who did what, and `fields` (the rest are NULL)."""
    bound = {f"new_{key}": fields.get(key) for key in _BOUND}
    bound.update(new_type=kind, new_user_id=actor_id, new_visibility=Visibility.PUBLIC, about=about)
    return bound


class Recorded(NamedTuple):
    """What `record` read and wrote: everyone read on the way (see `record`), and the rows of `first`."""

    people: dict[int, PersonRow]
    first: list[list[Any]]


@dataclass(frozen=True)
class LibraryEvent:
    """What a change did to the library record itself, as the seed's library activity types: a title added
    to the library or changed there (approval), a film or seasons arriving (sync). Written beside the
    request's own entry, in its transaction; nobody is notified of it (the request's entry does that)."""

    kind: ActivityType
    media_id: int
    season_number: int | None = None
    details: dict[str, Any] | None = None

    def values(self, request_id: int, actor_id: int | None) -> dict[str, Any]:
        return _entry(
            self.kind,
            actor_id,
            request_id,
            media_id=self.media_id,
            season_number=self.season_number,
            details=self.details or None,
        )


async def record_library(session: Work, request: RequestRow, actor_id: int | None, event: LibraryEvent) -> None:
    """A library event on its own, when the request itself did not change."""
    (entry,) = await _WRITE_LIBRARY.rows(session, **event.values(request.id, actor_id))
    activity_log.announce(session, entry)


def record_reading(kind: ActivityType, recipients: outbox.Recipients, actor_id: int | None, requester_id: int) -> Call:
    """The read `record` starts with, for a caller that sends it along with its own statements."""
    return outbox.reading(recipients, _announcement(kind, actor_id, requester_id))


def _announcement(kind: ActivityType, actor_id: int | None, requester_id: int) -> outbox.Announcement:
    return outbox.Announcement(kind.value, actor_id, requester_id)


async def plan_record(
    session: Work,
    /,
    request_id: int,
    requester_id: int,
    actor_id: int | None,
    kind: ActivityType,
    recipients: outbox.Recipients = (),
    *,
    holding: Permission | None = None,
    excluding: int | None = None,
    read: list[PersonRow] | None = None,
    first: Sequence[Call] = (),
    along: Sequence[Call] = (),
    library: LibraryEvent | None = None,
    **details: Any,
) -> Planned[Recorded]:
    """The activity entry for what happened to request `request_id` (made by `requester_id`) and the
    notifications it causes, in the change's transaction, ready to send (`record` sends it at once).

    `recipients`, `holding` and `excluding` are as in `outbox.enqueue`; `read` the rows of `record_reading`
    when the caller sent it along with its own statements; `first` the caller's writes the entry depends on
    (the change itself), sent before it in the same round trip, their rows returned: the entry and the
    notifications read the request's row as those leave it. `along` are the caller's writes that need no
    answer, sent after it; `library` what the change did to the library record, written alongside. Gives,
    with those rows, everyone read on the way (with `followers(request)`, what `view_of` needs to draw the
    request without reading names again).
    """
    queued = await outbox.plan(
        session,
        event=kind.value if kind != ActivityType.REQUEST_CREATED else "request_pending",
        recipients=recipients,
        payload=details,
        holding=holding,
        excluding=excluding,
        announcement=_announcement(kind, actor_id, requester_id),
        read=read,
    )
    entry = _entry(kind, actor_id, request_id, request_id=request_id, details=details or None)
    write: Call = (_WRITE_ACTIVITY, {**entry, **queued.values()})
    library_calls: list[Call] = [(_WRITE_LIBRARY, library.values(request_id, actor_id))] if library else []

    def finish(answers: list[list[Any]]) -> Recorded:
        before, written, also = answers[: len(first)], answers[len(first)], answers[len(first) + 1 :]
        queued.signal(session)
        if library:
            activity_log.announce(session, also[0][0])
        activity_log.announce(session, written[0])
        return Recorded(queued.people, before)

    return Planned([*first, write, *library_calls, *along], finish)


record = sent_at_once(plan_record)


Changed: TypeAlias = tuple[RequestRow, dict[int, PersonRow]]


async def plan_change(
    session: Work,
    /,
    request: RequestRow,
    statement: Prepared[RequestRow],
    values: Mapping[str, Any],
    actor_id: int | None,
    kind: ActivityType,
    recipients: outbox.Recipients = (),
    *,
    before: Sequence[Call] = (),
    **options: Any,
) -> Planned[Changed]:
    """A change of a claimed request (a `request_change` statement setting `values`) and its record, ready to
    send in one round trip. `before`: writes the change depends on (the library record it points to). Gives
    the request as the change left it (its RETURNING) and everyone `record` read."""
    recording = await plan_record(
        session,
        request.id,
        request.requested_by_id,
        actor_id,
        kind,
        recipients,
        first=[*before, (statement, _bound(request.id, values))],
        **options,
    )
    return recording.then(_changed)


def _changed(recorded: Recorded) -> Changed:
    """A change's result: the request as its statement (the last of `first`) left it, and everyone read."""
    changed: RequestRow = recorded.first[-1][0]
    return changed, recorded.people


record_change = sent_at_once(plan_change)


_WATCHING = select(RequestWatcher.user_id).where(RequestWatcher.request_id == bindparam("request"))
_FOLLOWING = or_(User.id == bindparam("requester"), User.id.in_(_WATCHING))
# Followers are read with when each began watching, so the request's view can be drawn from the same read.
_FOLLOWERS = outbox.people_query(
    _FOLLOWING,
    select(RequestWatcher.id)
    .where(RequestWatcher.request_id == bindparam("request"), RequestWatcher.user_id == User.id)
    .scalar_subquery(),
)
_FOLLOWER_IDS = Prepared(select(User.id).where(_FOLLOWING))
# Who could decide requests: by role, or by a per-user override naming the permission. Pass with
# `holding=Permission.MANAGE_REQUESTS`, which drops anyone an override takes it from.
_MODERATORS = outbox.people_query(
    and_(
        User.status == UserStatus.ACTIVE,
        or_(
            User.role == any_(bindparam("roles", [UserRole.ADMIN, UserRole.MODERATOR], type_=ARRAY(USER_ROLE))),
            User.permissions.has_key(Permission.MANAGE_REQUESTS.value),
        ),
    )
)


def followers(request: RequestRow) -> outbox.Audience:
    """Everyone following a request: its requester and its watchers."""
    return outbox.Audience(_FOLLOWERS, {"request": request.id, "requester": request.requested_by_id})


async def followers_of(session: Work, request: RequestRow) -> list[int]:
    rows = await _FOLLOWER_IDS.rows(session, request=request.id, requester=request.requested_by_id)
    return [row.id for row in rows]


def moderators() -> outbox.Audience:
    return outbox.Audience(_MODERATORS, {})


def _watched(row: Any) -> int:
    return int(row.watched)


# Every name a page of requests shows, in one read: requesters and approvers, then each request's watchers.
_NAMES = Prepared(
    union_all(
        select(User.id, User.username, null().label("request_id"), null().label("watched")).where(
            User.id == any_(bindparam("people", type_=ARRAY(Integer)))
        ),
        select(User.id, User.username, RequestWatcher.request_id, RequestWatcher.id.label("watched"))
        .join(RequestWatcher, RequestWatcher.user_id == User.id)
        .where(RequestWatcher.request_id == any_(bindparam("requests", type_=ARRAY(Integer)))),
    )
)


def _people_named(request: RequestRow) -> list[int]:
    return [request.requested_by_id, *([request.approved_by_id] if request.approved_by_id else [])]


async def view_of(
    session: Work,
    request: RequestRow,
    *,
    just_made_by: str | None = None,
    followed_by: Mapping[int, PersonRow] | None = None,
) -> RequestView:
    """What a person is shown of a request. `just_made_by` names whoever has just made it (and perhaps
    approved it themselves): nobody else is on it yet. `followed_by` is what `record` returned with
    `followers(request)` this very transaction. Either way there are no names left to read."""
    people = _people_named(request)
    if just_made_by is not None:
        return _view(request, {request.requested_by_id: just_made_by}, [])
    if followed_by is not None and all(person in followed_by for person in people):
        watching = sorted((row for row in followed_by.values() if row.watched is not None), key=_watched)
        return _view(request, {person: followed_by[person].username for person in people}, watching)
    return (await views_of(session, [request]))[0]


async def views_of(session: Work, requests: Sequence[RequestRow]) -> list[RequestView]:
    """What a person is shown of each request, every name read at once."""
    if not requests:
        return []
    people = sorted({person for request in requests for person in _people_named(request)})
    rows = await _NAMES.rows(session, people=people, requests=[request.id for request in requests])
    names = {row.id: row.username for row in rows if row.watched is None}
    watching: dict[int, list[Any]] = {}
    for row in sorted((row for row in rows if row.watched is not None), key=_watched):
        watching.setdefault(row.request_id, []).append(row)
    return [_view(request, names, watching.get(request.id, [])) for request in requests]


def _view(request: RequestRow, names: Mapping[int, str], watching: Sequence[Any]) -> RequestView:
    decider = names.get(request.approved_by_id) if request.approved_by_id else None
    denied = request.status == RequestStatus.DENIED
    return RequestView(
        **{name: getattr(request, name) for name in _FROM_ROW},
        seasons=sorted(season_numbers(request.seasons)),
        requested_by=names[request.requested_by_id],
        watchers=[row.username for row in watching],
        approved_by=None if denied else decider,
        denied_by=decider if denied else None,
    )


# The view's fields that are the row's columns by the same name (`seasons` is drawn from its column instead).
_FROM_ROW = tuple(
    field.name
    for field in fields(RequestView)
    if field.name in {column.key for column in Request.__table__.columns} and field.name != "seasons"
)
