"""Single flight: concurrent identical calls share one execution and its result."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[T]] = {}

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def run(self, key: str, call: Callable[[], Awaitable[T]]) -> T:
        task = self._running.get(key)
        if task is None:
            # A task of its own, so a caller that gives up (cancelled) does not cancel the others' answer.
            task = asyncio.ensure_future(call())
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def _finished(self, key: str, task: asyncio.Task[T]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # marks it retrieved: every waiter already got it, nothing to warn about
