"""Statements compiled once and run on the driver connection (core.db.prepared), on real PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Integer, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Request, User
from core.db.pgtypes import REQUEST_STATUS
from core.db.prepared import Prepared, together
from core.db.session import Database
from core.enums import ContentType, RequestStatus, UserRole, UserStatus

from .backends import end_backends
from .factories import make_request, make_user

_NAMED = Prepared(select(User.id, User.username, User.role, User.permissions).where(User.id == bindparam("id")))
_NEW_USER = Prepared(
    insert(User)
    .values(username=bindparam("name"), role=bindparam("new_role"), permissions=bindparam("new_permissions"))
    .returning(User.id, User.status, User.created_at)
)
_OPEN_OF = Prepared(
    select(Request.id, Request.status, Request.seasons)
    .where(
        Request.requested_by_id == bindparam("user"),
        Request.status
        == any_(bindparam("open", [RequestStatus.PENDING, RequestStatus.APPROVED], ARRAY(REQUEST_STATUS))),
    )
    .order_by(Request.id)
)
_RENAME = Prepared(update(User).where(User.id == bindparam("id")).values(username=bindparam("name")))
_BY_IDS = Prepared(select(User.username).where(User.id == any_(bindparam("ids", type_=ARRAY(Integer)))))


async def _one(session: AsyncSession, user_id: int) -> Any:
    (row,) = await _NAMED.rows(session, id=user_id)
    return row


def test_an_in_list_is_refused_when_the_statement_is_built() -> None:
    with pytest.raises(ValueError, match="any_"):
        Prepared(select(User.id).where(User.role.in_([UserRole.ADMIN, UserRole.MODERATOR])))


async def test_values_go_in_and_come_back_as_the_orm_gives_them(db: Database) -> None:
    async with db.transaction() as session:
        made = await _NEW_USER.rows(session, name="ana", new_role=UserRole.MODERATOR, new_permissions={"x": True})
        read = await _one(session, made[0].id)
    assert made[0].status is UserStatus.ACTIVE  # a server default, loaded as its enum
    assert isinstance(made[0].created_at, datetime)
    assert made[0].created_at.tzinfo is not None
    assert (read.username, read.role, read.permissions) == ("ana", UserRole.MODERATOR, {"x": True})
    assert read.role is UserRole.MODERATOR


async def test_a_missing_value_is_named_before_anything_is_sent(db: Database) -> None:
    async with db.session() as session:
        with pytest.raises(TypeError, match="'id'"):
            await _NAMED.rows(session)


async def test_on_a_lean_unit_a_missing_value_is_named_before_anything_is_sent(db: Database) -> None:
    async with db.transaction() as session:
        alice = await make_user(session, "alice")
    async with db.unit() as unit:
        with pytest.raises(TypeError, match="'id'"):
            await _NAMED.rows(unit, name="values the statement does not use are no substitute")
        # Nothing was sent: the unit of work goes on, and a value the statement does not use is left alone.
        assert [row.username for row in await _NAMED.rows(unit, id=alice.id, unused=object())] == ["alice"]


async def test_on_a_lean_unit_fixed_values_need_not_be_given_and_given_ones_are_sent_as_the_orm_would(
    db: Database,
) -> None:
    async with db.transaction() as session:
        alice = await make_user(session, "alice")
        await make_request(session, alice, tmdb_id=1, status=RequestStatus.PENDING)
        await make_request(session, alice, tmdb_id=2, status=RequestStatus.DENIED, denial_reason="no")
    async with db.unit() as unit:
        fixed = await _OPEN_OF.rows(unit, user=alice.id)
        given = await _OPEN_OF.rows(unit, user=alice.id, open=[RequestStatus.DENIED])  # enums sent by value
    assert [row.status for row in fixed] == [RequestStatus.PENDING]
    assert [row.status for row in given] == [RequestStatus.DENIED]


async def test_fixed_values_in_the_statement_need_not_be_given(db: Database) -> None:
    async with db.transaction() as session:
        alice = await make_user(session, "alice")
        await make_request(session, alice, tmdb_id=1, status=RequestStatus.PENDING)
        await make_request(session, alice, tmdb_id=2, status=RequestStatus.DENIED, denial_reason="no")
        await make_request(session, alice, tmdb_id=3, status=RequestStatus.APPROVED, approved_at=datetime.now())
        rows = await _OPEN_OF.rows(session, user=alice.id)
    assert [row.status for row in rows] == [RequestStatus.PENDING, RequestStatus.APPROVED]
    assert all(row.seasons == [] for row in rows)


async def test_a_statement_sees_what_the_orm_has_not_flushed_yet(db: Database) -> None:
    async with db.transaction() as session:
        bob = await make_user(session, "bob")
        bob.username = "robert"  # pending in the unit of work
        assert (await _one(session, bob.id)).username == "robert"


async def test_a_statement_commits_and_rolls_back_with_its_unit_of_work(db: Database) -> None:
    async with db.transaction() as session:
        carol = await make_user(session, "carol")
    async with db.transaction() as session:
        await _RENAME.rows(session, id=carol.id, name="caroline")
    undone = db.transaction()
    try:
        async with undone as session:
            await _RENAME.rows(session, id=carol.id, name="never")
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    async with db.session() as session:
        assert (await _one(session, carol.id)).username == "caroline"


async def test_each_transaction_runs_on_the_connection_it_was_given(db: Database) -> None:
    # The session caches its driver connection for one transaction only; the next may get another.
    async with db.transaction() as session:
        dan = await make_user(session, "dan")
    for name in ("dan1", "dan2", "dan3"):
        async with db.transaction() as session:
            await _RENAME.rows(session, id=dan.id, name=name)
    async with db.session() as session:
        assert (await _one(session, dan.id)).username == "dan3"


async def test_a_lost_race_on_a_unique_index_is_the_integrity_error_the_orm_raises(db: Database) -> None:
    async with db.transaction() as session:
        await make_user(session, "erin")
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await _NEW_USER.rows(session, name="erin", new_role=UserRole.USER, new_permissions=None)


async def test_statements_sent_together_answer_in_order(db: Database) -> None:
    async with db.transaction() as session:
        first, second = await make_user(session, "fay"), await make_user(session, "gus", UserRole.ADMIN)
        answers = await together(
            session,
            (_NAMED, {"id": second.id}),
            (_BY_IDS, {"ids": [first.id, second.id]}),
            (_NAMED, {"id": 10_000}),
        )
    assert answers[0][0].role is UserRole.ADMIN
    assert sorted(row.username for row in answers[1]) == ["fay", "gus"]
    assert answers[2] == []


async def test_a_failure_among_statements_sent_together_is_raised_as_the_orm_would(db: Database) -> None:
    async with db.transaction() as session:
        await make_user(session, "ivy")
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await together(
                session,
                (_BY_IDS, {"ids": []}),
                (_NEW_USER, {"name": "ivy", "new_role": UserRole.USER, "new_permissions": None}),
            )


async def test_a_request_row_carries_every_column_a_use_case_reads(db: Database) -> None:
    from core.services.requests.common import REQUEST_COLUMNS

    claimed = Prepared(select(*REQUEST_COLUMNS).where(Request.id == bindparam("id")))
    async with db.transaction() as session:
        hal = await make_user(session, "hal")
        request = await make_request(session, hal, tmdb_id=27205, content_type=ContentType.MOVIE)
        (row,) = await claimed.rows(session, id=request.id)
    assert (row.id, row.content_type, row.status, row.requested_by_id) == (
        request.id,
        ContentType.MOVIE,
        RequestStatus.PENDING,
        hal.id,
    )


async def _backend_of(database: Database) -> int:
    async with database.transaction() as session:
        return int((await session.execute(select(func.pg_backend_pid()))).scalar_one())


async def test_a_pooled_connection_that_died_while_idle_is_replaced_unnoticed(db: Database) -> None:
    # Pooled connections are checked only after sitting idle; a database restart leaves exactly those dead.
    database = Database(url=db.url, pool_size=1, ping_idle_after=0.0)
    try:
        async with database.transaction() as session:
            ivan = await make_user(session, "ivan")
        dead = await _backend_of(database)
        await end_backends(db, [dead])
        async with database.transaction() as session:
            await _RENAME.rows(session, id=ivan.id, name="ivan2")
        assert await _backend_of(database) != dead
    finally:
        await database.dispose()


async def test_a_busy_connection_is_not_pinged_before_each_unit_of_work(db: Database) -> None:
    database = Database(url=db.url, pool_size=1, ping_idle_after=60.0)
    try:
        first = await _backend_of(database)
        await end_backends(db, [first])
        # Used a moment ago, it is trusted: the next unit of work meets the dead connection and says so.
        with pytest.raises(OperationalError):
            await _backend_of(database)
        assert await _backend_of(database) != first  # and the pool has let it go
    finally:
        await database.dispose()


async def test_json_values_cross_the_wire_as_the_standard_library_would_write_them(db: Database) -> None:
    # orjson (core.db.jsonb) in both pools: number keys become strings, as json.dumps makes them.
    value = {"x": True, 7: "seven", "ünï": ["😀", 1.5, None]}
    async with db.transaction() as session:
        (made,) = await _NEW_USER.rows(session, name="kay", new_role=UserRole.USER, new_permissions=value)
    async with db.unit() as unit:
        (row,) = await _NAMED.rows(unit, id=made.id)
    async with db.session() as session:
        stored = await session.get(User, made.id)
    assert stored is not None
    assert row.permissions == stored.permissions == {"x": True, "7": "seven", "ünï": ["😀", 1.5, None]}


def test_the_private_parts_of_sqlalchemy_it_reads_are_still_there_and_shaped_as_used() -> None:
    """compiler_parts reads three private attributes of SQLAlchemy's: after an upgrade that changed one, this
    fails naming it (and core/db/prepared.py's compiler_parts is the one function to mend)."""
    import sqlalchemy

    from core.db.prepared import _DIALECT, compiler_parts

    statement = (
        update(User)
        .where(User.id == bindparam("id"))
        .values(role=bindparam("role"), permissions=bindparam("permissions"))
        .returning(User.id, User.role, User.permissions)
    )
    compiled = statement.compile(dialect=_DIALECT)
    version = sqlalchemy.__version__
    processors = getattr(compiled, "_bind_processors", None)
    assert isinstance(processors, dict), f"SQLAlchemy {version}: SQLCompiler._bind_processors is gone or changed"
    assert callable(processors.get("role")), f"SQLAlchemy {version}: _bind_processors no longer maps bind names"
    columns = getattr(compiled, "_result_columns", None)
    assert isinstance(columns, list), f"SQLAlchemy {version}: SQLCompiler._result_columns is gone or changed"
    assert [getattr(column, "keyname", None) for column in columns] == ["id", "role", "permissions"], (
        f"SQLAlchemy {version}: SQLCompiler._result_columns entries no longer carry .keyname"
    )
    loader = getattr(User.role.type, "_cached_result_processor", None)
    assert callable(loader), f"SQLAlchemy {version}: TypeEngine._cached_result_processor is gone"
    parts = compiler_parts(compiled)
    assert parts.names == ["id", "role", "permissions"]
    role_loader = dict(parts.loaders)[1]
    assert role_loader("moderator") == UserRole.MODERATOR, f"SQLAlchemy {version}: result processors changed"
    assert parts.processors["role"](UserRole.MODERATOR) == "moderator", f"SQLAlchemy {version}: bind processors changed"
