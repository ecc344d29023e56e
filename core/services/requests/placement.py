"""Where an approved title goes: the library record for it, in the instance, quality profile and root folder a
moderator chose or the content type's defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Sequence, String, and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from core.db.models import Instance, Media, QualityProfile, RootFolder
from core.db.prepared import Call, Prepared, together
from core.db.session import Database, Work
from core.enums import ActivityType, ContentType, MediaStatus
from core.errors import InvalidInput, NotFound
from core.services.requests.common import RequestRow, title_by_ids, title_ids

__all__ = [
    "Option",
    "Placed",
    "Placement",
    "PlacementOptions",
    "Placing",
    "media_for",
    "place",
    "place_reads",
    "placement_options",
]


@dataclass(frozen=True)
class Placement:
    """Where a moderator sends an approved title: each by id or name (a root folder by id or path).

    Anything left out is the instance's default; no instance given is the default instance for the type.
    """

    instance: str | None = None
    quality_profile: str | None = None
    root_folder: str | None = None


def _by_id_or_name(column: Any, id_column: Any) -> Any:
    """Matches the `id` or, without one, the `name` (any case) given: see `_named`."""
    return or_(id_column == bindparam("id"), func.lower(column) == func.lower(bindparam("name", type_=String)))


def _named(value: str) -> dict[str, Any]:
    """What a person typed, as `_by_id_or_name` takes it: a number is an id, anything else a name."""
    text = value.strip()
    return {"id": int(text), "name": None} if text.isdigit() else {"id": None, "name": text}


# The content type's default instance (given `content_type`): what an approval uses unless told otherwise.
_DEFAULT_INSTANCE = and_(Instance.content_type == bindparam("content_type"), Instance.is_default, Instance.enabled)
_INSTANCE_COLUMNS = (Instance.id, Instance.name, Instance.content_type, Instance.enabled)
_INSTANCE_NAMED = Prepared(select(*_INSTANCE_COLUMNS).where(_by_id_or_name(Instance.name, Instance.id)))
_INSTANCE_DEFAULT = Prepared(select(*_INSTANCE_COLUMNS).where(_DEFAULT_INSTANCE))


def _settings(model: Any, name: Any) -> tuple[Prepared[Any], Prepared[Any]]:
    """An instance's quality profile or root folder by id or name, and its default one."""
    of_instance = model.instance_id == bindparam("instance")
    return (
        Prepared(select(model.id).where(of_instance, _by_id_or_name(name, model.id)).order_by(model.id).limit(1)),
        Prepared(select(model.id).where(of_instance, model.is_default).order_by(model.id).limit(1)),
    )


_PROFILES = _settings(QualityProfile, QualityProfile.name)
_FOLDERS = _settings(RootFolder, RootFolder.path)


def _chosen(settings: tuple[Prepared[Any], Prepared[Any]], instance: int, wanted: str | None) -> Call:
    """The read of the profile or folder named by `wanted` (a name or an id), else the instance's default."""
    named, default = settings
    return (named, {"instance": instance, **_named(wanted)}) if wanted else (default, {"instance": instance})


async def _placement(
    session: Work, content_type: ContentType, placement: Placement
) -> tuple[int | None, int | None, int | None]:
    """The instance, quality profile and root folder (ids) a moderator chose, each checked."""
    if placement.instance:
        instance = await _INSTANCE_NAMED.first(session, **_named(placement.instance))
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
        instance = await _INSTANCE_DEFAULT.first(session, content_type=content_type)
    if instance is None:
        if placement.quality_profile or placement.root_folder:
            raise InvalidInput(
                "there is no {content} instance to choose a profile or folder in",
                code="instance.none",
                content=content_type.value,
            )
        return None, None, None
    profiles, folders = await together(
        session,
        _chosen(_PROFILES, instance.id, placement.quality_profile),
        _chosen(_FOLDERS, instance.id, placement.root_folder),
    )
    if not profiles and placement.quality_profile:
        raise NotFound(
            "instance {name} has no quality profile {profile!r}",
            code="instance.profile",
            name=instance.name,
            profile=placement.quality_profile,
        )
    if not folders and placement.root_folder:
        raise NotFound(
            "instance {name} has no root folder {folder!r}",
            code="instance.folder",
            name=instance.name,
            folder=placement.root_folder,
        )
    return instance.id, profiles[0].id if profiles else None, folders[0].id if folders else None


