"""The request core on real PostgreSQL: creating and joining, limits, decisions under concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from core.config import RequestSettings
from core.db.models import Activity, Media, OutboxMessage, Request, User
from core.db.session import Database
from core.enums import ActivityType, ContentType, MediaStatus, RequestStatus, UserRole
from core.errors import AlreadyAvailable, AlreadyDecided, InvalidInput, NotAllowed, QuotaExceeded
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.metadata.types import TitleDetails
from core.services import access, requests
from core.services.operator import OPERATOR
from core.services.users import add_user

from .contracts import REQUEST_FIELDS

CATALOG = OfflineCatalog()


async def title(content_type: ContentType, *, tmdb_id: int | None = None, tvdb_id: int | None = None) -> TitleDetails:
    return await CATALOG.details(content_type, ExternalIds(tmdb_id=tmdb_id, tvdb_id=tvdb_id))


async def people(db: Database, *specs: tuple[str, UserRole]) -> dict[str, int]:
    return {name: (await add_user(db, name, role)).id for name, role in specs}


async def outbox(db: Database) -> list[tuple[str, int | None]]:
    """The notifications queued for people."""
    async with db.session() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.event, OutboxMessage.recipient_user_id)
                .where(OutboxMessage.recipient_user_id.is_not(None))  # announcements: see test_announcements
                .order_by(OutboxMessage.id)
            )
        ).all()
    return [(row.event, row.recipient_user_id) for row in rows]


async def test_a_request_waits_for_moderators_who_are_told_of_it(db: Database) -> None:
    ids = await people(db, ("boss", UserRole.ADMIN), ("mod", UserRole.MODERATOR), ("alice", UserRole.USER))
    result = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["alice"])
    assert result.outcome == "created"
    data = result.request.to_json()
    assert (data["status"], data["title"], data["requested_by"], data["seasons"]) == (
        "pending",
        "The Matrix",
        "alice",
        [],
    )
    assert set(data) >= REQUEST_FIELDS
    assert sorted(await outbox(db)) == [("request_pending", ids["boss"]), ("request_pending", ids["mod"])]


async def test_a_second_person_joins_instead_of_getting_an_error(db: Database) -> None:
    ids = await people(db, ("alice", UserRole.USER), ("bob", UserRole.USER))
    matrix = await title(ContentType.MOVIE, tmdb_id=603)
    first = await requests.create(db, matrix, actor_id=ids["alice"])
    second = await requests.create(db, matrix, actor_id=ids["bob"])
    assert second.outcome == "joined"
    assert second.request.id == first.request.id
    assert second.request.watchers == ["bob"]
    with pytest.raises(AlreadyDecided, match="already follow"):
        await requests.create(db, matrix, actor_id=ids["bob"])
    async with db.session() as session:
        kinds = (await session.execute(select(Activity.type).order_by(Activity.id))).scalars().all()
    assert ActivityType.REQUEST_JOINED in kinds


async def test_seasons_default_to_all_but_specials_are_checked_and_merged(db: Database) -> None:
    ids = await people(db, ("alice", UserRole.USER), ("bob", UserRole.USER))
    breaking_bad = await title(ContentType.SERIES, tvdb_id=81189)
    with pytest.raises(InvalidInput, match=r"no season 9 .*1, 2, 3, 4, 5"):
        await requests.create(db, breaking_bad, actor_id=ids["alice"], seasons=[1, 9])
    everything = await requests.create(db, breaking_bad, actor_id=ids["alice"])
    assert everything.request.seasons == [1, 2, 3, 4, 5]

    got = await title(ContentType.SERIES, tvdb_id=121361)
    await requests.create(db, got, actor_id=ids["alice"], seasons=[1, 2])
    merged = await requests.create(db, got, actor_id=ids["bob"], seasons=[2, 3])
    assert (merged.outcome, merged.added_seasons, merged.request.seasons) == ("joined", [3], [1, 2, 3])


async def test_an_available_film_is_not_requested(db: Database) -> None:
    ids = await people(db, ("alice", UserRole.USER))
    async with db.transaction() as session:
        session.add(
            Media(content_type=ContentType.MOVIE, tmdb_id=550, title="Fight Club", status=MediaStatus.AVAILABLE)
        )
    with pytest.raises(AlreadyAvailable, match="already available"):
        await requests.create(db, await title(ContentType.MOVIE, tmdb_id=550), actor_id=ids["alice"])


async def test_a_viewer_cannot_request_and_a_user_cannot_approve(db: Database) -> None:
    ids = await people(db, ("vera", UserRole.VIEWER), ("alice", UserRole.USER))
    with pytest.raises(NotAllowed, match="vera \\(viewer\\) may not request movies"):
        await requests.create(db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["vera"])
    made = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["alice"])
    with pytest.raises(NotAllowed, match="may not approve or deny requests"):
        await requests.approve(db, made.request.id, actor_id=ids["alice"])


async def test_approval_makes_a_library_record_and_tells_requester_and_watchers(db: Database) -> None:
    ids = await people(db, ("mod", UserRole.MODERATOR), ("alice", UserRole.USER), ("bob", UserRole.USER))
    matrix = await title(ContentType.MOVIE, tmdb_id=603)
    made = await requests.create(db, matrix, actor_id=ids["alice"])
    await requests.create(db, matrix, actor_id=ids["bob"])
    approved = await requests.approve(db, made.request.id, actor_id=ids["mod"])
    assert (approved.status, approved.approved_by) == (RequestStatus.APPROVED, "mod")
    async with db.session() as session:
        media = (await session.execute(select(Media))).scalar_one()
    assert (media.status, media.tmdb_id) == (MediaStatus.PROCESSING, 603)
    told = [recipient for event, recipient in await outbox(db) if event == "request_approved" and recipient]
    assert sorted(told) == sorted([ids["alice"], ids["bob"]])
    with pytest.raises(AlreadyDecided, match="already approved by mod"):
        await requests.approve(db, made.request.id, actor_id=ids["mod"])


async def test_twenty_moderators_pressing_approve_at_once_give_one_approval(db: Database) -> None:
    ids = await people(db, ("alice", UserRole.USER), *((f"mod{n}", UserRole.MODERATOR) for n in range(20)))
    made = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=27205), actor_id=ids["alice"])
    results = await asyncio.gather(
        *(requests.approve(db, made.request.id, actor_id=ids[f"mod{n}"]) for n in range(20)),
        return_exceptions=True,
    )
    approvals = [r for r in results if isinstance(r, requests.RequestView)]
    refusals = [r for r in results if isinstance(r, AlreadyDecided)]
    assert (len(approvals), len(refusals)) == (1, 19)
    assert all(f"already approved by {approvals[0].approved_by}" in str(r) for r in refusals)
    async with db.session() as session:
        approved_events = (
            (await session.execute(select(Activity).where(Activity.type == ActivityType.REQUEST_APPROVED)))
            .scalars()
            .all()
        )
    assert len(approved_events) == 1


# Each way a limit of five can reach a person: the defaults' or their own, on open requests or the film quota.
# A person with none of them is not serialised on their row, so each must be seen to take the lock.
@pytest.mark.parametrize(
    ("defaults", "own"),
    [
        (RequestSettings(request_limit=5), {}),
        (RequestSettings(movie_quota_limit=5), {}),
        (RequestSettings(), {"request_limit": 5}),
        (RequestSettings(series_quota_limit=1), {"quotas": {ContentType.MOVIE: (5, 7)}}),
    ],
    ids=["default-limit", "default-quota", "own-limit", "own-quota"],
)
async def test_fifty_concurrent_creates_with_a_limit_of_five_make_five(
    db: Database, defaults: RequestSettings, own: dict[str, Any]
) -> None:
    ids = await people(db, ("alice", UserRole.USER))
    if own:
        await access.set_limits(db, "alice", **own)
    films = [t for t in CATALOG.titles() if t.type == ContentType.MOVIE][:50]
    details = [await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=t.tmdb_id)) for t in films]
    results = await asyncio.gather(
        *(requests.create(db, d, actor_id=ids["alice"], settings=defaults) for d in details), return_exceptions=True
    )
    assert sum(isinstance(r, requests.CreateResult) for r in results) == 5
    assert sum(isinstance(r, QuotaExceeded) for r in results) == 45
    assert len(await requests.list_requests(db, viewer=ids["alice"])) == 5


async def test_series_quota_counts_seasons_and_moderators_are_exempt(db: Database) -> None:
    ids = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    quota = RequestSettings(series_quota_limit=3, series_quota_days=7)
    await requests.create(
        db, await title(ContentType.SERIES, tvdb_id=81189), actor_id=ids["alice"], seasons=[1, 2], settings=quota
    )
    with pytest.raises(QuotaExceeded, match="has used 2 of the 3 series seasons allowed every 7 days"):
        await requests.create(
            db, await title(ContentType.SERIES, tvdb_id=121361), actor_id=ids["alice"], seasons=[1, 2], settings=quota
        )
    made = await requests.create(
        db, await title(ContentType.SERIES, tvdb_id=121361), actor_id=ids["mod"], settings=quota
    )
    assert made.outcome == "auto_approved"  # moderators may auto-approve, and have no quota


async def test_deny_needs_a_reason_and_tells_everyone_following(db: Database) -> None:
    ids = await people(db, ("mod", UserRole.MODERATOR), ("alice", UserRole.USER))
    made = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["alice"])
    for reason in ("", "   ", "x" * 501):
        with pytest.raises(InvalidInput, match="1 to 500 characters"):
            await requests.deny(db, made.request.id, actor_id=ids["mod"], reason=reason)
    denied = await requests.deny(db, made.request.id, actor_id=ids["mod"], reason="Not in 4K anywhere yet")
    assert (denied.status, denied.denial_reason) == (RequestStatus.DENIED, "Not in 4K anywhere yet")
    assert ("request_denied", ids["alice"]) in await outbox(db)


async def test_only_the_requester_cancels_and_only_while_pending(db: Database) -> None:
    ids = await people(db, ("mod", UserRole.MODERATOR), ("alice", UserRole.USER), ("bob", UserRole.USER))
    made = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["alice"])
    with pytest.raises(NotAllowed, match="only the person who made"):
        await requests.cancel(db, made.request.id, actor_id=ids["bob"])
    cancelled = await requests.cancel(db, made.request.id, actor_id=ids["alice"])
    assert cancelled.status == RequestStatus.CANCELLED
    again = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["alice"])
    await requests.approve(db, again.request.id, actor_id=ids["mod"])
    with pytest.raises(AlreadyDecided, match="already approved"):
        await requests.cancel(db, again.request.id, actor_id=ids["alice"])


async def test_auto_approve_by_per_user_override(db: Database) -> None:
    ids = await people(db, ("trusted", UserRole.USER))
    async with db.transaction() as session:
        user = await session.get_one(User, ids["trusted"])
        user.permissions = {"auto_approve_movie": True}
    made = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["trusted"])
    assert (made.outcome, made.request.status) == ("auto_approved", RequestStatus.APPROVED)


async def test_approval_at_once_follows_the_permission_as_it_is_now_whatever_idkarr_guessed(db: Database) -> None:
    # A requester's last outcome is only a guess at what reads to send first: a changed permission is read fresh,
    # and whoever the guess left unread is read before anyone is told.
    ids = await people(db, ("trusted", UserRole.USER), ("mod", UserRole.MODERATOR))

    async def allow(on: bool) -> None:
        async with db.transaction() as session:
            (await session.get_one(User, ids["trusted"])).permissions = {"auto_approve_movie": on}

    outcomes = []
    for film, on in ((603, True), (155, False), (157336, True), (27205, True)):
        await allow(on)
        made = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=film), actor_id=ids["trusted"])
        outcomes.append((made.outcome, made.request.status))
    assert outcomes == [
        ("auto_approved", RequestStatus.APPROVED),
        ("created", RequestStatus.PENDING),
        ("auto_approved", RequestStatus.APPROVED),
        ("auto_approved", RequestStatus.APPROVED),
    ]
    async with db.session() as session:
        placed = set(await session.scalars(select(Media.tmdb_id)))
        approvals = set(await session.scalars(select(Activity.tmdb_id).where(Activity.type == "request_approved")))
    assert placed == {603, 157336, 27205}  # a library record for each approved film, none for the pending one
    assert approvals == {603, 157336, 27205}
    # The moderator hears of the one request that waits for them, though idkarr guessed it would not wait.
    assert [event for event, user in await outbox(db) if user == ids["mod"]] == ["request_pending"]
    async with db.session() as session:
        named = (
            await session.scalars(
                select(OutboxMessage.payload)
                .where(OutboxMessage.recipient_user_id.is_(None), OutboxMessage.event == "request_created")
                .order_by(OutboxMessage.id)
            )
        ).all()
    # Every announcement of a new request names its requester, whichever reads came first.
    assert [payload["requested_by"] for payload in named] == ["trusted"] * 4


async def test_people_see_their_own_requests_and_moderators_see_all(db: Database) -> None:
    ids = await people(db, ("mod", UserRole.MODERATOR), ("alice", UserRole.USER), ("bob", UserRole.USER))
    await requests.create(db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["alice"])
    await requests.create(db, await title(ContentType.MOVIE, tmdb_id=550), actor_id=ids["bob"])
    assert [r.title for r in await requests.list_requests(db, viewer=ids["alice"])] == ["The Matrix"]
    assert len(await requests.list_requests(db, viewer=ids["mod"])) == 2
    pending = await requests.list_requests(db, viewer=ids["mod"], status=RequestStatus.PENDING, limit=1)
    assert [r.title for r in pending] == ["Fight Club"]


async def test_shows_become_partial_then_available_as_seasons_arrive(db: Database) -> None:
    ids = await people(db, ("mod", UserRole.MODERATOR), ("alice", UserRole.USER), ("bob", UserRole.USER))
    show = await title(ContentType.SERIES, tvdb_id=81189)
    made = await requests.create(db, show, actor_id=ids["alice"], seasons=[1, 2])
    await requests.create(db, show, actor_id=ids["bob"], seasons=[1])
    await requests.approve(db, made.request.id, actor_id=ids["mod"])
    partial = await requests.mark_available(db, made.request.id, seasons=[1])
    assert partial.status == RequestStatus.PARTIAL
    unchanged = await requests.mark_available(db, made.request.id, seasons=[1])
    assert unchanged.status == RequestStatus.PARTIAL
    done = await requests.mark_available(db, made.request.id, seasons=[2])
    assert done.status == RequestStatus.AVAILABLE
    events = [e for e in await outbox(db) if e[0] in ("request_partial", "request_available")]
    assert sorted(events) == sorted(
        [
            ("request_partial", ids["alice"]),
            ("request_partial", ids["bob"]),
            ("request_available", ids["alice"]),
            ("request_available", ids["bob"]),
        ]
    )
    async with db.session() as session:
        media = (await session.execute(select(Media))).scalar_one()
    assert media.status == MediaStatus.AVAILABLE
    # Season 3 is still wanted: asking for the show again makes a new request for only that season.
    more = await requests.create(db, show, actor_id=ids["bob"])
    assert (more.outcome, more.request.seasons) == ("created", [3, 4, 5])


async def test_failed_requests_carry_their_reason_and_can_be_retried(db: Database) -> None:
    ids = await people(db, ("mod", UserRole.MODERATOR), ("alice", UserRole.USER))
    made = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["alice"])
    with pytest.raises(AlreadyDecided, match="already pending"):
        await requests.mark_failed(db, made.request.id, reason="no")
    await requests.approve(db, made.request.id, actor_id=ids["mod"])
    failed = await requests.mark_failed(db, made.request.id, reason="Radarr: no root folder")
    assert failed.status == RequestStatus.FAILED
    assert ("request_failed", ids["alice"]) in await outbox(db)
    with pytest.raises(NotAllowed):
        await requests.retry(db, made.request.id, actor_id=ids["alice"])
    retried = await requests.retry(db, made.request.id, actor_id=ids["mod"])
    assert retried.status == RequestStatus.APPROVED
    approvals = [e for e in await outbox(db) if e == ("request_approved", ids["alice"])]
    assert len(approvals) == 2  # told of the approval, and again of the retry


async def test_pending_requests_expire_on_schedule_and_people_hear_of_it(db: Database) -> None:
    from datetime import UTC, datetime, timedelta

    ids = await people(db, ("alice", UserRole.USER))
    old = await requests.create(
        db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["alice"], settings=RequestSettings(expiry_days=1)
    )
    fresh = await requests.create(
        db, await title(ContentType.MOVIE, tmdb_id=550), actor_id=ids["alice"], settings=RequestSettings(expiry_days=30)
    )
    later = datetime.now(UTC) + timedelta(days=2)
    assert await requests.expire_due(db, now=later, batch=1) == 1
    assert (await requests.get(db, old.request.id)).status == RequestStatus.EXPIRED
    assert (await requests.get(db, fresh.request.id)).status == RequestStatus.PENDING
    assert ("request_expired", ids["alice"]) in await outbox(db)
    assert await requests.expire_due(db, now=later) == 0


async def test_seasons_of_a_pending_request_can_be_changed_by_its_requester(db: Database) -> None:
    ids = await people(db, ("alice", UserRole.USER), ("bob", UserRole.USER))
    show = await title(ContentType.SERIES, tvdb_id=81189)
    made = await requests.create(db, show, actor_id=ids["alice"], seasons=[1])
    edited = await requests.edit_seasons(db, made.request.id, show, actor_id=ids["alice"], seasons=[1, 2, 3])
    assert edited.seasons == [1, 2, 3]
    with pytest.raises(NotAllowed):
        await requests.edit_seasons(db, made.request.id, show, actor_id=ids["bob"], seasons=[1])
    with pytest.raises(InvalidInput, match="no season 8"):
        await requests.edit_seasons(db, made.request.id, show, actor_id=ids["alice"], seasons=[8])
    other = await title(ContentType.SERIES, tvdb_id=121361)
    with pytest.raises(InvalidInput, match="belong to Game of Thrones"):
        await requests.edit_seasons(db, made.request.id, other, actor_id=ids["alice"], seasons=[1])


async def test_widening_a_pending_request_counts_against_the_quota(db: Database) -> None:
    ids = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    quota = RequestSettings(series_quota_limit=4, series_quota_days=30)
    show = await title(ContentType.SERIES, tvdb_id=81189)
    made = await requests.create(db, show, actor_id=ids["alice"], seasons=[1, 2], settings=quota)
    # Its own two seasons are given back when counting: four in all is within the quota, five is not.
    widened = await requests.edit_seasons(
        db, made.request.id, show, actor_id=ids["alice"], seasons=[1, 2, 3, 4], settings=quota
    )
    assert widened.seasons == [1, 2, 3, 4]
    with pytest.raises(QuotaExceeded, match="has used 0 of the 4 series seasons allowed every 30 days"):
        await requests.edit_seasons(
            db, made.request.id, show, actor_id=ids["alice"], seasons=[1, 2, 3, 4, 5], settings=quota
        )
    # A moderator may widen it beyond her quota, as they could approve more.
    by_mod = await requests.edit_seasons(
        db, made.request.id, show, actor_id=ids["mod"], seasons=[1, 2, 3, 4, 5], settings=quota
    )
    assert by_mod.seasons == [1, 2, 3, 4, 5]
    narrowed = await requests.edit_seasons(
        db, made.request.id, show, actor_id=ids["alice"], seasons=[1], settings=quota
    )
    assert narrowed.seasons == [1]


async def test_notification_settings_are_respected(db: Database) -> None:
    ids = await people(db, ("mod", UserRole.MODERATOR), ("alice", UserRole.USER))
    async with db.transaction() as session:
        alice = await session.get_one(User, ids["alice"])
        alice.notification_settings = {"onRequestDenied": False}
    made = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["alice"])
    await requests.deny(db, made.request.id, actor_id=ids["mod"], reason="no space")
    assert ("request_denied", ids["alice"]) not in await outbox(db)


async def test_control_characters_in_a_denial_reason_are_dropped_not_stored(db: Database) -> None:
    ids = await people(db, ("alice", UserRole.USER), ("mod", UserRole.MODERATOR))
    made = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["alice"])
    denied = await requests.deny(db, made.request.id, actor_id=ids["mod"], reason="not\x00 here\x1b[31m yet")
    assert denied.denial_reason == "not here [31m yet"
    with pytest.raises(InvalidInput):
        await requests.deny(db, made.request.id, actor_id=ids["mod"], reason="\x00\x01")


async def test_a_decision_names_everyone_exactly_as_a_fresh_read_does(db: Database) -> None:
    # The view after approve or deny is drawn from the followers read for the notifications, not read again.
    ids = await people(
        db, ("ann", UserRole.USER), ("ben", UserRole.USER), ("cat", UserRole.USER), ("mod", UserRole.MODERATOR)
    )
    matrix, inception = await title(ContentType.MOVIE, tmdb_id=603), await title(ContentType.MOVIE, tmdb_id=27205)
    first = await requests.create(db, matrix, actor_id=ids["ann"])
    second = await requests.create(db, inception, actor_id=ids["ben"])
    for name in ("cat", "ben"):  # they join in this order
        await requests.create(db, matrix, actor_id=ids[name])
    await requests.create(db, inception, actor_id=ids["mod"])

    approved = await requests.approve(db, first.request.id, actor_id=ids["mod"])
    denied = await requests.deny(db, second.request.id, actor_id=ids["mod"], reason="not this year")

    assert (approved.requested_by, approved.watchers, approved.approved_by) == ("ann", ["cat", "ben"], "mod")
    assert (denied.requested_by, denied.watchers, denied.approved_by, denied.denied_by) == ("ben", ["mod"], None, "mod")
    assert approved == await requests.get(db, first.request.id)
    assert denied == await requests.get(db, second.request.id)


async def test_a_page_of_requests_names_everyone_on_each_as_reading_them_one_by_one_does(db: Database) -> None:
    ids = await people(
        db, ("ann", UserRole.USER), ("ben", UserRole.USER), ("cat", UserRole.USER), ("mod", UserRole.MODERATOR)
    )
    films = [await title(ContentType.MOVIE, tmdb_id=tmdb_id) for tmdb_id in (603, 27205, 550)]
    made = [
        await requests.create(db, film, actor_id=ids[name])
        for film, name in zip(films, ("ann", "ben", "cat"), strict=True)
    ]
    for film, joiners in ((films[0], ("cat", "ben")), (films[2], ("ann",))):
        for name in joiners:
            await requests.create(db, film, actor_id=ids[name])
    await requests.approve(db, made[1].request.id, actor_id=ids["mod"])

    page = await requests.list_requests(db, viewer=OPERATOR)

    assert [view.watchers for view in sorted(page, key=lambda view: view.id)] == [["cat", "ben"], [], ["ann"]]
    assert page == [await requests.get(db, view.id) for view in page]


async def _recorded_as_stored(db: Database, request_id: int) -> None:
    """Each activity entry of the request (and each notification of it) says what the request held then: the
    record is written in the change's own round trip, from the row as the change leaves it."""
    async with db.session() as session:
        stored = await session.get(Request, request_id)
        assert stored is not None
        entry = (
            await session.execute(
                select(Activity).where(Activity.request_id == request_id).order_by(Activity.id.desc()).limit(1)
            )
        ).scalar_one()
        told = (
            await session.execute(
                select(OutboxMessage.payload).where(OutboxMessage.dedup_key.startswith(f"activity:{entry.id}:"))
            )
        ).scalars()
        payloads = list(told)
    assert (entry.media_id, entry.title, entry.tmdb_id, entry.tvdb_id) == (
        stored.media_id,
        stored.title,
        stored.tmdb_id,
        stored.tvdb_id,
    )
    assert payloads, "every change here tells someone"
    assert {payload["status"] for payload in payloads} == {stored.status.value}
    assert {payload["request_id"] for payload in payloads} == {stored.id}


