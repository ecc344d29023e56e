"""What idkarr counts for Prometheus (GET /metrics). Counters and histograms are this process's, as
Prometheus expects of each process it scrapes; figures every process shares (requests by status, the
outbox's lag) are read from the database when scraped (`database_figures`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import text

if TYPE_CHECKING:  # the counters are imported by low layers (core.upstream) that need no database
    from core.db.session import Database

__all__ = [
    "CACHE_LOOKUPS",
    "INTERACTIONS",
    "REGISTRY",
    "SYNC_SECONDS",
    "UPSTREAM_CALLS",
    "database_figures",
]

REGISTRY = CollectorRegistry(auto_describe=True)

INTERACTIONS = Counter(
    "idkarr_interactions",
    "Commands, button presses and answers handled, by front end and kind",
    ["front_end", "kind"],
    registry=REGISTRY,
)
UPSTREAM_CALLS = Counter(
    "idkarr_upstream_calls",
    "HTTP calls to outside services (TMDB, TheTVDB, media servers, Sonarr, Radarr), by service and outcome",
    ["service", "outcome"],
    registry=REGISTRY,
)
CACHE_LOOKUPS = Counter(
    "idkarr_cache_lookups",
    "Discovery cache lookups, by result (hit, stale, miss)",
    ["result"],
    registry=REGISTRY,
)
SYNC_SECONDS = Histogram(
    "idkarr_sync_duration_seconds",
    "Media-server syncs run by this process, by server and kind (full or incremental)",
    ["server", "kind"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
    registry=REGISTRY,
)
_REQUESTS = Gauge("idkarr_requests", "Requests by status (all processes)", ["status"], registry=REGISTRY)
_OUTBOX = Gauge("idkarr_outbox_messages", "Notifications in the outbox by status", ["status"], registry=REGISTRY)
_OUTBOX_LAG = Gauge(
    "idkarr_outbox_lag_seconds", "Age of the oldest notification due and not yet delivered", registry=REGISTRY
)
_HANDOFF = Gauge("idkarr_handoff_waiting", "Approved requests not yet sent to Sonarr or Radarr", registry=REGISTRY)

_FIGURES = text("""
    SELECT 'request' AS kind, status::text AS label, count(*)::float AS value FROM request GROUP BY status
    UNION ALL
    SELECT 'outbox', status::text, count(*)::float FROM outbox GROUP BY status
    UNION ALL
    SELECT 'lag', '', coalesce(extract(epoch FROM now() - min(next_attempt_at)), 0)::float
        FROM outbox WHERE status = 'pending' AND next_attempt_at <= now()
    UNION ALL
    SELECT 'handoff', '', count(*)::float FROM handoff WHERE sent_at IS NULL
""")


async def database_figures(database: Database) -> None:
    """Set the gauges every process shares from the database, just before a scrape."""
    async with database.session() as session:
        rows: list[Any] = list(await session.execute(_FIGURES))
    _REQUESTS.clear()
    _OUTBOX.clear()
    for row in rows:
        if row.kind == "request":
            _REQUESTS.labels(row.label).set(row.value)
        elif row.kind == "outbox":
            _OUTBOX.labels(row.label).set(row.value)
        elif row.kind == "lag":
            _OUTBOX_LAG.set(max(0.0, row.value))
        else:
            _HANDOFF.set(row.value)
