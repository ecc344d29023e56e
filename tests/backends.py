"""The test database's server processes, seen and ended from SQL: what a database restart does to a
process's connections, done to chosen ones without touching the rest."""

from __future__ import annotations

from collections.abc import Iterable

from core.db.session import Database


async def run_sql(database: Database, sql: str, *values: object) -> list[tuple[object, ...]]:
    """Run one plain SQL statement on its own and commit it; its rows, if any."""
    async with database.reads() as unit:
        cursor = await unit.connection.execute(sql, values or None)
        rows = await cursor.fetchall() if cursor.description else []
        await unit.connection.commit()
    return rows


async def backends(database: Database) -> set[int]:
    """The server processes connected to the test database, but the one asking."""
    query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    return {int(str(pid)) for (pid,) in await run_sql(database, query)}


async def end_backends(database: Database, pids: Iterable[int]) -> None:
    """End these server processes, as a restart would."""
    await run_sql(database, "SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", list(pids))
