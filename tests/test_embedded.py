"""With no database or Redis configured, idkarr runs its own in the data directory and keeps the data."""

from __future__ import annotations

import json
from pathlib import Path

from core.config import load_settings
from core.embedded import running_postgres_pids
from core.runtime import open_redis

from .conftest import Idkarr

NO_SERVICES = {"IDKARR_DATABASE__URL": "", "IDKARR_REDIS__URL": ""}


def test_embedded_postgres_keeps_data_between_runs_and_stops_on_exit(idkarr: Idkarr, tmp_path: Path) -> None:
    data_dir = tmp_path / "embedded-data"
    env = {**NO_SERVICES, "IDKARR_DATA_DIR": str(data_dir)}

    first = idkarr("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "bootstrap admin" in first.stdout
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    assert running_postgres_pids(data_dir / "postgres") == []  # stopped when the command ended

    assert idkarr("user", "add", "bob", env=env).returncode == 0
    listed = idkarr("user", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert [row["username"] for row in json.loads(listed.stdout)] == ["admin", "bob"]
    assert running_postgres_pids(data_dir / "postgres") == []

    doctor = idkarr("doctor", env=env)
    assert "database: ok (PostgreSQL" in doctor.stdout
    assert "redis: ok" in doctor.stdout


async def test_embedded_redis_keeps_data_between_runs(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, redis={"url": None})
    async with open_redis(settings) as client:
        await client.set("idkarr:test:survives", "yes")
    async with open_redis(settings) as client:
        assert await client.get("idkarr:test:survives") == b"yes"
    assert (tmp_path / "redis" / "idkarr.rdb").exists()
