"""Schema state: apply migrations, read the current revision, refuse to run on the wrong schema."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection

from core.db.session import Database
from core.errors import StartupError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["SchemaNotCurrent", "SchemaState", "alembic_config", "downgrade", "read_schema_state", "upgrade"]


class SchemaNotCurrent(StartupError):
    """The database is not at the revision this idkarr expects; the message names what to do."""


def _migrations_dir() -> Path:
    """Where the revisions are: the `migrations` package shipped beside `core`, found without importing it
    (the core sits below the migrations, which import its models)."""
    spec = find_spec("migrations")
    if spec is None or not spec.submodule_search_locations:
        raise StartupError("idkarr's migrations are not installed beside it; reinstall idkarr")
    return Path(next(iter(spec.submodule_search_locations)))


MIGRATIONS_DIR = _migrations_dir()
# Revision ids are the four-digit prefix of their file name and history is linear (tests hold both true), so
# the schema check at every start reads file names instead of importing Alembic (8 MB of resident memory).
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def known_revisions() -> list[str]:
    names = (_REVISION_FILE.match(path.name) for path in (MIGRATIONS_DIR / "versions").iterdir())
    return sorted(match.group(1) for match in names if match)


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


async def read_schema_state(database: Database) -> SchemaState:
    revisions = known_revisions()
    async with database.engine.connect() as connection:
        has_table = (await connection.execute(text("SELECT to_regclass('alembic_version')"))).scalar()
        current = None
        if has_table is not None:
            current = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return SchemaState(current=current, head=revisions[-1], known=current is None or current in revisions)


def _run_command(connection: Connection, action: str, revision: str) -> None:
    from alembic import command

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
