"""Typed settings: `config.toml` first, then `IDKARR_<SECTION>__<KEY>` environment variables over it.

Every key has a default, so a missing file is a valid configuration. Secrets are `SecretStr`, which keeps them
out of reprs, logs and error messages.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from core.dburl import DatabaseUrl, InvalidDatabaseUrl
from core.enums import ContentType, UserRole

__all__ = [
    "CONFIG_ENV",
    "ApiSettings",
    "CacheSettings",
    "ConfigError",
    "DatabaseSettings",
    "DiscordSettings",
    "LogSettings",
    "RedisSettings",
    "RequestSettings",
    "SecuritySettings",
    "Settings",
    "SyncSettings",
    "TelegramSettings",
    "TmdbSettings",
    "TvdbSettings",
    "UsersSettings",
    "default_data_dir",
    "load_settings",
]

CONFIG_ENV = "IDKARR_CONFIG"
DEFAULT_CONFIG_FILE = Path("config.toml")


class ConfigError(Exception):
    """The configuration cannot be used; `problems` names every bad key and why."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"invalid configuration ({self.source}):"]
        lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "idkarr"


def _check_http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


HttpUrlText = Annotated[str, AfterValidator(_check_http_url)]


class _Section(BaseModel):
    # A typo in a key must be reported, not silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: SecretStr | None = None
    pool_size: int = Field(default=10, ge=1, le=200)
    connect_timeout: float = Field(default=5.0, gt=0, le=120)
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _libpq_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            DatabaseUrl.parse(value.get_secret_value())
        except InvalidDatabaseUrl as error:
            raise ValueError(str(error)) from None
        return value

    def parsed_url(self) -> DatabaseUrl | None:
        return None if self.url is None else DatabaseUrl.parse(self.url.get_secret_value())


class RedisSettings(_Section):
    url: SecretStr | None = None
    key_prefix: str = Field(default="idkarr:", min_length=1, max_length=64)

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        scheme = value.get_secret_value().split("://", 1)[0].lower()
        if scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value


class _Upstream(_Section):
    timeout: float = Field(default=10.0, gt=0, le=120)


class TmdbSettings(_Upstream):
    api_key: SecretStr | None = None
    read_access_token: SecretStr | None = None
    base_url: HttpUrlText = "https://api.themoviedb.org/3"
    rate_limit: float = Field(default=40.0, gt=0, le=1000, description="requests per second")

    @property
    def configured(self) -> bool:
        return self.api_key is not None or self.read_access_token is not None


class TvdbSettings(_Upstream):
    api_key: SecretStr | None = None
    pin: SecretStr | None = None
    base_url: HttpUrlText = "https://api4.thetvdb.com/v4"
    rate_limit: float = Field(default=20.0, gt=0, le=1000)

    @property
    def configured(self) -> bool:
        return self.api_key is not None


class DiscordSettings(_Upstream):
    token: SecretStr | None = None
    api_base_url: HttpUrlText = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg"
    # Servers to register the slash commands in at once; empty: globally (Discord may take an hour to show them).
    guild_ids: list[int] = Field(default_factory=list)
    # Where new requests are posted with Approve and Deny.
    moderators_channel_id: int | None = None
    # Where the activity is announced; per content type ("movie", "tv", "anime") when given there.
    announce_channel_id: int | None = None
    announce_channel_ids: dict[str, int] = Field(default_factory=dict)
    # Where a person whose DMs are closed is mentioned instead.
    fallback_channel_id: int | None = None
    # Discord role id -> idkarr role, applied when a member acts: their idkarr role becomes the highest mapped
    # role they hold, or "user" when they hold none. Admins are never changed by it.
    role_map: dict[int, UserRole] = Field(default_factory=dict)

    @field_validator("announce_channel_ids")
    @classmethod
    def _content_types(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - {kind.value for kind in ContentType})
        if unknown:
            raise ValueError(f"keys must be content types (movie, tv, anime), not {', '.join(unknown)}")
        return value

    @field_validator("role_map")
    @classmethod
    def _not_admin(cls, value: dict[int, UserRole]) -> dict[int, UserRole]:
        # Admin stays a deliberate act (idkarr user set-role): a Discord role handed out casually must not grant it.
        if UserRole.ADMIN in value.values():
            raise ValueError("a Discord role cannot map to admin; make admins with `idkarr user set-role`")
        return value

    @field_validator("gateway_url")
    @classmethod
    def _websocket_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value

    @property
    def configured(self) -> bool:
        return self.token is not None


