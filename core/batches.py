"""Calls gathered while one batch is out, and sent together as the next: one statement for many callers.

Under load a cache miss's table read and a new page's table write each took a connection, a round trip and
a statement for one row; gathered, the callers of one moment share all three.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["Batches"]

log = logging.getLogger(__name__)

K = TypeVar("K")
A = TypeVar("A")
R = TypeVar("R")


class Batches(Generic[K, A, R]):
    """`await batches(key, argument)` joins the batch sent next and returns its key's answer (None where the
    answer has none). A batch is sent as soon as the one before it is answered, so a call waits for at most
    one batch before its own, and its own is sent after it was made: a read sees everything committed before
    the call, a write is done when the call returns. Calls with one key in one batch share it; the later
    argument is the one sent. A failed batch raises its error in each of its calls.

    `later(key, argument)` joins the next batch without waiting for it (a write nobody needs to see done):
    its failure is logged. `settled()` waits until every call made so far has been sent and answered."""

    def __init__(self, send: Callable[[dict[K, A]], Awaitable[Mapping[K, R]]], *, size: int = 100) -> None:
        self._send = send
        self._size = size
        self._waiting: dict[K, A] = {}
        self._answers: dict[K, asyncio.Future[R | None]] = {}
        self._sender: asyncio.Task[None] | None = None

    async def __call__(self, key: K, argument: A) -> R | None:
        # Shielded: a caller giving up must not cancel the answer the others of its batch wait for.
        return await asyncio.shield(self._join(key, argument))

    def later(self, key: K, argument: A) -> None:
        self._join(key, argument).add_done_callback(_logged)

    @property
    def backlog(self) -> int:
        """Calls not yet sent."""
        return len(self._waiting)

    async def settled(self) -> None:
        while self._sender is not None:
            await asyncio.shield(self._sender)

    def _join(self, key: K, argument: A) -> asyncio.Future[R | None]:
        self._waiting[key] = argument
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = asyncio.get_running_loop().create_future()
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_all())
        return answer

    async def _send_all(self) -> None:
        try:
            while self._waiting:
                keys = list(self._waiting)[: self._size]
                batch = {key: self._waiting.pop(key) for key in keys}
                answers = {key: self._answers.pop(key) for key in keys}
                try:
                    found = await self._send(batch)
                except BaseException as error:
                    failure = error if isinstance(error, Exception) else RuntimeError("the batch was cancelled")
                    for answer in answers.values():
                        answer.set_exception(failure)
                        answer.exception()  # retrieved: a caller that gave up must not leave it unread
                    if not isinstance(error, Exception):
                        raise
                    continue
                for key, answer in answers.items():
                    answer.set_result(found.get(key))
        finally:
            self._sender = None
            for answer in self._answers.values():  # left waiting only if the loop itself stops
                if not answer.done():
                    answer.set_exception(RuntimeError("the batch was cancelled"))
                    answer.exception()
            self._waiting.clear()
            self._answers.clear()


def _logged(answer: asyncio.Future[Any]) -> None:
    error = None if answer.cancelled() else answer.exception()
    if error is not None:
        # The type only: a database's message may quote the values sent.
        log.warning("event=batch_failed error=%s", type(error).__name__)
