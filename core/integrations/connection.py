"""One server's connection: its base URL, its credentials in the header its API expects, a timeout, and
the shared rules of `core.upstream` (retries with backoff, bounded bodies, one error tree)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from core.ratelimit import RateLimiter
from core.upstream import RetryPolicy, Upstream

__all__ = ["Endpoint", "connect"]


@dataclass(frozen=True)
class Endpoint:
    """Where a server answers and how to reach it; `token` is never shown (see __repr__)."""

    url: str
    token: str
    timeout: float = 30.0

    def __repr__(self) -> str:
        return f"Endpoint(url={self.url!r}, token=***)"


@asynccontextmanager
async def connect(
    service: str,
    endpoint: Endpoint,
    headers: Mapping[str, str],
    *,
    rate: float = 50.0,
    max_body_bytes: int = 64 * 2**20,
) -> AsyncIterator[Upstream]:
    async with Upstream(
        service=service,
        base_url=endpoint.url,
        limiter=RateLimiter(rate),
        timeout=endpoint.timeout,
        connect_timeout=min(endpoint.timeout, 10.0),
        headers=headers,
        max_connections=16,
        retry=RetryPolicy(attempts=3, base_delay=0.5, max_delay=4.0),
        max_body_bytes=max_body_bytes,
    ) as upstream:
        yield upstream