_MEDIA_COLUMNS = (Media.id, Media.status, Media.instance_id, Media.quality_profile_id, Media.root_folder_id)
_MEDIA_FOR_TITLE = Prepared(select(*_MEDIA_COLUMNS).where(title_by_ids(Media)).with_for_update())
_NEW_MEDIA = Prepared(
    insert(Media)
    .values(
        id=bindparam("new_id"),
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


# A new record's id is taken from its sequence beforehand, with the reads: the rows that refer to it (the
# request, its activity) can then be written in the same round trip as the record itself. It is read with
# where the record would go by default (the content type's default instance, with its default quality
# profile and root folder): one row, whose placement is NULL where the content type has no default instance.
_NEXT_MEDIA_ID = select(Sequence("media_id_seq").next_value().label("id")).subquery("next_media")
_NEW_PLACEMENT = Prepared(
    select(
        _NEXT_MEDIA_ID.c.id,
        Instance.id.label("instance"),
        QualityProfile.id.label("profile"),
        RootFolder.id.label("folder"),
    )
    .select_from(_NEXT_MEDIA_ID)
    .outerjoin(Instance, _DEFAULT_INSTANCE)
    .outerjoin(QualityProfile, and_(QualityProfile.instance_id == Instance.id, QualityProfile.is_default))
    .outerjoin(RootFolder, and_(RootFolder.instance_id == Instance.id, RootFolder.is_default))
)


class Placed(NamedTuple):
    """The library record as placed; `change` what that did to it (MEDIA_ADDED for a new record,
    MEDIA_UPDATED when its status or placement changed, else None); `more` the rows of the caller's reads."""

    media: PlacedMedia
    change: ActivityType | None
    more: list[list[Any]]


class PlacedMedia(NamedTuple):
    id: int
    status: MediaStatus
    instance_id: int | None
    quality_profile_id: int | None
    root_folder_id: int | None


class Placing(NamedTuple):
    """A placement decided but not yet written: `media` the record as `write` will leave it (under the
    record's row lock nothing else can change it meanwhile), for the caller to send with its own writes."""

    media: PlacedMedia
    change: ActivityType | None
    write: Call
    more: list[list[Any]]


def _placing(media: Any) -> tuple[Any, ...]:
    return (media.status, media.instance_id, media.quality_profile_id, media.root_folder_id)


async def media_for(
    session: Work,
    request: RequestRow,
    placement: Placement | None = None,
    *also: Call,
) -> Placed:
    """The library record approval creates (or reuses), written now: see `place`."""
    placing = await place(session, request, placement, *also)
    statement, values = placing.write
    await statement.rows(session, **values)
    return Placed(placing.media, placing.change, placing.more)


def place_reads(content_type: ContentType, tmdb_id: int | None, tvdb_id: int | None) -> list[Call]:
    """What `place` reads of a title: its library record (locked), and the id a new record would take with
    the default placement, in case the record has none. Sent by `place`, or by a caller with its own reads."""
    return [
        (_MEDIA_FOR_TITLE, title_ids(content_type, tmdb_id, tvdb_id)),
        (_NEW_PLACEMENT, {"content_type": content_type}),
    ]


async def place(
    session: Work,
    request: RequestRow,
    placement: Placement | None = None,
    *also: Call,
    read: list[list[Any]] | None = None,
) -> Placing:
    """The library record approval creates (or reuses), placed where the moderator chose or by default in
    the content type's default instance with its default profile and folder; `also` are the caller's own
    reads, sent in the same round trip as the record's. `read`: the rows of `place_reads` and `also`, when
    the caller has sent them already."""
    reads = place_reads(request.content_type, request.tmdb_id, request.tvdb_id)
    found, (new, *_), *more = read or await together(session, *reads, *also)
    media = found[0] if found else None
    spot = (media.instance_id, media.quality_profile_id, media.root_folder_id) if media else (None, None, None)
    # A title already placed stays where it is unless the moderator says otherwise.
    if placement is not None and any((placement.instance, placement.quality_profile, placement.root_folder)):
        chosen = await _placement(session, request.content_type, placement)
        if chosen[0] is not None:
            spot = chosen
    elif spot[0] is None and new.instance is not None:
        spot = (new.instance, new.profile, new.folder)
    where = {"new_instance": spot[0], "new_profile": spot[1], "new_folder": spot[2]}
    if media is not None:
        # As _PLACED_MEDIA leaves it: a title already available stays so.
        status = media.status if media.status == MediaStatus.AVAILABLE else MediaStatus.PROCESSING
        placed = PlacedMedia(media.id, status, *spot)
        changed = _placing(placed) != _placing(media)
        write = (_PLACED_MEDIA, {"media": media.id, **where})
        return Placing(placed, ActivityType.MEDIA_UPDATED if changed else None, write, more)
    values = {
        "new_id": new.id,
        "new_content_type": request.content_type,
        "new_tmdb_id": request.tmdb_id,
        "new_tvdb_id": request.tvdb_id,
        "new_imdb_id": request.imdb_id,
        "new_title": request.title,
        "new_year": request.year,
        **where,
    }
    placed = PlacedMedia(new.id, MediaStatus.PROCESSING, *spot)
    return Placing(placed, ActivityType.MEDIA_ADDED, (_NEW_MEDIA, values), more)


@dataclass(frozen=True)
class Option:
    id: int
    label: str
    is_default: bool


@dataclass(frozen=True)
class PlacementOptions:
    """An enabled instance for a content type, with the quality profiles and root folders its Sonarr or Radarr
    has (read from it when it was added or refreshed): what a moderator may choose at approval."""

    instance: Option
    profiles: tuple[Option, ...]
    folders: tuple[Option, ...]

    @property
    def choices(self) -> int:
        return max(len(self.profiles), 1) * max(len(self.folders), 1)


def _free(path: str, free: int | None) -> str:
    """A root folder as a moderator picks it: its path, and the space left there when known."""
    if free is None:
        return path
    size, unit = float(free), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            break
        size /= 1024
    return f"{path} ({size:.0f} {unit} free)"


async def placement_options(database: Database, content_type: ContentType) -> list[PlacementOptions]:
    """The enabled instances for `content_type`, the default first, each with its profiles and folders."""
    async with database.session() as session:
        instances = list(
            await session.scalars(
                select(Instance)
                .where(Instance.content_type == content_type, Instance.enabled)
                .order_by(Instance.is_default.desc(), Instance.name)
            )
        )
        ids = [instance.id for instance in instances]
        profiles = list(
            await session.scalars(
                select(QualityProfile).where(QualityProfile.instance_id.in_(ids)).order_by(QualityProfile.name)
            )
        )
        folders = list(
            await session.scalars(select(RootFolder).where(RootFolder.instance_id.in_(ids)).order_by(RootFolder.path))
        )
    return [
        PlacementOptions(
            Option(instance.id, instance.name, instance.is_default),
            tuple(Option(p.id, p.name, p.is_default) for p in profiles if p.instance_id == instance.id),
            tuple(
                Option(f.id, _free(f.path, f.free_space), f.is_default) for f in folders if f.instance_id == instance.id
            ),
        )
        for instance in instances
    ]
