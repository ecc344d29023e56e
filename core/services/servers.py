"""The servers idkarr works with: media servers (Plex, Jellyfin, Emby) rows of `media_server`, and the
download side (Sonarr, Radarr) as the backend of an `instance`. Added only after they answer with the
token given; tokens are stored sealed (core.secretbox) and never shown.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import SyncSettings
from core.db.models import Instance, LibraryItem, MediaServer, QualityProfile, RootFolder
from core.db.session import Database
from core.enums import ContentType, InstanceBackend, MediaServerType
from core.errors import AlreadyExists, IdkarrError, InvalidInput, NotFound
from core.integrations.arr import Folder, Profile, open_arr
from core.integrations.connection import Endpoint
from core.integrations.jellyfin import open_jellyfin
from core.integrations.plex import open_plex
from core.integrations.types import LibraryItem as ServerItem
from core.integrations.types import Played, ServerInfo, ServerUser
from core.secretbox import SecretBox
from core.text import clean_text
from core.upstream_errors import UpstreamAuthFailed

__all__ = [
    "KINDS",
    "MediaClient",
    "ServerView",
    "add_server",
    "arr_endpoint",
    "checked_token",
    "list_servers",
    "media_endpoint",
    "open_media_client",
    "parse_url",
    "refresh_backend",
    "refresh_backends",
    "refused_token",
    "remove_server",
    "server_status",
]

log = logging.getLogger(__name__)

KINDS = ("plex", "jellyfin", "emby", "sonarr", "radarr")
_NAME = re.compile(r"^[\w][\w .\-]{0,99}$")


class MediaClient(Protocol):
    """What library sync needs of a media server's client (Plex, Jellyfin and Emby each have one)."""

    @property
    def service(self) -> str: ...

    async def info(self) -> ServerInfo: ...

    def items(self, since: datetime | None = None) -> AsyncIterator[list[ServerItem]]: ...

    async def users(self) -> list[ServerUser]: ...

    def played(self, user: str) -> AsyncIterator[list[Played]]: ...


@dataclass(frozen=True)
class ServerView:
    kind: str
    name: str
    url: str
    enabled: bool
    content_type: str | None = None  # Sonarr and Radarr: what their instance holds
    version: str | None = None
    items: int | None = None  # media servers: titles in the library
    last_sync: datetime | None = None
    last_sync_success: bool | None = None
    last_sync_error: str | None = None
    sync_interval: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "url": self.url,
            "enabled": self.enabled,
            "content_type": self.content_type,
            "version": self.version,
            "items": self.items,
            "last_sync": self.last_sync.isoformat() if self.last_sync else None,
            "last_sync_success": self.last_sync_success,
            "last_sync_error": self.last_sync_error,
            "sync_interval": self.sync_interval,
        }


@dataclass(frozen=True)
class _Url:
    https: bool
    host: str
    port: int
    path: str

    @property
    def text(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}{self.path}"


def parse_url(value: str, *, option: str = "--url") -> _Url:
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            "{option} must be an http:// or https:// address, such as http://192.168.1.10:8096",
            code="server.url",
            option=option,
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidInput(
            "{option} takes only scheme, host, port and path; give the key or token on its own",
            code="server.url",
            option=option,
        )
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput(
            "{option} has a port that is not a number from 1 to 65535", code="server.url", option=option
        ) from None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return _Url(parts.scheme == "https", parts.hostname, port, parts.path.rstrip("/"))


def _checked_name(name: str) -> str:
    cleaned = clean_text(name)
    if not _NAME.fullmatch(cleaned):
        raise InvalidInput(
            "a server's name is 1 to 100 letters, digits, spaces, dots or dashes, starting with a letter or digit",
            code="server.name",
        )
    return cleaned


def checked_token(token: str, *, option: str = "--token") -> str:
    cleaned = token.strip()
    if not 1 <= len(cleaned) <= 500 or any(ch.isspace() or ord(ch) < 32 for ch in cleaned):
        raise InvalidInput(
            "{option} must be the server's API key or token: one word, at most 500 characters",
            code="server.token",
            option=option,
        )
    return cleaned


