"""Discovery pages kept across restarts; Redis holds the hot copy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, created_at_column

__all__ = ["DiscoveryCacheEntry"]


class DiscoveryCacheEntry(Base):
    __tablename__ = "discovery_cache"
    # UNLOGGED (migration 0006): a cache need not wait for the disk at each commit; emptied after a crash.
    __table_args__ = (Index("ix_discovery_cache_expires_at", "expires_at"), {"prefixes": ["UNLOGGED"]})

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "tmdb:trending:movie:en:1": one row per whole page, never one per item.
    cache_key: Mapped[str] = mapped_column(String(512), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    # The cached page (or title) as idkarr's own JSON, whole.
    items: Mapped[Any] = mapped_column(JSONB)
    fetched_at: Mapped[datetime] = created_at_column()
    # Past this the page is stale: still served, marked so, when the upstream is down.
    expires_at: Mapped[datetime]
