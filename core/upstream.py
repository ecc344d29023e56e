"""Calling an outside service: rate limit, timeout, retries with backoff that honour Retry-After, bounded
bodies, and every failure turned into the one error tree of `core.upstream_errors`.

Every client (TMDB, TheTVDB, Sonarr, Radarr, Plex, ...) holds one `Upstream` and never opens HTTP connections
for itself, so these rules are written once. Its HTTP client is aiohttp's: for a TMDB lookup it took a
fifteenth of the CPU httpx did (measured in `bench/api.py`'s request creation, where a call is one lookup).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import ssl
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import certifi
import orjson
from multidict import CIMultiDictProxy

from core.metrics import UPSTREAM_CALLS
from core.ratelimit import RateLimiter
from core.upstream_errors import (
    UpstreamAuthFailed,
    UpstreamBadResponse,
    UpstreamNotFound,
    UpstreamUnavailable,
)

__all__ = ["RetryPolicy", "Upstream", "retry_after_seconds"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A Retry-After longer than this is not waited out: the caller serves stale data instead.
    max_retry_after: float = 30.0


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _error_detail(body: bytes) -> str:
    """What a refusal says, when it is JSON in one of the usual forms (Sonarr and Radarr's validation list,
    a `message` or `error`), in one short line: a person reads it in a failed request's reason."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    if isinstance(data, list):
        parts = [
            str(entry.get("errorMessage")) for entry in data if isinstance(entry, dict) and entry.get("errorMessage")
        ]
        text = "; ".join(parts)
    elif isinstance(data, dict):
        text = str(data.get("message") or data.get("error") or data.get("title") or "")
    else:
        text = ""
    return " ".join(text.split())[:200]


class Upstream:
    """One outside service at `base_url`: paths given to its calls are appended to it (a leading slash
    included, so a service behind a reverse proxy's sub-path keeps it). Close it (`async with`, or `aclose`)."""

    def __init__(
        self,
        *,
        service: str,
        base_url: str,
        limiter: RateLimiter,
        timeout: float = 10.0,
        connect_timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 20,
        retry: RetryPolicy = RetryPolicy(),
        max_body_bytes: int = 8 * 2**20,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/") + "/"
        self.limiter = limiter
        self.retry = retry
        self.max_body_bytes = max_body_bytes
        # As httpx's timeout was: each wait (for a connection, for a read) is bounded, not the whole answer,
        # which for a large library page may rightly take longer.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_connect=connect_timeout or min(timeout, 5.0), sock_read=timeout
        )
        self._headers = {"Accept": "application/json", "User-Agent": "idkarr", **(headers or {})}
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        # Worked out once: aiohttp's own `trust_env` reads the environment on every call (0.6 ms of one).
        self._proxy = _proxy_for(self.base_url)
        self._sleep = sleep
        self.calls = 0  # requests actually sent; benchmarks and tests read it

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use: a session belongs to the running event loop, which a constructor may not have.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._max_connections, ssl=_tls()),
                cookie_jar=aiohttp.DummyCookieJar(),  # every call stands alone, as the services' APIs expect
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> Upstream:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def get_json(
        self, path: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        return await self.request_json("GET", path, params=params, headers=headers)

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        reason = "no attempt made"
        for attempt in range(1, self.retry.attempts + 1):
            self.calls += 1
            delay: float | None = None
            try:
                async with self.limiter.slot():
                    status, response_headers, body = await self._send(method, path, params, json_body, headers)
            except TimeoutError:  # aiohttp's own timeouts are TimeoutErrors too
                reason = "timed out"
                UPSTREAM_CALLS.labels(self.service, "timeout").inc()
            except aiohttp.ClientError as error:
                reason = f"connection failed ({type(error).__name__})"
                UPSTREAM_CALLS.labels(self.service, "unreachable").inc()
            else:
                UPSTREAM_CALLS.labels(self.service, _outcome(status)).inc()
                if 200 <= status < 300:
                    return self._parse(body)
                if status in (401, 403):
                    raise UpstreamAuthFailed(self.service, f"HTTP {status}")
                if status == 404:
                    raise UpstreamNotFound(self.service, "HTTP 404")
                if status != 429 and status < 500:
                    detail = _error_detail(body)
                    raise UpstreamBadResponse(self.service, f"HTTP {status}" + (f": {detail}" if detail else ""))
                reason = f"HTTP {status}"
                delay = retry_after_seconds(response_headers.get("retry-after"))
                if delay is not None and delay > self.retry.max_retry_after:
                    raise UpstreamUnavailable(self.service, f"{reason}, asked to wait {delay:.0f} s")
            if attempt == self.retry.attempts:
                break
            if delay is None:
                # Exponential backoff with full jitter, so many clients do not retry in step.
                delay = random.uniform(0, min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1)))
            log.info(
                "event=upstream_retry service=%s attempt=%d reason=%r delay=%.2f", self.service, attempt, reason, delay
            )
            await self._sleep(delay)
        raise UpstreamUnavailable(self.service, reason)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        headers: Mapping[str, str] | None,
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        extra = dict(headers or {})
        body = None
        if json_body is not None:
            body = orjson.dumps(json_body)
            extra["Content-Type"] = "application/json"
        async with self._client().request(
            method,
            self.base_url + path.lstrip("/"),
            params=_query(params),
            data=body,
            headers=extra,
            allow_redirects=False,
            proxy=self._proxy,
        ) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
                raise UpstreamBadResponse(self.service, f"answer larger than {self.max_body_bytes} bytes ({declared})")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_any():
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise UpstreamBadResponse(self.service, f"answer larger than {self.max_body_bytes} bytes")
                chunks.append(chunk)
            return response.status, response.headers, b"".join(chunks)

    def _parse(self, body: bytes) -> Any:
        try:
            return orjson.loads(body)  # a TMDB details body took json.loads half a millisecond
        except (ValueError, UnicodeDecodeError):
            raise UpstreamBadResponse(self.service, "malformed JSON") from None


def _proxy_for(url: str) -> str | None:
    """The proxy HTTP_PROXY or HTTPS_PROXY names for `url`, unless NO_PROXY exempts its host, as httpx had it."""
    target = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies().get(target.scheme)
    if proxy is None or urllib.request.proxy_bypass(target.netloc):
        return None
    return proxy


@functools.cache
def _tls() -> ssl.SSLContext:
    """Certificates are checked against certifi's authorities, as httpx did: the same servers are trusted
    on a slim image without the system's bundle."""
    return ssl.create_default_context(cafile=certifi.where())


def _query(params: Mapping[str, Any] | None) -> dict[str, str | int | float] | None:
    """Query parameters as the services read them: None left out, booleans as `true` and `false`."""
    if not params:
        return None
    return {
        key: ("true" if value else "false") if isinstance(value, bool) else value
        for key, value in params.items()
        if value is not None
    }


def _outcome(status: int) -> str:
    return f"{status // 100}xx" if status not in (401, 403, 404, 429) else str(status)