def media_endpoint(server: MediaServer, box: SecretBox, timeout: float = 30.0) -> Endpoint:
    return Endpoint(server.url, box.open(server.api_key_encrypted), timeout)


def arr_endpoint(instance: Instance, box: SecretBox, timeout: float = 30.0) -> Endpoint:
    if instance.base_url is None or instance.api_key_encrypted is None:
        raise InvalidInput(
            "instance {name} has no Sonarr or Radarr behind it", code="instance.no_backend", name=instance.name
        )
    return Endpoint(instance.base_url, box.open(instance.api_key_encrypted), timeout)


@asynccontextmanager
async def open_media_client(
    kind: MediaServerType, endpoint: Endpoint, sync: SyncSettings = SyncSettings()
) -> AsyncIterator[MediaClient]:
    if kind == MediaServerType.PLEX:
        async with open_plex(endpoint, page_size=sync.page_size, concurrency=sync.concurrency) as plex:
            yield plex
    else:
        async with open_jellyfin(kind, endpoint, page_size=sync.page_size, concurrency=sync.concurrency) as jellyfin:
            yield jellyfin


@asynccontextmanager
async def refused_token(option: str = "--token", what: str = "token") -> AsyncIterator[None]:
    """A server that refuses the token it was given: the person typed it, so say which option to fix."""
    try:
        yield
    except UpstreamAuthFailed as error:
        raise InvalidInput(
            "{service} refused that {what} ({reason}): check {option}",
            code="server.token_refused",
            option=option,
            what=what,
            service=error.service,
            reason=error.reason,
        ) from None


async def add_server(
    database: Database,
    box: SecretBox,
    kind: str,
    name: str,
    *,
    url: str,
    token: str,
    content_type: ContentType | None = None,
    sync: SyncSettings = SyncSettings(),
) -> ServerView:
    """Add a server after checking it answers with this token (a typo in either is caught here)."""
    if kind.strip().lower() not in KINDS:
        raise InvalidInput(
            "{kind!r} is not a server kind; choose one of {kinds}",
            code="server.kind",
            kind=kind[:40],
            kinds=", ".join(KINDS),
        )
    kind = kind.strip().lower()
    name, token, where = _checked_name(name), checked_token(token), parse_url(url)
    endpoint = Endpoint(where.text, token, sync.timeout_seconds)
    if kind in ("sonarr", "radarr"):
        return await _add_backend(database, box, InstanceBackend(kind), name, endpoint, content_type)
    if content_type is not None:
        raise InvalidInput("--type is for Sonarr and Radarr; a media server holds every kind", code="server.type")
    server_kind = MediaServerType(kind)
    async with database.session() as session:
        if await session.scalar(select(MediaServer.id).where(func.lower(MediaServer.name) == name.lower())):
            raise AlreadyExists("there is already a server named {name}", code="server.exists", name=name)
    async with refused_token(), open_media_client(server_kind, endpoint, sync) as client:
        info = await client.info()
    async with database.transaction() as session:
        row = MediaServer(
            type=server_kind,
            name=name,
            host=where.host,
            port=where.port,
            use_https=where.https,
            base_path=where.path,
            api_key_encrypted=box.seal(token),
            version=info.version,
            machine_identifier=info.identifier,
        )
        session.add(row)
    return ServerView(kind, name, where.text, True, version=info.version, items=0, sync_interval=3600)


