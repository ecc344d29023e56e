"""`idkarr` end to end, as an operator runs it."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from .conftest import Idkarr
from .fakes import DISCORD_TOKEN, TELEGRAM_TOKEN, TMDB_API_KEY, TVDB_API_KEY, serve_upstreams

SECRETS = (TMDB_API_KEY, TVDB_API_KEY, DISCORD_TOKEN, TELEGRAM_TOKEN)


def test_help_lists_the_commands(idkarr: Idkarr) -> None:
    result = idkarr("--help")
    assert result.returncode == 0
    for command in ("db", "user", "doctor"):
        assert command in result.stdout


def test_user_lifecycle_from_the_shell(idkarr: Idkarr) -> None:
    added = idkarr("user", "add", "alice", "--role", "moderator")
    assert added.returncode == 0, added.stderr
    assert "added alice" in added.stdout
    assert idkarr("user", "set-role", "alice", "viewer").returncode == 0
    assert idkarr("user", "disable", "alice").returncode == 0

    listed = json.loads(idkarr("user", "list", "--json").stdout)
    by_name = {row["username"]: row for row in listed}
    assert set(by_name) == {"admin", "alice"}  # the bootstrap admin exists from the first start
    assert by_name["admin"]["role"] == "admin"
    assert (by_name["alice"]["role"], by_name["alice"]["status"]) == ("viewer", "disabled")
    assert set(by_name["alice"]) == {"id", "username", "role", "status", "created_at"}

    table = idkarr("user", "list").stdout
    assert "alice" in table
    assert "viewer" in table


def test_refusals_exit_non_zero_with_one_clear_line(idkarr: Idkarr) -> None:
    cases = [
        (("user", "add", "bob", "--role", "overlord"), "not a role"),
        (("user", "add", "bad name"), "not a valid username"),
        (("user", "set-role", "ghost", "user"), "no user named 'ghost'"),
        (("user", "disable", "admin"), "last active admin"),
    ]
    for args, expected in cases:
        result = idkarr(*args)
        assert result.returncode == 1, args
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    idkarr("user", "add", "bob")
    duplicate = idkarr("user", "add", "BOB")
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr


def test_unreachable_database_is_named_without_its_password(idkarr: Idkarr) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = idkarr("user", "list", env={"IDKARR_DATABASE__URL": f"postgresql://idk:s3cr3tpw@127.0.0.1:{port}/idkarr"})
    assert result.returncode == 1
    assert f"postgresql://idk:***@127.0.0.1:{port}/idkarr" in result.stderr
    assert "s3cr3tpw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_unwritable_data_directory_is_explained(idkarr: Idkarr, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = idkarr("db", "upgrade", env={"IDKARR_DATABASE__URL": "", "IDKARR_DATA_DIR": str(blocker / "data")})
    assert result.returncode == 1
    assert "data directory" in result.stderr
    assert "cannot be used" in result.stderr
    assert "Traceback" not in result.stderr


async def test_doctor_says_ok_for_every_configured_upstream(idkarr: Idkarr) -> None:
    async with serve_upstreams() as fake:
        result = await idkarr.run_async("doctor", env=fake.environment())
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    assert set(lines) == {"metadata", "database", "redis", "tmdb", "tvdb", "discord", "telegram"}
    assert lines["metadata"].startswith("ok (TMDB at")
    assert all(verdict.startswith("ok") for verdict in lines.values()), lines
    assert "idkarr-bot" in lines["discord"]
    assert "@idkarr_bot" in lines["telegram"]
    assert sorted(fake.calls) == ["discord /users/@me", "telegram getMe", "tmdb /configuration", "tvdb /login"]
    assert not any(secret in result.stdout + result.stderr for secret in SECRETS)


async def test_doctor_names_each_failure_without_secrets(idkarr: Idkarr) -> None:
    async with serve_upstreams() as fake:
        env = fake.environment()
        env["IDKARR_TMDB__API_KEY"] = "wrong-tmdb-key"
        env["IDKARR_TELEGRAM__TOKEN"] = "999:wrong-telegram-token"
        fake.fail_with["tvdb"] = 503
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            env["IDKARR_DISCORD__API_BASE_URL"] = f"http://127.0.0.1:{probe.getsockname()[1]}/api/v10"
        result = await idkarr.run_async("doctor", env=env)
    assert result.returncode == 1
    lines = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    assert lines["database"].startswith("ok")
    assert lines["redis"].startswith("ok")
    assert "rejected the credentials (HTTP 401)" in lines["tmdb"]
    assert "HTTP 503" in lines["tvdb"]
    assert "cannot connect to Discord" in lines["discord"]
    assert "rejected the credentials" in lines["telegram"]
    assert not any(secret in result.stdout for secret in (*SECRETS, "wrong-tmdb-key", "wrong-telegram-token"))


def test_doctor_with_nothing_configured_skips_the_upstreams(idkarr: Idkarr) -> None:
    result = idkarr("doctor")
    assert result.returncode == 0
    for name in ("tmdb", "tvdb", "discord", "telegram"):
        assert f"{name}: skipped (not configured)" in result.stdout
    assert "metadata: ok (offline catalog" in result.stdout


def test_doctor_reports_a_database_it_cannot_reach(idkarr: Idkarr) -> None:
    result = idkarr("doctor", env={"IDKARR_DATABASE__URL": "postgresql://x:pw@127.0.0.1:1/none"})
    assert result.returncode == 1
    assert "database: FAILED (cannot connect to the database at postgresql://x:***@127.0.0.1:1/none" in result.stdout
    assert "redis: ok" in result.stdout
