"""One person, one user: chat identities, link codes, self-registration and API keys."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core.db.models import ActionToken, ChatIdentity, OutboxMessage, User
from core.db.session import Database
from core.enums import ChatPlatform, UserRole, UserStatus
from core.errors import AlreadyExists, InvalidInput, NotAllowed, NotFound
from core.services import identity
from core.services.identity import NotLinked
from core.services.operator import OPERATOR
from core.services.users import add_user

from .conftest import Idkarr

DISCORD, TELEGRAM = ChatPlatform.DISCORD, ChatPlatform.TELEGRAM


async def test_an_unknown_account_is_told_how_to_get_linked(db: Database) -> None:
    with pytest.raises(NotLinked) as closed:
        await identity.identify(db, DISCORD, "1001", registration="closed")
    assert str(closed.value) == (
        "this Discord account is not linked to an idkarr user yet: "
        "ask an admin for a link code and send it with /link CODE"
    )
    with pytest.raises(NotLinked, match=r"or send /register to sign up \(an admin then approves you\)"):
        await identity.identify(db, TELEGRAM, "42", registration="approval")


async def test_a_link_code_joins_every_platform_to_one_user(db: Database) -> None:
    alice = await add_user(db, "alice", UserRole.USER)
    for platform, account in ((DISCORD, "1001"), (TELEGRAM, "42")):
        code, _ = await identity.issue_link_code(db, "alice", by=OPERATOR)
        assert len(code) == 11
        assert code[5] == "-"
        linked = await identity.redeem_link_code(db, code.lower(), platform, account, display_name="Alice")
        assert linked.id == alice.id
    assert (await identity.identify(db, DISCORD, "1001")).id == alice.id
    assert (await identity.identify(db, TELEGRAM, "42")).username == "alice"


async def test_a_link_code_works_once_and_is_stored_only_as_a_digest(db: Database) -> None:
    await add_user(db, "alice", UserRole.USER)
    code, _ = await identity.issue_link_code(db, "alice", by=OPERATOR)
    async with db.session() as session:
        stored = (await session.execute(select(ActionToken.id, ActionToken.arguments))).one()
    assert code.replace("-", "") not in str(stored)
    await identity.redeem_link_code(db, code, DISCORD, "1001")
    with pytest.raises(NotAllowed, match="already used"):
        await identity.redeem_link_code(db, code, TELEGRAM, "42")


async def test_expired_wrong_and_malformed_codes_are_refused_clearly(db: Database) -> None:
    await add_user(db, "alice", UserRole.USER)
    code, _ = await identity.issue_link_code(db, "alice", by=OPERATOR)
    async with db.transaction() as session:
        await session.execute(update(ActionToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    with pytest.raises(NotAllowed, match="expired"):
        await identity.redeem_link_code(db, code, DISCORD, "1001")
    with pytest.raises(NotFound, match="not valid"):
        await identity.redeem_link_code(db, "ABCDE-FGHJK", DISCORD, "1001")
    for garbage in ("", "short", "x" * 10_000, "ABCDE-FGHJ0", "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09"):
        with pytest.raises(InvalidInput, match="not a link code"):
            await identity.redeem_link_code(db, garbage, DISCORD, "1001")
    with pytest.raises(InvalidInput):
        await identity.identify(db, DISCORD, "9" * 65)


async def test_an_account_already_linked_elsewhere_is_not_stolen(db: Database) -> None:
    await add_user(db, "alice", UserRole.USER)
    await add_user(db, "mallory", UserRole.USER)
    first, _ = await identity.issue_link_code(db, "alice", by=OPERATOR)
    await identity.redeem_link_code(db, first, DISCORD, "1001")
    second, _ = await identity.issue_link_code(db, "mallory", by=OPERATOR)
    with pytest.raises(AlreadyExists, match="already linked to alice"):
        await identity.redeem_link_code(db, second, DISCORD, "1001")
    assert (await identity.identify(db, DISCORD, "1001")).username == "alice"
    assert await identity.unlink(db, DISCORD, "1001") == "alice"
    with pytest.raises(NotLinked):
        await identity.identify(db, DISCORD, "1001")


async def test_only_user_managers_issue_codes_from_chat(db: Database) -> None:
    admin = await add_user(db, "boss", UserRole.ADMIN)
    mod = await add_user(db, "mod", UserRole.MODERATOR)
    await add_user(db, "alice", UserRole.USER)
    await identity.issue_link_code(db, "alice", by=admin.id)
    with pytest.raises(NotAllowed):
        await identity.issue_link_code(db, "alice", by=mod.id)
    with pytest.raises(NotFound):
        await identity.issue_link_code(db, "nobody", by=OPERATOR)


async def test_registration_follows_the_policy(db: Database) -> None:
    admin = await add_user(db, "boss", UserRole.ADMIN)
    with pytest.raises(NotAllowed, match="registration is closed"):
        await identity.register(db, DISCORD, "1", display_name="Zed", registration="closed")

    opened = await identity.register(db, DISCORD, "1", display_name="Zed Zedson", registration="open")
    assert (opened.username, opened.role, opened.status) == ("Zed_Zedson", UserRole.USER, UserStatus.ACTIVE)
    assert (await identity.identify(db, DISCORD, "1")).id == opened.id

    waiting = await identity.register(db, TELEGRAM, "2", display_name="Zed Zedson", registration="approval")
    assert (waiting.username, waiting.status) == ("Zed_Zedson2", UserStatus.PENDING)
    async with db.session() as session:
        told = (await session.execute(select(OutboxMessage.event, OutboxMessage.recipient_user_id))).all()
    assert [(row.event, row.recipient_user_id) for row in told] == [("user_pending", admin.id)]

    odd = await identity.register(db, TELEGRAM, "3", display_name="🎬🎬", registration="open")
    assert odd.username == "telegram-3"


async def test_concurrent_registrations_of_one_account_make_one_user(db: Database) -> None:
    results = await asyncio.gather(
        *(identity.register(db, DISCORD, "77", display_name="Twin", registration="open") for _ in range(8)),
        return_exceptions=True,
    )
    made = [result for result in results if not isinstance(result, BaseException)]
    assert len(made) == 1
    assert all(isinstance(result, AlreadyExists) for result in results if isinstance(result, BaseException))
    async with db.session() as session:
        assert len((await session.execute(select(ChatIdentity))).all()) == 1
        assert len((await session.execute(select(User))).all()) == 1


async def test_api_keys_are_stored_hashed_and_replaced(db: Database) -> None:
    await add_user(db, "robot", UserRole.API_USER)
    key = await identity.issue_api_key(db, "robot")
    async with db.session() as session:
        stored = (await session.execute(select(User.api_key_hash))).scalar_one()
    assert stored == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(stored)
    assert (await identity.authenticate_api_key(db, key)).username == "robot"
    newer = await identity.issue_api_key(db, "robot")
    with pytest.raises(NotAllowed, match="not valid"):
        await identity.authenticate_api_key(db, key)
    assert (await identity.authenticate_api_key(db, newer)).username == "robot"
    for garbage in ("", "idk_", "nope", "idk_" + "a" * 500):
        with pytest.raises(NotAllowed):
            await identity.authenticate_api_key(db, garbage)


def test_link_code_from_the_shell_prints_the_code_alone_last(idkarr: Idkarr, db: Database) -> None:
    assert idkarr("user", "add", "alice").returncode == 0
    shown = idkarr("user", "link-code", "alice", "--minutes", "5")
    assert shown.returncode == 0, shown.stderr
    code = shown.stdout.strip().splitlines()[-1]
    assert len(code) == 11
    assert code[5] == "-"
    linked = asyncio.run(_redeem_on_fresh_engine(db, code))
    assert linked == "alice"
    unknown = idkarr("user", "link-code", "nobody")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "idkarr: there is no user named 'nobody'"
    key = idkarr("user", "api-key", "alice").stdout.strip().splitlines()[-1]
    assert key.startswith("idk_")
    assert idkarr("user", "unlink", "console", "1").returncode == 0


async def _redeem_on_fresh_engine(db: Database, code: str) -> str:
    fresh = Database(url=db.url)
    try:
        return (await identity.redeem_link_code(fresh, code, ChatPlatform.CONSOLE, "1")).username
    finally:
        await fresh.dispose()


async def test_identifying_notes_when_a_person_was_seen_and_their_new_name_at_most_once_a_minute(
    db: Database,
) -> None:
    user = await add_user(db, "alice", UserRole.USER)
    code, _ = await identity.issue_link_code(db, "alice", by=OPERATOR)
    await identity.redeem_link_code(db, code, TELEGRAM, "55", display_name="Alice")

    async def seen() -> tuple[datetime | None, str | None, datetime | None]:
        async with db.session() as session:
            query = select(ChatIdentity.last_seen_at, ChatIdentity.display_name, User.last_active)
            row = (await session.execute(query.join(User, User.id == ChatIdentity.user_id))).one()
        return row.last_seen_at, row.display_name, row.last_active

    found = await identity.identify(db, TELEGRAM, "55", display_name="Alice")
    assert (found.id, found.username) == (user.id, "alice")
    first, name, _ = await seen()
    assert first is not None
    assert name == "Alice"
    await identity.identify(db, TELEGRAM, "55", display_name="Alice")
    assert (await seen())[0] == first, "seen again within the minute: nothing rewritten"
    await identity.identify(db, TELEGRAM, "55", display_name="Alice B.")
    assert (await seen())[1] == "Alice B."
    async with db.transaction() as session:
        await session.execute(
            update(ChatIdentity).values(last_seen_at=ChatIdentity.last_seen_at - timedelta(minutes=5))
        )
    before = (await seen())[0]
    assert before is not None
    await identity.identify(db, TELEGRAM, "55")
    later, _, active = await seen()
    assert later is not None
    assert later > before
    assert active is not None
    with pytest.raises(NotLinked):
        await identity.identify(db, TELEGRAM, "56")
