"""One server's connection: its base URL, its credentials in the header its API expects, a timeout, and
the shared rules of `core.upstream` (retries with backoff, bounded bodies, one error tree)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

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
    async with httpx.AsyncClient(
        base_url=endpoint.url,
        headers={"Accept": "application/json", **headers},
        timeout=httpx.Timeout(endpoint.timeout, connect=min(endpoint.timeout, 10.0)),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
    ) as client:
        yield Upstream(
            service=service,
            client=client,
            limiter=RateLimiter(rate),
            retry=RetryPolicy(attempts=3, base_delay=0.5, max_delay=4.0),
            max_body_bytes=max_body_bytes,
        )
