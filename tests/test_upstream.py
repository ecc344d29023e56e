"""Timeouts, retries, Retry-After, bounded bodies, rate limit and single flight, against a real HTTP server."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.ratelimit import RateLimiter
from core.singleflight import SingleFlight
from core.upstream import RetryPolicy, Upstream, retry_after_seconds
from core.upstream_errors import UpstreamAuthFailed, UpstreamBadResponse, UpstreamNotFound, UpstreamUnavailable

from .fake_tmdb import API_KEY, FakeTmdb, serve_tmdb


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def _upstream(
    fake: FakeTmdb, sleep: RecordingSleep, *, client_timeout: float = 1.0, max_body: int = 8 * 2**20
) -> Upstream:
    policy = RetryPolicy(attempts=3, base_delay=0.2, max_delay=1.0, max_retry_after=5)
    return Upstream(
        service="TMDB",
        base_url=fake.base_url,
        limiter=RateLimiter(1000),
        timeout=client_timeout,
        retry=policy,
        max_body_bytes=max_body,
        sleep=sleep,
    )


async def test_retry_after_on_429_is_honoured_then_the_answer_returned() -> None:
    sleep = RecordingSleep()
    async with serve_tmdb() as fake:
        upstream = _upstream(fake, sleep)
        fake.faults = [429]
        async with upstream:
            body = await upstream.get_json("configuration", params={"api_key": API_KEY})
    assert body["images"]["secure_base_url"].startswith("https://")
    assert sleep.delays == [1.0]  # exactly what Retry-After said
    assert fake.calls["configuration"] == 2


async def test_server_errors_are_retried_with_growing_backoff_then_reported() -> None:
    sleep = RecordingSleep()
    async with serve_tmdb() as fake:
        upstream = _upstream(fake, sleep)
        fake.faults = [500, 502, 503]
        async with upstream:
            with pytest.raises(UpstreamUnavailable, match="can't be reached right now, try again in a minute"):
                await upstream.get_json("configuration", params={"api_key": API_KEY})
    assert fake.calls["configuration"] == 3
    assert len(sleep.delays) == 2
    assert 0 <= sleep.delays[0] <= 0.2
    assert 0 <= sleep.delays[1] <= 0.4  # full jitter under a doubling cap


async def test_a_timeout_is_retried_and_then_reported_as_unavailable() -> None:
    sleep = RecordingSleep()
    async with serve_tmdb(FakeTmdb(slow_seconds=1.0)) as fake:
        upstream = _upstream(fake, sleep, client_timeout=0.2)
        fake.faults = ["slow", "slow", "slow"]
        async with upstream:
            with pytest.raises(UpstreamUnavailable, match="timed out"):
                await upstream.get_json("configuration", params={"api_key": API_KEY})
    assert fake.calls["configuration"] == 3


async def test_one_slow_answer_is_survived() -> None:
    async with serve_tmdb(FakeTmdb(slow_seconds=1.0)) as fake:
        upstream = _upstream(fake, RecordingSleep(), client_timeout=0.2)
        fake.faults = ["slow"]
        async with upstream:
            body = await upstream.get_json("configuration", params={"api_key": API_KEY})
    assert "images" in body


async def test_malformed_json_and_oversized_bodies_are_refused_cleanly() -> None:
    async with serve_tmdb() as fake:
        upstream = _upstream(fake, RecordingSleep(), max_body=64 * 1024)
        async with upstream:
            fake.faults = ["malformed"]
            with pytest.raises(UpstreamBadResponse, match="malformed JSON"):
                await upstream.get_json("movie/popular", params={"api_key": API_KEY})
            for fault in ("huge", "huge-stream"):
                fake.faults = [fault]
                with pytest.raises(UpstreamBadResponse, match="larger than"):
                    await upstream.get_json("movie/popular", params={"api_key": API_KEY})


async def test_refused_credentials_and_unknown_ids_are_not_retried() -> None:
    sleep = RecordingSleep()
    async with serve_tmdb() as fake:
        upstream = _upstream(fake, sleep)
        async with upstream:
            with pytest.raises(UpstreamAuthFailed) as refused:
                await upstream.get_json("configuration", params={"api_key": "wrong"})
            with pytest.raises(UpstreamNotFound):
                await upstream.get_json("movie/999999", params={"api_key": API_KEY})
    assert "wrong" not in str(refused.value)
    assert sleep.delays == []
    assert fake.total_calls == 2


async def test_unreachable_upstream_is_unavailable() -> None:
    sleep = RecordingSleep()
    upstream = Upstream(
        service="TMDB", base_url="http://127.0.0.1:9/", limiter=RateLimiter(100), timeout=0.5, sleep=sleep
    )
    async with upstream:
        with pytest.raises(UpstreamUnavailable, match="connection failed"):
            await upstream.get_json("configuration")


def _self_signed(folder: Path) -> ssl.SSLContext:
    """A server context for 127.0.0.1 with a certificate no authority signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