class TelegramSettings(_Upstream):
    token: SecretStr | None = None
    base_url: HttpUrlText = "https://api.telegram.org/bot"
    # Where new requests are posted with Approve and Deny (a group or channel id, and a forum topic in it).
    moderators_chat_id: int | None = None
    moderators_topic_id: int | None = None
    # Where the activity is announced to everyone.
    announce_chat_id: int | None = None
    announce_topic_id: int | None = None
    # Seconds a long poll waits for updates.
    poll_timeout: int = Field(default=30, ge=0, le=50)
    # Webhook mode, instead of long polling: Telegram posts updates to webhook_url, which must reach
    # webhook_listen:webhook_port here (through a TLS proxy); every idkarr process behind it receives.
    webhook_url: HttpUrlText | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)

    @field_validator("webhook_secret")
    @classmethod
    def _secret_token_form(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's secret_token: 1 to 256 characters of A-Z a-z 0-9 _ - (the value itself is never shown).
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1 to 256 characters of A-Z a-z 0-9 _ -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramSettings:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError("webhook_url needs webhook_secret, so only Telegram can post updates")
        return self

    @field_validator("base_url")
    @classmethod
    def _token_goes_after_bot(cls, value: str) -> str:
        # python-telegram-bot's form: the token is appended, so anything else builds a URL with the token
        # in the host or port, which then turns up in error messages.
        if not value.rstrip("/").endswith("/bot"):
            raise ValueError("must end with /bot (the token is appended to it), e.g. https://api.telegram.org/bot")
        return value.rstrip("/")

    @property
    def configured(self) -> bool:
        return self.token is not None


_DAY = 86400


class CacheSettings(_Section):
    """How long each kind of page stays fresh, in seconds; past that it is refetched, or served stale."""

    trending: int = Field(default=3600, ge=1, le=30 * _DAY)
    popular: int = Field(default=6 * 3600, ge=1, le=30 * _DAY)
    top_rated: int = Field(default=_DAY, ge=1, le=30 * _DAY)
    upcoming: int = Field(default=6 * 3600, ge=1, le=30 * _DAY)
    airing_today: int = Field(default=3600, ge=1, le=30 * _DAY)
    on_the_air: int = Field(default=6 * 3600, ge=1, le=30 * _DAY)
    similar: int = Field(default=_DAY, ge=1, le=30 * _DAY)
    recommended: int = Field(default=_DAY, ge=1, le=30 * _DAY)
    search: int = Field(default=6 * 3600, ge=1, le=30 * _DAY)
    details: int = Field(default=_DAY, ge=1, le=30 * _DAY)
    # Expired pages are kept this long to be served when an upstream is down.
    keep_stale_days: int = Field(default=7, ge=0, le=365)

    def ttl(self, kind: str) -> int:
        value = getattr(self, kind.replace("-", "_"))
        assert isinstance(value, int)
        return value


class RequestSettings(_Section):
    """Defaults for every user; a user's own limit or quota, where set, wins. Admins and moderators are exempt."""

    expiry_days: int = Field(default=7, ge=1, le=365, description="pending requests expire after this")
    request_limit: int | None = Field(default=None, ge=0, le=10_000, description="open requests at once")
    movie_quota_limit: int | None = Field(default=None, ge=0, le=10_000)
    movie_quota_days: int = Field(default=7, ge=1, le=365)
    series_quota_limit: int | None = Field(default=None, ge=0, le=10_000)
    series_quota_days: int = Field(default=7, ge=1, le=365)
    anime_quota_limit: int | None = Field(default=None, ge=0, le=10_000)
    anime_quota_days: int = Field(default=7, ge=1, le=365)
    # Whether a series quota counts seasons (Overseerr's way) or whole titles.
    series_quota_counts: Literal["seasons", "titles"] = "seasons"
    # Auto-approve a pending request once this many people (requester and watchers) want it; 0 = never.
    auto_approve_watchers: int = Field(default=0, ge=0, le=10_000)


class UsersSettings(_Section):
    bootstrap_admin: str = Field(default="admin", min_length=1, max_length=64, pattern=r"^[^\s/@:]+$")
    # What an unknown chat account may do: sign up at once, sign up and wait for an admin, or only link.
    registration: Literal["open", "approval", "closed"] = "approval"
    link_code_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60, description="how long a link code works")


