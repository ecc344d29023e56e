import asyncio, time, cProfile, pstats
import httpx, psutil, orjson
from bench.api import _fake_tmdb
from bench.support import bench_runtime
from core import eventloop
from core.config import CacheSettings
from core.enums import ContentType, DiscoveryKind
from core.metadata.cache import PageCache
from core.metadata.tmdb import TmdbProvider
from core.ratelimit import RateLimiter
from core.services.discovery import DiscoveryService
from core.upstream import RetryPolicy, Upstream
from tests.fake_tmdb import API_KEY

def cpu(): return sum(psutil.Process().cpu_times()[:2])

async def main():
    async with bench_runtime() as runtime, _fake_tmdb() as url, httpx.AsyncClient(base_url=url + "/", timeout=10.0) as client:
        upstream = Upstream(service="TMDB", client=client, limiter=RateLimiter(10_000), retry=RetryPolicy(attempts=1))
        cache = PageCache(redis=runtime.redis, database=runtime.database, prefix=runtime.settings.redis.key_prefix)
        d = DiscoveryService(providers=[TmdbProvider(upstream, api_key=API_KEY)], cache=cache, database=runtime.database, ttl=CacheSettings())
        await d.discover(DiscoveryKind.POPULAR, ContentType.MOVIE, page=1, page_size=20)
        N = 2000
        c0 = cpu()
        for _ in range(N):
            page = await d.discover(DiscoveryKind.POPULAR, ContentType.MOVIE, page=1, page_size=20)
        c1 = cpu(); print("discover warm", (c1 - c0) / N * 1000)
        c0 = cpu()
        for _ in range(N):
            orjson.dumps({"data": page.to_json()})
        c1 = cpu(); print("to_json+dumps", (c1 - c0) / N * 1000)
        c0 = cpu()
        for _ in range(N):
            await d._marks(list(page.items[i].title for i in range(len(page.items))))
        c1 = cpu(); print("marks", (c1 - c0) / N * 1000)
        pr = cProfile.Profile(); pr.enable()
        for _ in range(500):
            page = await d.discover(DiscoveryKind.POPULAR, ContentType.MOVIE, page=1, page_size=20)
        pr.disable(); pstats.Stats(pr).sort_stats("tottime").print_stats(15)
eventloop.run(main())
