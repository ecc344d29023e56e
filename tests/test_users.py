from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from core.db.models import Activity, User
from core.db.session import Database
from core.enums import ActivityType, UserRole, UserStatus
from core.errors import AlreadyExists, InvalidInput, NotAllowed, NotFound
from core.services import users


async def test_added_user_is_listed_and_announced_in_the_feed(db: Database) -> None:
    added = await users.add_user(db, "alice", UserRole.MODERATOR)
    assert (added.username, added.role, added.status) == ("alice", UserRole.MODERATOR, UserStatus.ACTIVE)
    assert [u.username for u in await users.list_users(db)] == ["alice"]
    async with db.session() as session:
        joined = (await session.execute(select(Activity))).scalar_one()
    assert joined.type == ActivityType.USER_JOINED
    assert joined.user_id == added.id


async def test_same_name_in_other_case_is_already_taken(db: Database) -> None:
    await users.add_user(db, "Alice", UserRole.USER)
    with pytest.raises(AlreadyExists, match="already exists"):
        await users.add_user(db, "ALICE", UserRole.USER)


@pytest.mark.parametrize("name", ["", "   ", "a b", "x" * 65, "@alice", "bob:1", "-dash", "tab\tname", "nul\x00"])
async def test_bad_usernames_get_a_clear_answer(db: Database, name: str) -> None:
    with pytest.raises(InvalidInput):
        await users.add_user(db, name, UserRole.USER)
    assert await users.list_users(db) == []


def test_roles_are_parsed_with_a_list_of_choices() -> None:
    assert users.parse_role("API-User") == UserRole.API_USER
    with pytest.raises(InvalidInput, match="admin, moderator, user, viewer, api-user"):
        users.parse_role("superuser")


async def test_role_change_disable_and_enable(db: Database) -> None:
    await users.add_user(db, "root", UserRole.ADMIN)
    await users.add_user(db, "carol", UserRole.USER)
    assert (await users.set_role(db, "Carol", UserRole.VIEWER)).role == UserRole.VIEWER
    assert (await users.disable_user(db, "carol")).status == UserStatus.DISABLED
    assert (await users.enable_user(db, "carol")).status == UserStatus.ACTIVE
    with pytest.raises(NotFound, match="no user named 'nobody'"):
        await users.set_role(db, "nobody", UserRole.USER)


async def test_the_last_active_admin_cannot_be_demoted_or_disabled(db: Database) -> None:
    await users.add_user(db, "root", UserRole.ADMIN)
    with pytest.raises(NotAllowed, match="last active admin"):
        await users.set_role(db, "root", UserRole.USER)
    with pytest.raises(NotAllowed, match="last active admin"):
        await users.disable_user(db, "root")
    await users.add_user(db, "second", UserRole.ADMIN)
    await users.disable_user(db, "root")  # now fine: another admin remains


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(db: Database) -> None:
    for round_number in range(10):  # a lock-order deadlock shows up within a few rounds
        first, second = f"a{round_number}x", f"a{round_number}y"
        await users.add_user(db, first, UserRole.ADMIN)
        await users.add_user(db, second, UserRole.ADMIN)
        for other in await users.list_users(db):  # leave exactly these two admins
            if other.role == UserRole.ADMIN and other.username not in (first, second):
                await users.set_role(db, other.username, UserRole.USER)
        results = await asyncio.gather(
            users.set_role(db, first, UserRole.USER),
            users.set_role(db, second, UserRole.USER),
            return_exceptions=True,
        )
        assert sum(isinstance(result, NotAllowed) for result in results) == 1, results
        assert sum(not isinstance(result, BaseException) for result in results) == 1, results
        async with db.session() as session:
            admins = (await session.execute(select(func.count()).where(User.role == UserRole.ADMIN))).scalar_one()
        assert admins == 1


async def test_bootstrap_admin_is_created_once_even_when_starts_race(db: Database) -> None:
    created = await asyncio.gather(*(users.ensure_bootstrap_admin(db, "admin") for _ in range(8)))
    assert created.count(True) == 1
    listed = await users.list_users(db)
    assert [(u.username, u.role) for u in listed] == [("admin", UserRole.ADMIN)]
    assert await users.ensure_bootstrap_admin(db, "admin") is False


async def test_bootstrap_admin_is_not_created_when_users_exist(db: Database) -> None:
    await users.add_user(db, "existing", UserRole.USER)
    assert await users.ensure_bootstrap_admin(db, "admin") is False
    assert [u.username for u in await users.list_users(db)] == ["existing"]
