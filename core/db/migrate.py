"""Schema state: apply migrations, read the current revision, refuse to run on the wrong schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

import migrations
from core.db.session import Database
from core.errors import StartupError

__all__ = ["SchemaNotCurrent", "SchemaState", "alembic_config", "downgrade", "read_schema_state", "upgrade"]


class SchemaNotCurrent(StartupError):
    """The database is not at the revision this idkarr expects; the message names what to do."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str
    known: bool  # False: the database was migrated by a newer idkarr

    @property
    def is_current(self) -> bool:
        return self.current == self.head

    def require_current(self) -> None:
        if self.current is None:
            raise SchemaNotCurrent("the database has no idkarr schema yet: run `idkarr db upgrade`")
        if not self.known:
            raise SchemaNotCurrent(
                f"the database is at revision {self.current}, which this idkarr does not know: it was "
                "migrated by a newer idkarr. Run that version, or restore a backup made before the upgrade."
            )
        if not self.is_current:
            raise SchemaNotCurrent(
                f"the database schema is at revision {self.current}, this idkarr needs {self.head}: "
                "run `idkarr db upgrade`"
            )


def _state(connection: Connection) -> SchemaState:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None, "migrations/versions holds no revision"
    heads = MigrationContext.configure(connection).get_current_heads()
    current = heads[0] if heads else None
    known = current is None or current in {rev.revision for rev in script.walk_revisions()}
    return SchemaState(current=current, head=head, known=known)


async def read_schema_state(database: Database) -> SchemaState:
    async with database.engine.connect() as connection:
        return await connection.run_sync(_state)


def _run_command(connection: Connection, action: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def upgrade(database: Database, revision: str = "head") -> SchemaState:
    state = await read_schema_state(database)
    if not state.known:
        state.require_current()  # raises: never migrate over a newer idkarr's schema
    async with database.engine.begin() as connection:
        await connection.run_sync(_run_command, "upgrade", revision)
    return await read_schema_state(database)


async def downgrade(database: Database, revision: str) -> SchemaState:
    async with database.engine.begin() as connection:
        await connection.run_sync(_run_command, "downgrade", revision)
    return await read_schema_state(database)
