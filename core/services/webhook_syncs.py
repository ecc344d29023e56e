"""Syncs a media server's push asks for: an incremental sync of that server, soon, once however many
pushes arrive meanwhile (a season of 13 episodes is 13 pushes)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from core.config import SyncSettings
from core.db.models import MediaServer
from core.db.session import Database
from core.errors import IdkarrError
from core.secretbox import SecretBox
from core.services.library_sync import sync_server

if TYPE_CHECKING:
    from core.services.discovery import DiscoveryService

__all__ = ["SyncTrigger"]

log = logging.getLogger(__name__)


class SyncTrigger:
    def __init__(
        self,
        database: Database,
        box: SecretBox,
        settings: SyncSettings,
        discovery: DiscoveryService | None = None,
        *,
        gather_seconds: float = 0.5,
    ) -> None:
        self.database = database
        self.box = box
        self.settings = settings
        self.discovery = discovery
        self.gather_seconds = gather_seconds
        self._pending: dict[int, asyncio.Task[None]] = {}

    async def soon(self, identifier: str | None, *, kinds: Sequence[str]) -> list[str]:
        """Queue a sync of the server with this identifier (Plex's machine id, Jellyfin's server id), or of
        every enabled server of these kinds when none matches. Returns the servers' names."""
        async with self.database.session() as session:
            servers = list(
                await session.scalars(select(MediaServer).where(MediaServer.enabled, MediaServer.type.in_(list(kinds))))
            )
        matching = [server for server in servers if identifier and server.machine_identifier == identifier]
        for server in matching or servers:
            if server.id not in self._pending:
                self._pending[server.id] = asyncio.create_task(self._sync(server.id, server.name))
        return [server.name for server in matching or servers]

    async def _sync(self, server_id: int, name: str) -> None:
        try:
            await asyncio.sleep(self.gather_seconds)  # the pushes of one import arrive together
            async with self.database.session() as session:
                server = await session.get(MediaServer, server_id)  # its cursor as the last sync left it
            if server is not None:
                await sync_server(self.database, self.box, server, discovery=self.discovery, settings=self.settings)
        except (IdkarrError, OSError) as error:
            log.warning("event=pushed_sync_failed server=%s error=%r", name, str(error))
        finally:
            self._pending.pop(server_id, None)

    async def close(self) -> None:
        for task in list(self._pending.values()):
            task.cancel()
        await asyncio.gather(*self._pending.values(), return_exceptions=True)