async def _add_backend(
    database: Database,
    box: SecretBox,
    backend: InstanceBackend,
    name: str,
    endpoint: Endpoint,
    content_type: ContentType | None,
) -> ServerView:
    if backend == InstanceBackend.RADARR:
        if content_type not in (None, ContentType.MOVIE):
            raise InvalidInput("Radarr holds films: leave out --type, or give --type movie", code="server.type")
        content_type = ContentType.MOVIE
    elif content_type is None:
        content_type = ContentType.SERIES
    elif content_type == ContentType.MOVIE:
        raise InvalidInput("Sonarr holds series and anime: give --type series or --type anime", code="server.type")
    async with refused_token(), open_arr(backend, endpoint) as client:
        info = await client.info()
        profiles, folders = await client.profiles(), await client.folders()
    if not profiles or not folders:
        raise InvalidInput(
            "{service} has no {missing} yet; add one in {service} first, then add it here",
            code="server.unprepared",
            service=client.service,
            missing="quality profile" if not profiles else "root folder",
        )
    async with database.transaction() as session:
        instance = await session.scalar(select(Instance).where(func.lower(Instance.name) == name.lower()))
        if instance is not None and instance.backend != InstanceBackend.NONE:
            raise AlreadyExists("there is already a server named {name}", code="server.exists", name=name)
        if instance is not None and instance.content_type != content_type:
            raise InvalidInput(
                "instance {name} holds {holds}; give --type {holds}",
                code="instance.content",
                name=name,
                holds=instance.content_type.value,
            )
        if instance is None:
            has_default = await session.scalar(
                select(Instance.id).where(Instance.content_type == content_type, Instance.is_default)
            )
            instance = Instance(name=name, content_type=content_type, is_default=has_default is None)
            session.add(instance)
        instance.backend = backend
        instance.base_url = endpoint.url
        instance.api_key_encrypted = box.seal(endpoint.token)
        await session.flush()
        await _store_settings(session, instance.id, profiles, folders)
    return ServerView(backend.value, name, endpoint.url, True, content_type=content_type.value, version=info.version)


async def _store_settings(
    session: AsyncSession, instance_id: int, profiles: Sequence[Profile], folders: Sequence[Folder]
) -> None:
    """The backend's quality profiles and root folders as the instance's, matched by their ids there; the
    first of each is the default until someone chooses another."""
    await _mirror(session, QualityProfile, instance_id, {p.id: {"name": p.name} for p in profiles})
    await _mirror(
        session, RootFolder, instance_id, {f.id: {"path": f.path, "free_space": f.free_space} for f in folders}
    )


async def _mirror(
    session: AsyncSession,
    model: type[QualityProfile] | type[RootFolder],
    instance_id: int,
    wanted: dict[int, dict[str, object]],
) -> None:
    """The instance's rows of `model` made what the backend has (by its ids): added, changed, removed."""
    rows: list[QualityProfile | RootFolder] = list(
        await session.scalars(select(model).where(model.instance_id == instance_id))
    )
    existing = {row.external_id: row for row in rows}
    for external_id, fields in wanted.items():
        row = existing.pop(external_id, None)
        if row is None:
            session.add(model(instance_id=instance_id, external_id=external_id, **fields))
        else:
            for name, value in fields.items():
                setattr(row, name, value)
    for gone in existing.values():
        await session.delete(gone)
    await session.flush()
    if await session.scalar(select(model.id).where(model.instance_id == instance_id, model.is_default)) is None:
        first = await session.scalar(select(func.min(model.id)).where(model.instance_id == instance_id))
        await session.execute(update(model).where(model.id == first).values(is_default=True))


async def refresh_backend(database: Database, box: SecretBox, instance_id: int) -> None:
    """Read an instance's profiles and folders again from its Sonarr or Radarr."""
    async with database.session() as session:
        instance = await session.get(Instance, instance_id)
        if instance is None or instance.backend == InstanceBackend.NONE:
            raise NotFound("there is no Sonarr or Radarr instance #{id}", code="instance.unknown", id=instance_id)
        backend, endpoint = instance.backend, arr_endpoint(instance, box)
    async with open_arr(backend, endpoint) as client:
        profiles, folders = await client.profiles(), await client.folders()
    async with database.transaction() as session:
        await _store_settings(session, instance_id, profiles, folders)


