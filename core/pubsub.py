"""Redis pub/sub: the wake-up for the outbox dispatcher and the real-time activity feed.

Units of work leave signals (core.db.session.signal); once a transaction commits they are published here.
Pub/sub is only a nudge: a listener that was away loses the nudge, never the data, which stays in
PostgreSQL (the outbox and activity tables).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress

import redis.asyncio as aioredis

from core.db.session import ACTIVITY, OUTBOX, Signal

__all__ = ["ACTIVITY", "OUTBOX", "RedisSignals", "channel_name", "first_of", "subscribe", "woken_by"]

log = logging.getLogger(__name__)


def channel_name(prefix: str, channel: str) -> str:
    return f"{prefix}events:{channel}"


# Publishes each (channel, message) pair of ARGV, in order: a batch is one command to send and one reply to
# read, where a pipeline of PUBLISH commands cost redis-py a command and a reply each.
_PUBLISH_ALL = "for i = 1, #ARGV, 2 do redis.call('publish', ARGV[i], ARGV[i + 1]) end"
# How long the first signal of a batch waits for others: under 20 clients creating requests, commits came
# 2.5 ms apart and each batch held one, at a tenth of a millisecond of idkarr's CPU a command. Nobody
# notices 10 ms more before a notification or a feed's next entry.
_LINGER = 0.01


class RedisSignals:
    """Publishes committed transactions' signals; the Database's after_commit hook.

    A commit does not wait for Redis: its signals join a batch that one task publishes with a single
    command, `linger` seconds after the batch's first signal, so under load many commits cost one round trip
    and the outbox wake-up is sent once per batch. Listeners still receive each message on its own, in the
    order the commits made them.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str, *, linger: float = _LINGER) -> None:
        self._redis = redis
        self._prefix = prefix
        self._linger = linger
        self._batch: list[Signal] = []
        self._publishing: asyncio.Task[None] | None = None
        self._publish_all = redis.register_script(_PUBLISH_ALL)

    async def __call__(self, signals: list[Signal]) -> None:
        self._batch.extend(signals)
        if self._publishing is None or self._publishing.done():
            self._publishing = asyncio.create_task(self._publish())

    async def _publish(self) -> None:
        await asyncio.sleep(self._linger)
        while self._batch:
            batch, self._batch = self._batch, []
            pairs: list[str] = []
            woken = False
            for channel, message in batch:
                if channel == OUTBOX:
                    # One wake-up is enough: the dispatcher then reads everything that is due.
                    if woken:
                        continue
                    woken = True
                pairs += (channel_name(self._prefix, channel), message)
            try:
                await self._publish_all(args=pairs)
            except (aioredis.RedisError, OSError):
                # The changes are committed; a lost wake-up only delays delivery until the next poll.
                log.warning("event=signal_failed count=%d", len(batch), exc_info=True)

    async def flush(self) -> None:
        """Wait until what was committed so far has been published (at shutdown, before Redis closes)."""
        if self._publishing is not None:
            await self._publishing


async def subscribe(
    redis: aioredis.Redis, prefix: str, channels: Iterable[str], ready: asyncio.Event | None = None
) -> AsyncIterator[tuple[str, str]]:
    """(channel, message) pairs as they are published, until the caller stops iterating."""
    names = {channel_name(prefix, channel): channel for channel in channels}
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(*names)
        if ready is not None:
            ready.set()
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None:
                continue
            data = message["data"]
            text = data.decode() if isinstance(data, bytes) else str(data)
            yield names[message["channel"].decode()], text
    finally:
        with suppress(Exception):
            await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed in newer redis-py


@asynccontextmanager
async def woken_by(redis: aioredis.Redis | None, prefix: str, channels: Iterable[str]) -> AsyncIterator[asyncio.Event]:
    """An event set each time one of `channels` is signalled, while the block runs: what wakes a worker that
    otherwise polls (never set without Redis). A lost subscription is taken again after a second."""
    wake = asyncio.Event()
    names = list(channels)

    async def listen(client: aioredis.Redis) -> None:
        while True:
            try:
                async for _ in subscribe(client, prefix, names):
                    wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("event=signal_listen_failed channels=%s error=%s", ",".join(names), type(error).__name__)
                await asyncio.sleep(1.0)

    listener = asyncio.create_task(listen(redis)) if redis is not None else None
    try:
        yield wake
    finally:
        if listener is not None:
            # A subscription cancelled while it is still being set up can wait on its connection as it closes;
            # each further cancel interrupts that wait, so stopping never hangs on it.
            while not listener.done():
                listener.cancel()
                await asyncio.wait([listener], timeout=0.5)


async def first_of(*events: asyncio.Event, seconds: float) -> None:
    """Wait until any of `events` is set, or `seconds` pass."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