async def test_each_change_records_the_request_as_it_left_it(db: Database) -> None:
    ids = await people(db, ("mod", UserRole.MODERATOR), ("alice", UserRole.USER))
    made = await requests.create(db, await title(ContentType.SERIES, tvdb_id=81189), actor_id=ids["alice"])
    await _recorded_as_stored(db, made.request.id)
    approved = await requests.approve(db, made.request.id, actor_id=ids["mod"])
    await _recorded_as_stored(db, approved.id)
    await requests.mark_failed(db, approved.id, reason="disk full")
    await _recorded_as_stored(db, approved.id)
    retried = await requests.retry(db, approved.id, actor_id=ids["mod"])
    await _recorded_as_stored(db, retried.id)
    await requests.mark_available(db, retried.id, seasons=[1])
    await _recorded_as_stored(db, retried.id)
    other = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=550), actor_id=ids["alice"])
    await requests.deny(db, other.request.id, actor_id=ids["mod"], reason="not now")
    await _recorded_as_stored(db, other.request.id)
    async with db.session() as session:
        library = (await session.execute(select(Media).where(Media.tvdb_id == 81189))).scalar_one()
    assert library.status == MediaStatus.PARTIALLY_AVAILABLE


PAIRINGS = [
    (UserRole.ADMIN, UserRole.USER),
    (UserRole.MODERATOR, UserRole.USER),
    (UserRole.MODERATOR, UserRole.MODERATOR),
    (UserRole.USER, UserRole.USER),
    (UserRole.ADMIN, UserRole.MODERATOR),
]