async def refresh_backends(database: Database, box: SecretBox, name: str | None = None) -> int:
    """Read every Sonarr and Radarr's (or the named one's) profiles and folders again; returns how many were
    read. One that cannot be reached keeps what it had and is logged, the others go on."""
    async with database.session() as session:
        query = select(Instance.id, Instance.name).where(Instance.backend != InstanceBackend.NONE, Instance.enabled)
        if name is not None:
            query = query.where(func.lower(Instance.name) == name.strip().lower())
        found = list((await session.execute(query)).all())
    if name is not None and not found:
        raise NotFound("there is no Sonarr or Radarr named {name}", code="server.unknown", name=name.strip()[:100])
    read = 0
    for instance_id, instance_name in found:
        try:
            await refresh_backend(database, box, instance_id)
        except IdkarrError as error:
            if name is not None:
                raise
            log.warning("event=backend_refresh_failed instance=%s error=%r", instance_name, str(error))
            continue
        read += 1
    return read


async def list_servers(database: Database) -> list[ServerView]:
    async with database.session() as session:
        counts = dict(
            (
                await session.execute(
                    select(LibraryItem.media_server_id, func.count()).group_by(LibraryItem.media_server_id)
                )
            ).all()
        )
        servers = list(await session.scalars(select(MediaServer).order_by(MediaServer.name)))
        instances = list(
            await session.scalars(
                select(Instance).where(Instance.backend != InstanceBackend.NONE).order_by(Instance.name)
            )
        )
    views = [
        ServerView(
            server.type.value,
            server.name,
            server.url,
            server.enabled,
            version=server.version,
            items=counts.get(server.id, 0),
            last_sync=server.last_sync,
            last_sync_success=server.last_sync_success if server.last_sync else None,
            last_sync_error=server.last_sync_error,
            sync_interval=server.sync_interval,
        )
        for server in servers
    ]
    views += [
        ServerView(
            instance.backend.value,
            instance.name,
            instance.base_url or "",
            instance.enabled,
            content_type=instance.content_type.value,
        )
        for instance in instances
    ]
    return views


async def remove_server(database: Database, name: str) -> str:
    """Remove a server by name: a media server with what it held (titles stay in the library, their
    availability from other servers); a Sonarr or Radarr instance goes back to holding no backend."""
    async with database.transaction() as session:
        removed = await session.scalar(
            delete(MediaServer).where(func.lower(MediaServer.name) == name.strip().lower()).returning(MediaServer.type)
        )
        if removed is not None:
            return str(removed)
        instance = await session.scalar(
            select(Instance).where(
                func.lower(Instance.name) == name.strip().lower(), Instance.backend != InstanceBackend.NONE
            )
        )
        if instance is None:
            raise NotFound("there is no server named {name}", code="server.unknown", name=name.strip()[:100])
        kind = instance.backend.value
        instance.backend, instance.base_url, instance.api_key_encrypted = InstanceBackend.NONE, None, None
        return kind


async def server_status(
    database: Database, box: SecretBox, name: str | None, sync: SyncSettings = SyncSettings()
) -> list[tuple[ServerView, bool, str]]:
    """Each server (or the one named) with whether it answers now and what it said."""
    views = await list_servers(database)
    if name is not None:
        views = [view for view in views if view.name.lower() == name.strip().lower()]
        if not views:
            raise NotFound("there is no server named {name}", code="server.unknown", name=name.strip()[:100])
    checks = await asyncio.gather(*(_check(database, box, view, sync) for view in views))
    return [(view, ok, answer) for view, (ok, answer) in zip(views, checks, strict=True)]


async def _check(database: Database, box: SecretBox, view: ServerView, sync: SyncSettings) -> tuple[bool, str]:
    timeout = min(sync.timeout_seconds, 10.0)
    try:
        async with database.session() as session:
            if view.kind in ("sonarr", "radarr"):
                instance = await session.scalar(select(Instance).where(Instance.name == view.name))
                assert instance is not None
                endpoint = arr_endpoint(instance, box, timeout)
            else:
                server = await session.scalar(select(MediaServer).where(MediaServer.name == view.name))
                assert server is not None
                endpoint = media_endpoint(server, box, timeout)
        if view.kind in ("sonarr", "radarr"):
            async with open_arr(InstanceBackend(view.kind), endpoint) as arr:
                info = await arr.info()
        else:
            async with open_media_client(MediaServerType(view.kind), endpoint, sync) as client:
                info = await client.info()
    except IdkarrError as error:
        return False, str(error)
    return True, f"{info.name} {info.version}"
