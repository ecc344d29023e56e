"""A stateful property test of the request core on real PostgreSQL.

Random sequences of create, join, approve, deny, cancel, expire, fail, retry and mark available by random
people never reach an illegal state: one pending request per title, limits and quotas kept, moderators the
only deciders, every decision recorded once in the activity feed, notifications only to active people.
Each refused action must be refused for the reason the model predicts.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, MultipleResults, RuleBasedStateMachine, invariant, multiple, rule
from sqlalchemy import func, select, text, update

from core.config import RequestSettings
from core.db.base import Base
from core.db.models import Activity, OutboxMessage, Request, RequestWatcher, User
from core.db.session import Database
from core.dburl import DatabaseUrl
from core.enums import OPEN_REQUEST_STATUSES, ActivityType, ContentType, RequestStatus, UserRole, UserStatus
from core.errors import AlreadyAvailable, AlreadyDecided, DomainError, NotAllowed, QuotaExceeded
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.metadata.types import TitleDetails
from core.services import requests
from core.services.users import add_user

T = TypeVar("T")

LIMITED_USER_LIMIT = 2
MOVIE_QUOTA = 3
SETTINGS = RequestSettings(movie_quota_limit=MOVIE_QUOTA, movie_quota_days=7)
TITLES = [(ContentType.MOVIE, 603), (ContentType.MOVIE, 550), (ContentType.MOVIE, 27205), (ContentType.MOVIE, 157336)]
SHOWS = [(ContentType.SERIES, 81189), (ContentType.SERIES, 121361)]
# Deciders come up more often than their share, so decisions happen in most histories.
ACTORS = st.sampled_from(["boss", "mod", "mod", "alice", "bob", "limited", "vera"])
PEOPLE = [
    ("boss", UserRole.ADMIN),
    ("mod", UserRole.MODERATOR),
    ("alice", UserRole.USER),
    ("bob", UserRole.USER),
    ("limited", UserRole.USER),
    ("vera", UserRole.VIEWER),
]
DECIDERS = {"boss", "mod"}
_TABLES = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)

DATABASE_URL: DatabaseUrl | None = None  # set by the test before the machine runs


class RequestCore(RuleBasedStateMachine):
    request_ids = Bundle("request_ids")

    def __init__(self) -> None:
        super().__init__()
        assert DATABASE_URL is not None
        self.loop = asyncio.new_event_loop()
        self.db = Database(url=DATABASE_URL, pool_size=4)
        self.users: dict[str, int] = {}
        self.titles: dict[tuple[ContentType, int], TitleDetails] = {}
        self.run(self._setup())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def _setup(self) -> None:
        async with self.db.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
        for name, role in PEOPLE:
            self.users[name] = (await add_user(self.db, name, role)).id
        async with self.db.transaction() as session:
            await session.execute(
                update(User).where(User.username == "limited").values(request_limit=LIMITED_USER_LIMIT)
            )
        catalog = OfflineCatalog()
        for content_type, tmdb_id in TITLES:
            self.titles[(content_type, tmdb_id)] = await catalog.details(content_type, ExternalIds(tmdb_id=tmdb_id))
        for content_type, tvdb_id in SHOWS:
            self.titles[(content_type, tvdb_id)] = await catalog.details(content_type, ExternalIds(tvdb_id=tvdb_id))

    def teardown(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()

    async def _status(self, request_id: int) -> RequestStatus:
        async with self.db.session() as session:
            return (await session.execute(select(Request.status).where(Request.id == request_id))).scalar_one()

    # --- actions -----------------------------------------------------------------------------------------

    @rule(
        target=request_ids,
        person=ACTORS,
        key=st.sampled_from(TITLES + SHOWS),
        seasons=st.none() | st.lists(st.integers(1, 6), min_size=1, max_size=3, unique=True),
    )
    def create(self, person: str, key: tuple[ContentType, int], seasons: list[int] | None) -> MultipleResults[int]:
        details = self.titles[key]
        if details.title.type == ContentType.MOVIE:
            seasons = None
        try:
            result = self.run(
                requests.create(self.db, details, actor_id=self.users[person], seasons=seasons, settings=SETTINGS)
            )
        except QuotaExceeded:
            assert person in ("limited", "alice", "bob"), f"{person} is exempt from limits"
            return multiple()
        except NotAllowed:
            assert person == "vera", f"{person} was refused a request"
            return multiple()
        except (AlreadyDecided, AlreadyAvailable, DomainError):
            return multiple()
        assert person != "vera", "a viewer made a request"
        return multiple(result.request.id)

    @rule(request_id=request_ids, person=ACTORS)
    def approve(self, request_id: int, person: str) -> None:
        before = self.run(self._status(request_id))
        try:
            self.run(requests.approve(self.db, request_id, actor_id=self.users[person]))
        except AlreadyDecided:
            assert person in DECIDERS
            assert before != RequestStatus.PENDING
            return
        except NotAllowed:
            assert person not in DECIDERS
            return
        assert person in DECIDERS
        assert before == RequestStatus.PENDING

    @rule(
        request_id=request_ids,
        person=ACTORS,
        reason=st.sampled_from(["not in our region", "we have it in 4K"]) | st.text(max_size=20),
    )
    def deny(self, request_id: int, person: str, reason: str) -> None:
        before = self.run(self._status(request_id))
        try:
            self.run(requests.deny(self.db, request_id, actor_id=self.users[person], reason=reason))
        except DomainError:
            return
        assert person in DECIDERS
        assert before == RequestStatus.PENDING
        assert reason.split(), "denied without a reason"

    @rule(request_id=request_ids, person=ACTORS)
    def cancel(self, request_id: int, person: str) -> None:
        before = self.run(self._status(request_id))
        try:
            self.run(requests.cancel(self.db, request_id, actor_id=self.users[person]))
        except DomainError:
            return
        assert before == RequestStatus.PENDING

    @rule(request_id=request_ids)
    def expire(self, request_id: int) -> None:
        before = self.run(self._status(request_id))

        async def go() -> int:
            async with self.db.transaction() as session:
                await session.execute(
                    update(Request).where(Request.id == request_id).values(expires_at=Request.created_at)
                )
            return await requests.expire_due(self.db)

        expired = self.run(go())
        assert expired == (1 if before == RequestStatus.PENDING else 0)

    @rule(request_id=request_ids, seasons=st.lists(st.integers(1, 6), max_size=3))
    def mark_available(self, request_id: int, seasons: list[int]) -> None:
        before = self.run(self._status(request_id))
        try:
            self.run(requests.mark_available(self.db, request_id, seasons=seasons))
        except AlreadyDecided:
            assert before not in (RequestStatus.APPROVED, RequestStatus.PARTIAL)

    @rule(request_id=request_ids, person=st.sampled_from(["mod", "alice"]))
    def fail_and_retry(self, request_id: int, person: str) -> None:
        try:
            self.run(requests.mark_failed(self.db, request_id, reason="Sonarr said no"))
        except DomainError:
            return
        try:
            self.run(requests.retry(self.db, request_id, actor_id=self.users[person]))
        except NotAllowed:
            assert person == "alice"

    # --- what must always hold ---------------------------------------------------------------------------

    @invariant()
    def one_pending_request_per_title(self) -> None:
        async def check() -> None:
            async with self.db.session() as session:
                pending = (
                    await session.execute(
                        select(Request.content_type, Request.tmdb_id, Request.tvdb_id).where(
                            Request.status == RequestStatus.PENDING
                        )
                    )
                ).all()
            keys = Counter((row.content_type, row.tvdb_id or row.tmdb_id) for row in pending)
            assert all(count == 1 for count in keys.values()), keys

        self.run(check())

    @invariant()
    def limits_and_quotas_hold(self) -> None:
        async def check() -> None:
            async with self.db.session() as session:
                open_by_limited = (
                    await session.execute(
                        select(func.count()).where(
                            Request.requested_by_id == self.users["limited"],
                            Request.status.in_(OPEN_REQUEST_STATUSES),
                        )
                    )
                ).scalar_one()
                movies = (
                    await session.execute(
                        select(Request.requested_by_id, func.count())
                        .where(
                            Request.content_type == ContentType.MOVIE,
                            Request.status.not_in([RequestStatus.DENIED, RequestStatus.CANCELLED]),
                        )
                        .group_by(Request.requested_by_id)
                    )
                ).all()
                viewer_requests = (
                    await session.execute(select(func.count()).where(Request.requested_by_id == self.users["vera"]))
                ).scalar_one()
            # A limit counts open requests at the moment of asking; approvals never push someone over it.
            assert open_by_limited <= LIMITED_USER_LIMIT
            quota_bound = {self.users[name] for name in ("alice", "bob", "limited")}
            assert all(count <= MOVIE_QUOTA for user, count in movies if user in quota_bound), movies
            assert viewer_requests == 0

        self.run(check())

    @invariant()
    def decisions_are_consistent_and_recorded_once(self) -> None:
        async def check() -> None:
            async with self.db.session() as session:
                rows = (await session.execute(select(Request))).scalars().all()
                kinds = Counter(
                    (row.request_id, row.type)
                    for row in (await session.execute(select(Activity.request_id, Activity.type))).all()
                )
                deciders = {self.users[name] for name in DECIDERS}
                watchers = (await session.execute(select(RequestWatcher.request_id, RequestWatcher.user_id))).all()
                recipients = (
                    await session.execute(
                        select(User.status).join(OutboxMessage, OutboxMessage.recipient_user_id == User.id).distinct()
                    )
                ).scalars()
                assert set(recipients) <= {UserStatus.ACTIVE}
            requester_of = {row.id: row.requested_by_id for row in rows}
            assert all(requester_of[request_id] != user_id for request_id, user_id in watchers)
            for row in rows:
                assert kinds[(row.id, ActivityType.REQUEST_CREATED)] == 1
                if row.status == RequestStatus.DENIED:
                    assert row.denial_reason
                    assert row.approved_by_id in deciders
                    assert kinds[(row.id, ActivityType.REQUEST_DENIED)] == 1
                if row.status in (RequestStatus.APPROVED, RequestStatus.PARTIAL, RequestStatus.AVAILABLE):
                    assert row.media_id is not None
                    assert row.approved_at is not None
                    assert row.approved_by_id in deciders
                    assert kinds[(row.id, ActivityType.REQUEST_APPROVED)] >= 1
                if row.status == RequestStatus.AVAILABLE:
                    assert kinds[(row.id, ActivityType.REQUEST_AVAILABLE)] == 1
                if row.status == RequestStatus.CANCELLED:
                    assert kinds[(row.id, ActivityType.REQUEST_CANCELLED)] == 1
                if row.status == RequestStatus.EXPIRED:
                    assert kinds[(row.id, ActivityType.REQUEST_EXPIRED)] == 1
                if row.status == RequestStatus.FAILED:
                    assert row.failure_reason

        self.run(check())


def test_random_request_histories_never_reach_an_illegal_state(db: Database) -> None:
    global DATABASE_URL
    DATABASE_URL = db.url
    machine = settings(
        max_examples=40,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )(RequestCore)
    machine.TestCase().runTest()
