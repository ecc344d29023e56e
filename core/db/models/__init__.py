"""Every table, imported in one place so the metadata Alembic compares against is complete."""

from core.db.models.activity import Activity
from core.db.models.delivery import ActionToken, OutboxMessage
from core.db.models.discovery_cache import DiscoveryCacheEntry
from core.db.models.imports import ImportedRow
from core.db.models.library import Instance, Media, MediaSeason, QualityProfile, RootFolder
from core.db.models.media_servers import Handoff, LibraryItem, MediaServer, WatchedItem
from core.db.models.requests import Request, RequestWatcher
from core.db.models.scheduling import ScheduledRun
from core.db.models.users import ChatIdentity, User
from core.db.models.watchlists import WatchlistEntry

__all__ = [
    "ActionToken",
    "Activity",
    "ChatIdentity",
    "DiscoveryCacheEntry",
    "Handoff",
    "ImportedRow",
    "Instance",
    "LibraryItem",
    "Media",
    "MediaSeason",
    "MediaServer",
    "OutboxMessage",
    "QualityProfile",
    "Request",
    "RequestWatcher",
    "RootFolder",
    "ScheduledRun",
    "User",
    "WatchedItem",
    "WatchlistEntry",
]
