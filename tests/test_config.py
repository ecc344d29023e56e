from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.config import ConfigError, Settings, load_settings
from core.dburl import DatabaseUrl, InvalidDatabaseUrl
from core.enums import UserRole

from .conftest import Idkarr


@pytest.fixture(autouse=True)
def _no_idkarr_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("IDKARR_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # so no stray ./config.toml is picked up


def write(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def test_no_configuration_at_all_gives_working_defaults() -> None:
    settings = load_settings()
    assert settings.database.url is None  # embedded PostgreSQL
    assert settings.redis.url is None  # embedded Redis
    assert settings.tmdb.base_url == "https://api.themoviedb.org/3"
    assert settings.tmdb.rate_limit == 40
    assert settings.users.bootstrap_admin == "admin"
    assert not settings.tmdb.configured
    assert not settings.discord.configured


def test_file_values_are_read_and_environment_overrides_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(
        tmp_path / "idkarr.toml",
        'data_dir = "/srv/idkarr"\n[tmdb]\nrate_limit = 10\nbase_url = "http://file.example/3"\n'
        '[users]\nbootstrap_admin = "root"\n',
    )
    monkeypatch.setenv("IDKARR_TMDB__BASE_URL", "http://127.0.0.1:9/3")
    settings = load_settings(config)
    assert settings.tmdb.rate_limit == 10  # from the file
    assert settings.tmdb.base_url == "http://127.0.0.1:9/3"  # the environment wins
    assert settings.data_dir == Path("/srv/idkarr")
    assert settings.users.bootstrap_admin == "root"


def test_every_documented_environment_name_reaches_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "IDKARR_DATABASE__URL": "postgresql://u:p@db.local:5433/idk",
        "IDKARR_REDIS__URL": "redis://cache.local:6380/2",
        "IDKARR_DATA_DIR": "/var/lib/idkarr",
        "IDKARR_TMDB__API_KEY": "tk",
        "IDKARR_TMDB__BASE_URL": "http://127.0.0.1:1/3",
        "IDKARR_TVDB__API_KEY": "vk",
        "IDKARR_TVDB__BASE_URL": "http://127.0.0.1:2/v4",
        "IDKARR_DISCORD__TOKEN": "dt",
        "IDKARR_DISCORD__API_BASE_URL": "http://127.0.0.1:3/api/v10",
        "IDKARR_DISCORD__GATEWAY_URL": "ws://127.0.0.1:3/gateway",
        "IDKARR_TELEGRAM__TOKEN": "tt",
        "IDKARR_TELEGRAM__BASE_URL": "http://127.0.0.1:4/bot",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    s = load_settings()
    assert s.database.url is not None
    assert s.database.url.get_secret_value() == values["IDKARR_DATABASE__URL"]
    assert s.redis.url is not None
    assert s.redis.url.get_secret_value() == values["IDKARR_REDIS__URL"]
    assert s.data_dir == Path("/var/lib/idkarr")
    assert s.tmdb.api_key is not None
    assert s.tmdb.api_key.get_secret_value() == "tk"
    assert s.tmdb.base_url == "http://127.0.0.1:1/3"
    assert s.tvdb.api_key is not None
    assert s.tvdb.api_key.get_secret_value() == "vk"
    assert s.tvdb.base_url == "http://127.0.0.1:2/v4"
    assert s.discord.token is not None
    assert s.discord.token.get_secret_value() == "dt"
    assert s.discord.api_base_url == "http://127.0.0.1:3/api/v10"
    assert s.discord.gateway_url == "ws://127.0.0.1:3/gateway"
    assert s.telegram.token is not None
    assert s.telegram.token.get_secret_value() == "tt"
    assert s.telegram.base_url == "http://127.0.0.1:4/bot"


def test_config_path_comes_from_idkarr_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "elsewhere.toml", "[log]\nlevel = 'debug'\n")
    monkeypatch.setenv("IDKARR_CONFIG", str(config))
    assert load_settings().log.level == "debug"


def test_every_bad_key_is_named_in_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(
        tmp_path / "bad.toml",
        '[tmdb]\nrate_limit = -3\nbase_url = "ftp://nope"\n[database]\nurl = "mysql://x@y/z"\n'
        '[discord]\ntokne = "typo"\n',
    )
    monkeypatch.setenv("IDKARR_REDIS__URL", "http://not-redis")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    message = caught.value.render()
    for key in ("tmdb.rate_limit", "tmdb.base_url", "database.url", "discord.tokne", "redis.url"):
        assert key in message, key
    assert "unknown key" in message
    assert "IDKARR_TMDB__RATE_LIMIT" in message  # says how to fix it from the environment too
    assert len(caught.value.problems) == 5


def test_secrets_never_appear_in_errors_or_reprs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDKARR_TMDB__API_KEY", "super-secret-key")
    monkeypatch.setenv("IDKARR_DATABASE__URL", "mysql://user:hunter2@host/db")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "hunter2" not in caught.value.render()
    settings = load_settings(database={"url": None})
    assert "super-secret-key" not in repr(settings)


def test_missing_named_file_and_broken_toml_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path / "broken.toml", "[tmdb\napi_key = "))


def test_empty_environment_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDKARR_TMDB__API_KEY", "")
    assert load_settings().tmdb.api_key is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("postgresql://idk:pw@db.example:5433/idkarr", "postgresql://idk:***@db.example:5433/idkarr"),
        ("postgres://idk@db/idkarr", "postgresql://idk@db/idkarr"),
        ("postgresql:///idkarr?host=/run/postgresql", "postgresql:///idkarr?host=/run/postgresql"),
        ("postgresql+psycopg://a:b@h/d", "postgresql://a:***@h/d"),
    ],
)
def test_libpq_url_forms_are_accepted(written: str, expected: str) -> None:
    url = DatabaseUrl.parse(written)
    assert url.redacted == expected
    assert url.sqlalchemy.startswith("postgresql+psycopg://")


