"""Redis pub/sub: the wake-up for the outbox dispatcher and the real-time activity feed.

Units of work leave signals (core.db.session.signal); once a transaction commits they are published here.
Pub/sub is only a nudge: a listener that was away loses the nudge, never the data, which stays in
PostgreSQL (the outbox and activity tables).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import suppress

import redis.asyncio as aioredis

from core.db.session import ACTIVITY, OUTBOX, Signal

__all__ = ["ACTIVITY", "OUTBOX", "RedisSignals", "channel_name", "subscribe"]

log = logging.getLogger(__name__)


def channel_name(prefix: str, channel: str) -> str:
    return f"{prefix}events:{channel}"


class RedisSignals:
    """Publishes a committed transaction's signals; the Database's after_commit hook."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def __call__(self, signals: list[Signal]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        woken = False
        for channel, message in signals:
            if channel == OUTBOX:
                # One wake-up per transaction is enough: the dispatcher then reads everything that is due.
                if woken:
                    continue
                woken = True
            pipe.publish(channel_name(self._prefix, channel), message)
        await pipe.execute()


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
            await pubsub.aclose()  # type: ignore[no-untyped-call]