@pytest.mark.parametrize(("first", "second"), PAIRINGS)
async def test_two_first_requests_for_a_title_at_the_same_moment_make_one_open_request(
    db: Database, first: UserRole, second: UserRole
) -> None:
    ids = await people(db, ("a", first), ("b", second))
    films = [t for t in CATALOG.titles() if t.type == ContentType.MOVIE][:12]
    shows = [t for t in CATALOG.titles() if t.type == ContentType.SERIES and t.tvdb_id][:12]
    rounds = [await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=t.tmdb_id)) for t in films]
    rounds += [await CATALOG.details(ContentType.SERIES, ExternalIds(tvdb_id=t.tvdb_id)) for t in shows]
    for details in rounds:
        barrier = asyncio.Barrier(2)

        async def ask(user: int, details: TitleDetails = details, barrier: asyncio.Barrier = barrier) -> object:
            await barrier.wait()  # released together, each on its own pooled connection
            return await requests.create(db, details, actor_id=user, seasons=[1] if details.seasons else None)

        results = await asyncio.gather(ask(ids["a"]), ask(ids["b"]), return_exceptions=True)
        assert all(isinstance(r, requests.CreateResult) for r in results), results
        outcomes = sorted(r.outcome for r in results if isinstance(r, requests.CreateResult))
        assert outcomes[-1] == "joined", (details.title.title, outcomes)  # the loser follows the winner
    async with db.session() as session:
        open_requests = (
            await session.execute(
                select(Request.content_type, Request.tmdb_id, Request.tvdb_id).where(
                    Request.status.in_([RequestStatus.PENDING, RequestStatus.APPROVED, RequestStatus.PARTIAL])
                )
            )
        ).all()
    assert len(open_requests) == len(rounds) == len(set(open_requests))


