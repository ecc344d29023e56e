"""A per-upstream rate limiter that never lets more than `rate` calls start in any window of one second."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Sliding-log limiter: remembers when each of the last `capacity` calls started.

    A token bucket allows a burst of `capacity` at the edge of a window followed by another at the start of
    the next, which an upstream counting per second sees as twice the rate; a sliding log cannot do that.
    Waiters are served in arrival order (the lock is FIFO), so heavy demand only queues, never starves.
    `slack` widens the window slightly so requests that leave on time but arrive a few milliseconds late
    still fall inside the upstream's count correctly.
    """

    def __init__(
        self,
        rate: float,
        *,
        slack: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if rate >= 1:
            self.capacity, self.window = math.floor(rate), 1.0
        else:
            self.capacity, self.window = 1, 1.0 / rate
        self.window += slack
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self.window:
                    self._starts.popleft()
                if len(self._starts) < self.capacity:
                    self._starts.append(now)
                    return
                await self._sleep(self._starts[0] + self.window - now)