async def test_a_certificate_no_authority_signed_is_refused(tmp_path: Path) -> None:
    async def configuration(request: web.Request) -> web.Response:
        return web.json_response({"images": {}})

    app = web.Application()
    app.router.add_get("/3/configuration", configuration)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=_self_signed(tmp_path))
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sleep = RecordingSleep()
    try:
        async with Upstream(
            service="TMDB", base_url=f"https://127.0.0.1:{port}/3", limiter=RateLimiter(100), sleep=sleep
        ) as upstream:
            with pytest.raises(UpstreamUnavailable, match="connection failed") as refused:
                await upstream.get_json("configuration")
    finally:
        await runner.cleanup()
    assert "Certificate" in str(refused.value)


async def test_the_proxy_the_environment_names_is_used_unless_no_proxy_exempts_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        asked.append((await reader.readline()).decode().strip())
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        body = b'{"via": "proxy"}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        writer.write(body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    try:
        # A name only the proxy can resolve: reached through it.
        async with Upstream(service="TMDB", base_url="http://tmdb.example.invalid/3", limiter=RateLimiter(100)) as up:
            assert await up.get_json("configuration") == {"via": "proxy"}
        assert asked == ["GET http://tmdb.example.invalid/3/configuration HTTP/1.1"]
        async with serve_tmdb() as fake, _upstream(fake, RecordingSleep()) as direct:
            body = await direct.get_json("configuration", params={"api_key": API_KEY})
        assert "images" in body
        assert len(asked) == 1  # 127.0.0.1 is exempt: straight to it, not through the proxy
    finally:
        server.close()
        await server.wait_closed()


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Tue, 24 Nov 2026 12:00:10 GMT", now=now) == 10.0
    assert retry_after_seconds("Tue, 24 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


async def _run_with_fake_clock(rate: float, calls: int, durations: list[float]) -> list[tuple[float, float]]:
    """Start `calls` requests at once; each takes its duration (cycled). Returns (start, end) per request."""
    now = [0.0]

    async def advance(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    limiter = RateLimiter(rate, clock=lambda: now[0], sleep=advance)
    spans: list[tuple[float, float]] = []

    async def call(n: int) -> None:
        async with limiter.slot():
            start = now[0]
            await advance(durations[n % len(durations)])
            spans.append((start, now[0]))

    await asyncio.gather(*(call(n) for n in range(calls)))
    return spans


@pytest.mark.parametrize("durations", [[0.0], [0.3, 0.05, 0.9], [1.5, 0.0]])
async def test_no_window_of_one_second_sees_more_than_the_rate_arrive(durations: list[float]) -> None:
    spans = await _run_with_fake_clock(5, 50, durations)  # ten times the rate, all at once
    assert len(spans) == 50
    # A request may arrive at the upstream any time between its start and its end.
    for window_start in sorted({t for span in spans for t in span}):
        could_arrive = [s for s in spans if s[0] < window_start + 1.0 and s[1] >= window_start]
        assert len(could_arrive) <= 5, (window_start, could_arrive)


def test_fractional_rates_space_calls_out() -> None:
    limiter = RateLimiter(0.5)
    assert (limiter.capacity, limiter.window) == (1, 2.0)
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


async def test_single_flight_runs_identical_concurrent_calls_once() -> None:
    flight: SingleFlight[int] = SingleFlight()
    calls = 0
    release = asyncio.Event()

    async def slow_answer() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    waiters = [asyncio.ensure_future(flight.run("same", slow_answer)) for _ in range(1000)]
    await asyncio.sleep(0)
    release.set()
    assert set(await asyncio.gather(*waiters)) == {42}
    assert calls == 1
    assert flight.in_flight == 0


async def test_single_flight_shares_failures_and_survives_a_cancelled_caller() -> None:
    flight: SingleFlight[int] = SingleFlight()
    release = asyncio.Event()

    async def failing() -> int:
        await release.wait()
        raise UpstreamUnavailable("TMDB", "HTTP 503")

    first = asyncio.ensure_future(flight.run("k", failing))
    second = asyncio.ensure_future(flight.run("k", failing))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    with pytest.raises(UpstreamUnavailable):
        await second
    assert first.cancelled()
