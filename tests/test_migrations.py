from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

import core.db.models  # noqa: F401
from core.db import migrate
from core.db.base import Base
from core.db.migrate import SchemaNotCurrent
from core.db.session import Database

from .conftest import Idkarr
from .scratch import PostgresServer


@pytest.fixture
async def empty_database(postgres_server: PostgresServer) -> AsyncIterator[Database]:
    url = postgres_server.create_database()
    database = Database(url=url)
    try:
        yield database
    finally:
        await database.dispose()
        postgres_server.drop_database(url)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _enum_types(connection: Connection) -> set[str]:
    return {row[0] for row in connection.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'"))}


async def test_empty_to_head_to_base_to_head(empty_database: Database) -> None:
    expected = {table.name for table in Base.metadata.sorted_tables}
    state = await migrate.upgrade(empty_database)
    assert state.is_current
    async with empty_database.engine.connect() as connection:
        assert await connection.run_sync(_tables) == expected

    state = await migrate.downgrade(empty_database, "base")
    assert state.current is None
    async with empty_database.engine.connect() as connection:
        assert await connection.run_sync(_tables) == set()
        assert await connection.run_sync(_enum_types) == set()  # downgrade leaves no type behind

    state = await migrate.upgrade(empty_database)
    assert state.is_current
    async with empty_database.engine.connect() as connection:
        assert await connection.run_sync(_tables) == expected


async def test_autogenerate_finds_no_difference_between_models_and_migrations(empty_database: Database) -> None:
    await migrate.upgrade(empty_database)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(context, Base.metadata))

    async with empty_database.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


def _unlogged(connection: Connection) -> set[str]:
    query = "SELECT relname FROM pg_class WHERE relpersistence = 'u' AND relkind = 'r'"
    return {row[0] for row in connection.execute(text(query))}


async def test_only_the_discovery_cache_is_unlogged_in_the_migrated_schema_and_in_the_models(
    empty_database: Database,
) -> None:
    # Autogenerate does not compare persistence: the migrations and the models are checked against each other.
    await migrate.upgrade(empty_database)
    async with empty_database.engine.connect() as connection:
        assert await connection.run_sync(_unlogged) == {"discovery_cache"}
    from_models = {table.name for table in Base.metadata.sorted_tables if "UNLOGGED" in table._prefixes}
    assert from_models == {"discovery_cache"}
    await migrate.downgrade(empty_database, "0005")
    async with empty_database.engine.connect() as connection:
        assert await connection.run_sync(_unlogged) == set()


async def test_unmigrated_database_is_refused_naming_the_command(empty_database: Database) -> None:
    state = await migrate.read_schema_state(empty_database)
    with pytest.raises(SchemaNotCurrent, match="idkarr db upgrade"):
        state.require_current()


async def test_database_from_a_newer_idkarr_is_refused_and_not_migrated(empty_database: Database) -> None:
    await migrate.upgrade(empty_database)
    async with empty_database.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    state = await migrate.read_schema_state(empty_database)
    assert not state.known
    with pytest.raises(SchemaNotCurrent, match="newer idkarr"):
        state.require_current()
    with pytest.raises(SchemaNotCurrent, match="newer idkarr"):
        await migrate.upgrade(empty_database)


async def test_cli_reports_and_fixes_schema_state(empty_database: Database, idkarr: Idkarr) -> None:
    env = {"IDKARR_DATABASE__URL": empty_database.url.libpq}
    refused = idkarr("user", "list", env=env)
    assert refused.returncode == 1
    assert "idkarr db upgrade" in refused.stderr
    assert "Traceback" not in refused.stderr

    assert "none" in idkarr("db", "current", env=env).stdout

    upgraded = idkarr("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "head" in upgraded.stdout
    assert "bootstrap admin 'admin'" in upgraded.stdout

    again = idkarr("db", "upgrade", env=env)
    assert "already at" in again.stdout
    assert "bootstrap" not in again.stdout  # created once only

    assert idkarr("db", "current", env=env).stdout.strip().endswith("(head)")

    async with empty_database.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_newer'"))
    newer = idkarr("user", "list", env=env)
    assert newer.returncode == 1
    assert "newer idkarr" in newer.stderr
    assert "ffff_newer" in idkarr("db", "current", env=env).stdout


def test_revision_files_are_named_for_their_ids_in_one_line_of_history() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert sorted(rev.revision for rev in script.walk_revisions()) == migrate.known_revisions()
    assert script.get_heads() == [migrate.known_revisions()[-1]]