class SchedulerSettings(_Section):
    # How often pending requests past their expiry date are expired (and their followers told).
    expiry_check_seconds: float = Field(default=300.0, ge=0.05, le=86_400)


class ApiSettings(_Section):
    """idkarr's HTTP server: webhooks from Sonarr, Radarr, Jellyfin, Emby and Plex (and the HTTP API)."""

    enabled: bool = True
    host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    port: int = Field(default=8484, ge=0, le=65535, description="0 picks a free port (tests)")
    # Webhook senders prove themselves with this, in the X-Idkarr-Secret header or the `secret` query
    # parameter (Plex's webhooks cannot set headers); no secret configured means webhooks are refused.
    webhook_secret: SecretStr | None = None
    # HTTP API calls a minute per API key, across every idkarr process; 0 means no limit.
    rate_per_minute: int = Field(default=600, ge=0, le=1_000_000)

    @field_validator("webhook_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters, so it cannot be guessed")
        return value


class SecuritySettings(_Section):
    # Encrypts media-server and Sonarr/Radarr tokens at rest. Unset: a key is made once in the data
    # directory (secret.key). Either way, losing it means adding the servers again.
    secret_key: SecretStr | None = None


class SyncSettings(_Section):
    """Media-server library sync."""

    page_size: int = Field(default=2000, ge=50, le=10_000, description="items asked for per page")
    concurrency: int = Field(default=4, ge=1, le=32, description="pages fetched at once from one server")
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # The hand-off to Sonarr and Radarr: how often approved requests not yet sent are looked for (an
    # approval also wakes it at once), and how many failed attempts fail the request.
    handoff_seconds: float = Field(default=30.0, ge=0.05, le=3600)
    handoff_attempts: int = Field(default=5, ge=1, le=100)


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


_toml_data: ContextVar[Mapping[str, Any] | None] = ContextVar("idkarr_toml_data", default=None)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IDKARR_",
        env_nested_delimiter="__",
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
        case_sensitive=False,
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    tmdb: TmdbSettings = TmdbSettings()
    tvdb: TvdbSettings = TvdbSettings()
    discord: DiscordSettings = DiscordSettings()
    telegram: TelegramSettings = TelegramSettings()
    cache: CacheSettings = CacheSettings()
    requests: RequestSettings = RequestSettings()
    users: UsersSettings = UsersSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    log: LogSettings = LogSettings()
    api: ApiSettings = ApiSettings()
    security: SecuritySettings = SecuritySettings()
    sync: SyncSettings = SyncSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: explicit arguments, then the environment, then config.toml.
        toml = InitSettingsSource(settings_cls, init_kwargs=dict(_toml_data.get() or {}))
        return (init_settings, env_settings, toml)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), [f"not valid TOML: {error}"]) from None
    except OSError as error:
        raise ConfigError(str(path), [f"cannot be read: {error.strerror}"]) from None


def _describe(error: Mapping[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    env_name = "IDKARR_" + "__".join(str(part).upper() for part in error["loc"])
    return f"{key}: {message} (or environment variable {env_name})"


def resolve_config_path(explicit: Path | None) -> tuple[Path | None, bool]:
    """The file to read and whether the operator named it (a named file must exist)."""
    if explicit is not None:
        return explicit, True
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env), True
    return (DEFAULT_CONFIG_FILE, False) if DEFAULT_CONFIG_FILE.is_file() else (None, False)


def load_settings(config_path: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the config file (if any) and the environment; raises ConfigError naming every bad key."""
    path, named = resolve_config_path(config_path)
    data: dict[str, Any] = {}
    source = "defaults and environment"
    if path is not None:
        if named and not path.is_file():
            raise ConfigError(str(path), ["the configuration file does not exist"])
        data = _read_toml(path)
        source = str(path)
    token = _toml_data.set(data)
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = [_describe(detail) for detail in error.errors(include_url=False, include_input=False)]
        raise ConfigError(source, problems) from None
    finally:
        _toml_data.reset(token)
