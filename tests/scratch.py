"""Scratch databases on a PostgreSQL server we may CREATE DATABASE on: for test runs and benchmark runs.

Each gets a database of its own, so a run never meets what an earlier one left behind.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import psycopg
from psycopg import sql

from core.dburl import DatabaseUrl

__all__ = ["PostgresServer"]


@dataclass(frozen=True)
class PostgresServer:
    admin: DatabaseUrl  # a database to connect to for CREATE/DROP DATABASE

    def create_database(self, prefix: str = "idkarr_test") -> DatabaseUrl:
        name = f"{prefix}_{secrets.token_hex(4)}"
        with psycopg.connect(self.admin.libpq, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.admin.with_database(name)

    def drop_database(self, url: DatabaseUrl) -> None:
        with psycopg.connect(self.admin.libpq, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(url.database)))