@pytest.mark.parametrize("bad", ["", "mysql://x/y", "postgresql://host", "not a url", "postgresql://h:port/db"])
def test_bad_database_urls_are_refused(bad: str) -> None:
    with pytest.raises(InvalidDatabaseUrl):
        DatabaseUrl.parse(bad)


@given(
    password=st.text(alphabet=st.characters(categories=["L", "N"]), min_size=3, max_size=30),
    form=st.sampled_from(
        [
            "postgresql://user:{secret}@host:5432/db",
            "postgresql://user@host:5432/db?password={secret}",
            "postgres://user@host/db?sslmode=require&password={secret}",
            "postgresql:///db?host=/run/postgresql&PASSWORD={secret}",
            "postgresql://user@host/db?sslpassword={secret}&password={secret}",
        ]
    ),
)
def test_redacted_url_never_contains_the_password_in_any_form(password: str, form: str) -> None:
    secret = f"Zq{password}"
    url = DatabaseUrl.parse(form.format(secret=secret))
    assert secret in url.secrets
    assert secret not in url.redacted


def test_a_password_in_the_query_is_kept_from_doctor_and_the_connection_error(idkarr: Idkarr) -> None:
    secret = "hunter2secret"
    unreachable = f"postgresql://postgres@127.0.0.1:1/idkarr?password={secret}"
    failed = idkarr("doctor", env={"IDKARR_DATABASE__URL": unreachable})
    assert failed.returncode == 1
    assert "password=***" in failed.stdout + failed.stderr
    assert secret not in failed.stdout + failed.stderr


def test_a_telegram_base_url_without_bot_is_refused_without_printing_the_token(idkarr: Idkarr) -> None:
    env = {"IDKARR_TELEGRAM__TOKEN": "123456:SECRETHALF", "IDKARR_TELEGRAM__BASE_URL": "http://127.0.0.1:9"}
    result = idkarr("doctor", env=env)
    assert result.returncode == 2
    assert "telegram.base_url" in result.stderr
    assert "must end with /bot" in result.stderr
    assert "SECRETHALF" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@given(st.text(max_size=300))
def test_any_database_url_text_parses_or_is_refused_cleanly(text: str) -> None:
    try:
        DatabaseUrl.parse(text)
    except InvalidDatabaseUrl as error:
        message = str(error)
        assert message, "a refusal must say why"


def test_settings_are_immutable() -> None:
    settings = Settings()
    with pytest.raises(Exception, match="frozen"):
        settings.tmdb.rate_limit = 1  # type: ignore[misc]


def test_invalid_configuration_exits_2_naming_every_key_without_traceback(idkarr: Idkarr) -> None:
    (idkarr.workdir / "config.toml").write_text('[tmdb]\nrate_limit = "fast"\n[users]\nbootstrap_admin = "a b"\n')
    result = idkarr("user", "list", env={"IDKARR_DATABASE__URL": "postgresql://u:pw@127.0.0.1:1"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for key in ("tmdb.rate_limit", "users.bootstrap_admin", "database.url"):
        assert key in result.stderr
    assert ":pw@" not in result.stderr


def test_an_empty_password_is_no_password() -> None:
    url = DatabaseUrl.parse("postgresql://postgres:@/idkarr?host=/tmp/socket-dir")
    assert url.url.password is None
    assert url.redacted == "postgresql://postgres@/idkarr?host=/tmp/socket-dir"


def test_webhook_settings_need_a_well_formed_secret_that_is_never_shown(idkarr: Idkarr) -> None:
    env = {"IDKARR_TELEGRAM__TOKEN": "1:x", "IDKARR_TELEGRAM__WEBHOOK_URL": "https://example.org/telegram"}
    missing = idkarr("doctor", env=env)
    assert missing.returncode == 2
    assert "webhook_url needs webhook_secret" in missing.stderr
    bad = idkarr("doctor", env={**env, "IDKARR_TELEGRAM__WEBHOOK_SECRET": "has spaces and $ecrets"})
    assert bad.returncode == 2
    assert "1 to 256 characters" in bad.stderr
    assert "$ecrets" not in bad.stderr


def test_discord_channels_and_roles_are_checked_as_they_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDKARR_DISCORD__ROLE_MAP", '{"111": "moderator", "222": "viewer"}')
    monkeypatch.setenv("IDKARR_DISCORD__ANNOUNCE_CHANNEL_IDS", '{"movie": 5, "anime": 6}')
    monkeypatch.setenv("IDKARR_DISCORD__GUILD_IDS", "[1, 2]")
    discord = load_settings().discord
    assert discord.role_map == {111: UserRole.MODERATOR, 222: UserRole.VIEWER}
    assert discord.announce_channel_ids == {"movie": 5, "anime": 6}
    assert discord.guild_ids == [1, 2]
    monkeypatch.setenv("IDKARR_DISCORD__ROLE_MAP", '{"111": "admin"}')
    monkeypatch.setenv("IDKARR_DISCORD__ANNOUNCE_CHANNEL_IDS", '{"films": 5}')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = caught.value.render()
    assert "a Discord role cannot map to admin" in message
    assert "keys must be content types (movie, tv, anime), not films" in message
