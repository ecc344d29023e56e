"""Discovery benchmark: warm-cache latency, single flight, cache hit ratio and the upstream rate limit.

Prints one figure per line as `name: value unit`:
  warm_discover_p50 / _p99, warm_search_p50 / _p99   in-process, cache warm (target p99 <= 5 ms)
  cold_identical_searches_upstream_calls             1,000 concurrent identical cold searches (target 1)
  replay_upstream_calls, replay_hit_ratio            10,000 searches over 1,000 titles, Zipf-distributed
  replay_distinct_searches, _best_possible_hit_ratio  how many differ once case and spacing are ignored: the
                                                     ceiling any cache has on this replay
  rate_limit_max_calls_per_second                    demand at 10x the limit (target <= the limit)

Runs against a real PostgreSQL and Redis (embedded unless IDKARR_BENCH_*_URL name others) and a fake TMDB
on 127.0.0.1, through the real HTTP client and the real cache.
"""

from __future__ import annotations

import asyncio
import random
import time
from bisect import bisect_left
from itertools import accumulate

from bench.support import bench_runtime, percentile, report
from core import eventloop
from core.config import CacheSettings
from core.enums import ContentType, DiscoveryKind
from core.metadata.cache import PageCache
from core.metadata.tmdb import TmdbProvider
from core.ratelimit import RateLimiter
from core.runtime import Runtime
from core.services.discovery import DiscoveryService
from core.upstream import Upstream
from tests.fake_tmdb import API_KEY, FakeTmdb, serve_tmdb, synthetic_titles

TMDB_RATE = 40.0
# How skewed the replayed searches are. Uniform choice over 1,000 titles would cap any cache at 90 % (each
# title must be fetched once); 1.2 is a head-heavy household: a few titles asked for again and again.
ZIPF_EXPONENT = 1.2


def _tmdb(fake: FakeTmdb, rate: float, timeout: float = 10.0) -> Upstream:
    return Upstream(service="TMDB", base_url=fake.base_url, limiter=RateLimiter(rate), timeout=timeout)


def _service(runtime: Runtime, upstream: Upstream, prefix: str) -> DiscoveryService:
    # Under the run's own Redis prefix: a warm cache left by an earlier run would fake the cold figures.
    cache = PageCache(redis=runtime.redis, database=runtime.database, prefix=runtime.settings.redis.key_prefix + prefix)
    return DiscoveryService(
        providers=[TmdbProvider(upstream, api_key=API_KEY)], cache=cache, database=runtime.database, ttl=CacheSettings()
    )


async def warm_latency(runtime: Runtime, fake: FakeTmdb) -> None:
    async with _tmdb(fake, 1000) as upstream:
        service = _service(runtime, upstream, "warm:")
        await service.discover(DiscoveryKind.POPULAR, ContentType.MOVIE)
        await service.search("synthetic film 0001")
        for name in ("warm_discover", "warm_search"):
            timings = []
            for _ in range(2000):
                started = time.perf_counter()
                if name == "warm_discover":
                    await service.discover(DiscoveryKind.POPULAR, ContentType.MOVIE)
                else:
                    await service.search("synthetic film 0001")
                timings.append((time.perf_counter() - started) * 1000)
            report(f"{name}_p50", percentile(timings, 0.50), "ms")
            report(f"{name}_p99", percentile(timings, 0.99), "ms")


async def cold_identical(runtime: Runtime, fake: FakeTmdb) -> None:
    async with _tmdb(fake, 1000) as upstream:
        service = _service(runtime, upstream, "cold:")
        before = fake.calls["search/multi"]
        fake.hold = asyncio.Event()
        searches = [asyncio.ensure_future(service.search("synthetic film 0500")) for _ in range(1000)]
        await asyncio.sleep(0.5)
        fake.hold.set()
        await asyncio.gather(*searches)
        fake.hold = None
        report("cold_identical_searches_upstream_calls", fake.calls["search/multi"] - before, "calls")


async def replay(runtime: Runtime, fake: FakeTmdb) -> None:
    # Search popularity follows a Zipf law: a few titles are asked for constantly, most rarely.
    rng = random.Random(7)
    weights = list(accumulate(1 / (rank**ZIPF_EXPONENT) for rank in range(1, 1001)))
    spellings = (str.lower, str.upper, str.title, lambda s: f"  {s}  ")
    async with _tmdb(fake, 1000) as upstream:
        service = _service(runtime, upstream, "replay:")
        before = fake.calls["search/multi"]
        asked: set[str] = set()
        for _ in range(10_000):
            rank = bisect_left(weights, rng.random() * weights[-1])
            term = rng.choice(spellings)(f"Synthetic Film {rank:04d}")
            asked.add(" ".join(term.casefold().split()))
            await service.search(term)
        calls = fake.calls["search/multi"] - before
        report("replay_zipf_exponent", ZIPF_EXPONENT, "")
        report("replay_upstream_calls", calls, "calls")
        report("replay_hit_ratio", 100 * (1 - calls / 10_000), "%")
        # Each different search must reach the upstream once, whatever the cache: the ceiling for this replay.
        report("replay_distinct_searches", len(asked), "searches")
        report("replay_best_possible_hit_ratio", 100 * (1 - len(asked) / 10_000), "%")


async def rate_limit(runtime: Runtime, fake: FakeTmdb) -> None:
    async with _tmdb(fake, TMDB_RATE, timeout=60) as upstream:
        service = _service(runtime, upstream, "rate:")
        fake.arrivals.clear()
        demand = int(TMDB_RATE * 10)
        tasks = []
        for n in range(demand):  # one second of demand at ten times the rate, every query different
            tasks.append(asyncio.ensure_future(service.search(f"rate probe {n}")))
            await asyncio.sleep(1 / demand)
        await asyncio.gather(*tasks)
        arrivals = sorted(fake.arrivals)
        worst = max(bisect_left(arrivals, start + 1.0) - index for index, start in enumerate(arrivals))
        report("rate_limit_configured", TMDB_RATE, "calls/s")
        report("rate_limit_max_calls_per_second", worst, "calls")
        report("rate_limit_drain_time", arrivals[-1] - arrivals[0], "s")


async def main() -> None:
    async with bench_runtime() as runtime, serve_tmdb(FakeTmdb(synthetic_titles(1000))) as fake:
        await warm_latency(runtime, fake)
        await cold_identical(runtime, fake)
        await replay(runtime, fake)
        await rate_limit(runtime, fake)


if __name__ == "__main__":
    eventloop.run(main())
