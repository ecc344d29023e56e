"""Approval places the title in an instance with a quality profile and root folder; enough people wanting
a title can approve it on their own."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.config import RequestSettings
from core.db.models import Instance, Media, QualityProfile, Request, RootFolder
from core.db.session import Database
from core.enums import ContentType, RequestStatus, UserRole
from core.errors import InvalidInput, NotFound
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.services import requests
from core.services.requests import Placement
from core.services.users import add_user

CATALOG = OfflineCatalog()


async def libraries(db: Database) -> dict[str, int]:
    """Movies (default: HD profile, /movies) and Movies 4K (UHD, /movies-4k), plus a TV instance."""
    ids: dict[str, int] = {}
    async with db.transaction() as session:
        for name, content_type, default, profiles, folders in (
            ("Movies", ContentType.MOVIE, True, ("HD-1080p", "Any"), ("/movies", "/movies-kids")),
            ("Movies 4K", ContentType.MOVIE, False, ("UHD",), ("/movies-4k",)),
            ("TV", ContentType.SERIES, True, ("HD-1080p",), ("/tv",)),
        ):
            instance = Instance(name=name, content_type=content_type, is_default=default)
            session.add(instance)
            await session.flush()
            ids[name] = instance.id
            for position, profile in enumerate(profiles):
                row = QualityProfile(instance_id=instance.id, name=profile, is_default=position == 0)
                session.add(row)
                await session.flush()
                ids[f"{name}:{profile}"] = row.id
            for position, path in enumerate(folders):
                folder = RootFolder(instance_id=instance.id, path=path, is_default=position == 0)
                session.add(folder)
                await session.flush()
                ids[f"{name}:{path}"] = folder.id
    return ids


async def placed(db: Database, request_id: int) -> tuple[int | None, int | None, int | None]:
    async with db.session() as session:
        request = await session.get(Request, request_id)
        assert request is not None
        media = await session.get(Media, request.media_id)
        assert media is not None
        assert (request.instance_id, request.quality_profile_id, request.root_folder_id) == (
            media.instance_id,
            media.quality_profile_id,
            media.root_folder_id,
        )
        return media.instance_id, media.quality_profile_id, media.root_folder_id


async def ask(db: Database, user_id: int, tmdb_id: int) -> int:
    details = await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=tmdb_id))
    return (await requests.create(db, details, actor_id=user_id)).request.id


async def test_approval_uses_the_default_instance_profile_and_folder(db: Database) -> None:
    ids = await libraries(db)
    mod = await add_user(db, "mod", UserRole.MODERATOR)
    alice = await add_user(db, "alice", UserRole.USER)
    request_id = await ask(db, alice.id, 603)
    await requests.approve(db, request_id, actor_id=mod.id)
    assert await placed(db, request_id) == (ids["Movies"], ids["Movies:HD-1080p"], ids["Movies:/movies"])


async def test_a_moderator_chooses_instance_profile_and_folder_by_name_or_id(db: Database) -> None:
    ids = await libraries(db)
    mod = await add_user(db, "mod", UserRole.MODERATOR)
    alice = await add_user(db, "alice", UserRole.USER)
    first, second = await ask(db, alice.id, 603), await ask(db, alice.id, 550)
    await requests.approve(db, first, actor_id=mod.id, placement=Placement(instance="movies 4k"))
    assert await placed(db, first) == (ids["Movies 4K"], ids["Movies 4K:UHD"], ids["Movies 4K:/movies-4k"])
    chosen = Placement(quality_profile="Any", root_folder=str(ids["Movies:/movies-kids"]))
    await requests.approve(db, second, actor_id=mod.id, placement=chosen)
    assert await placed(db, second) == (ids["Movies"], ids["Movies:Any"], ids["Movies:/movies-kids"])


async def test_a_wrong_placement_is_refused_and_the_request_stays_pending(db: Database) -> None:
    await libraries(db)
    mod = await add_user(db, "mod", UserRole.MODERATOR)
    alice = await add_user(db, "alice", UserRole.USER)
    request_id = await ask(db, alice.id, 603)
    cases = [
        (Placement(instance="Nope"), NotFound, "there is no instance 'Nope'"),
        (Placement(instance="TV"), InvalidInput, "instance TV holds series, not movie"),
        (Placement(quality_profile="UHD"), NotFound, "instance Movies has no quality profile 'UHD'"),
        (Placement(instance="Movies 4K", root_folder="/movies"), NotFound, "has no root folder '/movies'"),
    ]
    for placement, error, message in cases:
        with pytest.raises(error, match=message):
            await requests.approve(db, request_id, actor_id=mod.id, placement=placement)
    assert (await requests.get(db, request_id)).status == RequestStatus.PENDING


async def test_enough_people_wanting_a_title_approve_it(db: Database) -> None:
    people = [(await add_user(db, name, UserRole.USER)).id for name in ("alice", "bob", "carol")]
    details = await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=603))
    settings = RequestSettings(auto_approve_watchers=3)
    made = await requests.create(db, details, actor_id=people[0], settings=settings)
    second = await requests.create(db, details, actor_id=people[1], settings=settings)
    assert second.request.status == RequestStatus.PENDING
    third = await requests.create(db, details, actor_id=people[2], settings=settings)
    assert (third.outcome, third.request.status, third.request.approved_by) == (
        "joined",
        RequestStatus.APPROVED,
        None,
    )
    assert third.request.id == made.request.id
    async with db.session() as session:
        media = (await session.execute(select(Media))).scalar_one()
    assert media.title == "The Matrix"
