"""A per-upstream rate limiter that the upstream itself never sees exceeded.

What an upstream counts is requests *arriving* per second, and a request arrives some time after it was
allowed to start (connection pool queues, a busy event loop, the network). Counting starts alone therefore
lets bunched arrivals exceed the rate; this happened under ten times the demand (49 arrivals in one second
against a limit of 40). So each request occupies its slot from start until one window after it finished:
at any moment, requests in flight plus requests finished within the last window stay under the capacity.
Then every request arriving inside any window was either in flight or finished within a window of the last
one allowed to start, so no window can hold more than `capacity` arrivals, whatever the delays.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if rate >= 1:
            self.capacity, self.window = math.floor(rate), 1.0
        else:
            self.capacity, self.window = 1, 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._finished: deque[float] = deque()
        self._in_flight = 0
        self._freed = asyncio.Event()
        # Waiters queue on this lock in arrival order: heavy demand only waits, nobody starves.
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for one request: enter just before sending, leave when the answer is in."""
        await self._acquire()
        try:
            yield
        finally:
            self._in_flight -= 1
            self._finished.append(self._clock())
            self._freed.set()

    async def _acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                while self._finished and self._finished[0] <= now - self.window:
                    self._finished.popleft()
                if self._in_flight + len(self._finished) < self.capacity:
                    self._in_flight += 1
                    return
                if self._finished:
                    await self._sleep(self._finished[0] + self.window - now)
                else:
                    self._freed.clear()
                    await self._freed.wait()