async def test_what_a_change_records_is_read_back_from_the_row_it_left(db: Database) -> None:
    """Something else in the database (a trigger another tool or a later migration adds) changes the row as it
    is updated: the entry, the notifications and the answer say what the row says, not what idkarr sent."""
    from sqlalchemy import text

    ids = await people(db, ("mod", UserRole.MODERATOR), ("alice", UserRole.USER))
    made = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=603), actor_id=ids["alice"])
    async with db.engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE FUNCTION test_remaster() RETURNS trigger AS $$ BEGIN"
                " NEW.title := NEW.title || ' (remastered)'; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        await connection.execute(
            text("CREATE TRIGGER test_remaster BEFORE UPDATE ON request FOR EACH ROW EXECUTE FUNCTION test_remaster()")
        )
    try:
        approved = await requests.approve(db, made.request.id, actor_id=ids["mod"])
    finally:
        async with db.engine.begin() as connection:
            await connection.execute(text("DROP TRIGGER test_remaster ON request"))
            await connection.execute(text("DROP FUNCTION test_remaster()"))
    assert approved.title == "The Matrix (remastered)"
    async with db.session() as session:
        entry = (
            await session.execute(select(Activity.title).where(Activity.type == ActivityType.REQUEST_APPROVED))
        ).scalar_one()
        told = (
            await session.execute(
                select(OutboxMessage.payload).where(
                    OutboxMessage.event == "request_approved", OutboxMessage.recipient_user_id == ids["alice"]
                )
            )
        ).scalar_one()
    assert entry == "The Matrix (remastered)"
    assert told["title"] == "The Matrix (remastered)"
    assert told["status"] == "approved"
