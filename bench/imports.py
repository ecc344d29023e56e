"""Import benchmark: `idkarr import overseerr` of 10,000 requests (500 users, 10,000 films) from a fake
Overseerr on 127.0.0.1, the films named through idkarr's discovery stack from a fake TMDB (none cached), both
fakes served by this process (their work counts here too).

Prints, in seconds: `import_dry_run_titles_uncached` (`--dry-run` first, as a person would: every title is
looked up in TMDB), then `import_10000_requests` (the import itself; target <= 30 s), and
`import_tmdb_lookups`, `import_peak_rss` (MB). `python -m bench.imports`; bench.api runs it too.
"""

from __future__ import annotations

import secrets
import time

import psutil

from bench.support import bench_runtime, interpreter_speed, report
from core import eventloop
from core.config import CacheSettings
from core.metadata.cache import PageCache
from core.runtime import Runtime
from core.services.discovery import DiscoveryService
from core.services.overseerr_import import import_overseerr
from tests.fake_overseerr import OVERSEERR_KEY, FakeOverseerr, media, request, user
from tests.fake_tmdb import FakeTmdb, synthetic_titles
from tests.fakes import serving
from tests.metadata_helpers import tmdb_provider

REQUESTS = 10_000
USERS = 500


def overseerr(films: list[int]) -> FakeOverseerr:
    fake = FakeOverseerr()
    fake.users = [user(number, f"user{number:04d}", permissions=32) for number in range(1, USERS + 1)]
    fake.notifications = {number: {"discordId": str(10**17 + number)} for number in range(1, USERS + 1)}
    titles = [media(number, tmdb=tmdb, status=5 if number % 3 == 0 else 2) for number, tmdb in enumerate(films, 1)]
    fake.media = titles
    fake.requests = [
        request(number, titles[number - 1], fake.users[number % USERS], status=2 if number % 3 == 0 else 1)
        for number in range(1, REQUESTS + 1)
    ]
    return fake


async def import_figures(runtime: Runtime) -> None:
    catalog = synthetic_titles(REQUESTS)
    process = psutil.Process()
    prefix = f"idkarr-bench-import-{secrets.token_hex(4)}:"  # no title is cached before the run
    cache = PageCache(redis=runtime.redis, database=runtime.database, prefix=prefix)
    async with serving(FakeTmdb(catalog)) as tmdb, tmdb_provider(tmdb, client_timeout=10.0) as provider:
        discovery = DiscoveryService(providers=[provider], cache=cache, database=runtime.database, ttl=CacheSettings())
        async with serving(overseerr([title.id for title in catalog])) as fake:
            started = time.perf_counter()
            # A dry run first, as a person would: every title is looked up, nothing is written.
            await import_overseerr(
                runtime.database, discovery.details, url=fake.base, api_key=OVERSEERR_KEY, dry_run=True
            )
            rehearsal = time.perf_counter() - started
            tmdb_calls = tmdb.total_calls
            started = time.perf_counter()
            summary = await import_overseerr(runtime.database, discovery.details, url=fake.base, api_key=OVERSEERR_KEY)
            elapsed = time.perf_counter() - started
    async for key in runtime.redis.scan_iter(match=f"{prefix}*", count=1000):
        await runtime.redis.delete(key)
    assert summary.requests.imported == REQUESTS, summary.to_json()
    assert summary.unnamed == 0, summary.unnamed
    report("import_dry_run_titles_uncached", rehearsal, "s")
    report("import_tmdb_lookups", tmdb_calls, "")
    report("import_10000_requests", elapsed, "s")
    report("import_peak_rss", process.memory_info().rss / 2**20, "MB")


async def main() -> None:
    report("interpreter_speed", interpreter_speed(), "ms")
    async with bench_runtime() as runtime:
        await import_figures(runtime)


if __name__ == "__main__":
    eventloop.run(main())
