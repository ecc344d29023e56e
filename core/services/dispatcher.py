"""Delivering the outbox through whatever front ends are running.

Delivery is at least once. A message is claimed by leasing it (committed before any delivery), so
concurrent dispatchers never take the same row, and a dispatcher that dies holding a row gives it back when
the lease runs out: a change committed but never delivered is delivered after a restart. Each delivery is
recorded as soon as it is made, so a dispatcher killed between sending and recording repeats only the
messages that were in flight (front ends get the dedup key to drop such a repeat where the platform allows).
Each front end that delivered is remembered on the row, so a retry after a partial failure only goes to
the front ends that failed. Failures are retried with exponential backoff and jitter, and recorded; after
the last attempt the row is marked failed and kept with its error.

Redis pub/sub wakes the dispatcher the moment a transaction queues something; polling covers a lost
wake-up and the retries that fall due.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import redis.asyncio as aioredis
from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    Interval,
    String,
    bindparam,
    case,
    cast,
    column,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from core.db.models import ChatIdentity, OutboxMessage, User
from core.db.pgtypes import OUTBOX_STATUS
from core.db.prepared import Prepared, together
from core.db.session import OUTBOX, Database
from core.enums import OutboxStatus, UserStatus
from core.pubsub import first_of, woken_by

__all__ = ["Delivery", "DispatchPolicy", "Dispatcher", "FrontEnd", "backoff"]

log = logging.getLogger(__name__)

_MAX_ERROR = 1000


@dataclass(frozen=True)
class Delivery:
    """One outbox message as a front end receives it."""

    id: int
    dedup_key: str
    event: str
    payload: Mapping[str, Any]
    attempt: int
    # None for announcements to a platform's channel rather than to a person.
    recipient_id: int | None = None
    recipient: str | None = None
    language: str = "en"
    identities: Mapping[str, str] = field(default_factory=dict)  # platform -> platform user id


class FrontEnd(Protocol):
    """A place messages can be delivered to: the console, Discord, Telegram."""

    name: str

    async def deliver(self, delivery: Delivery) -> bool:
        """True once delivered; False when this front end cannot reach the recipient. Raising means try again."""
        ...


@dataclass(frozen=True)
class DispatchPolicy:
    batch: int = 100
    concurrency: int = 16
    lease_seconds: float = 60.0  # a claimed row comes back after this if its dispatcher died
    delivery_timeout: float = 20.0  # must stay below the lease
    max_attempts: int = 8
    backoff_base: float = 5.0
    backoff_cap: float = 3600.0
    poll_seconds: float = 10.0
    # After a wake-up, wait this long for the changes committing alongside it: in a burst, a claim per
    # commit would be a transaction per change.
    gather_seconds: float = 0.02


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds before attempt `attempt + 1`: doubling from `base`, capped, with half of it jittered."""
    delay = min(cap, base * 2.0 ** max(0, attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


@dataclass(frozen=True)
class _Result:
    row: Any
    status: OutboxStatus
    delivered_via: tuple[str, ...]
    error: str | None
    retry_in: float | None = None


@dataclass
class _Outcome:
    delivered: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


_UNLEASED = or_(OutboxMessage.leased_until.is_(None), OutboxMessage.leased_until <= func.now())
_DUE = (
    select(OutboxMessage.id)
    .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= func.now(), _UNLEASED)
    .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    .limit(bindparam("batch", type_=Integer))
    .with_for_update(skip_locked=True)
)
_CLAIMED = (
    update(OutboxMessage)
    .where(OutboxMessage.id.in_(_DUE.scalar_subquery()))
    .values(attempts=OutboxMessage.attempts + 1, leased_until=func.now() + bindparam("lease", type_=Interval))
    .returning(
        OutboxMessage.id,
        OutboxMessage.dedup_key,
        OutboxMessage.event,
        OutboxMessage.payload,
        OutboxMessage.recipient_user_id,
        OutboxMessage.attempts,
        OutboxMessage.delivered_via,
    )
    .cte("claimed")
)
# The claim and everything a delivery needs of its recipient (name, language, chat identities): one statement.
_CLAIM = Prepared(
    select(
        *_CLAIMED.c,
        User.username.label("recipient"),
        User.language,
        User.status.label("recipient_status"),
        select(func.jsonb_object_agg(cast(ChatIdentity.platform, String), ChatIdentity.platform_user_id))
        .where(ChatIdentity.user_id == _CLAIMED.c.recipient_user_id)
        .scalar_subquery()
        .label("identities"),
    )
    .select_from(_CLAIMED.outerjoin(User, User.id == _CLAIMED.c.recipient_user_id))
    .order_by(_CLAIMED.c.id)
)
_MATCHED = (
    func.unnest(bindparam("ids", type_=ARRAY(BigInteger)), bindparam("attempts", type_=ARRAY(Integer)))
    .table_valued(column("id", BigInteger), column("attempts", Integer))
    .render_derived(name="matched")
)
# One kind of outcome for many rows. Each row is matched with its attempt number: if our lease ran out and
# another dispatcher took the row, its record wins and ours is dropped.
_RECORD = Prepared(
    update(OutboxMessage)
    .where(
        OutboxMessage.id == _MATCHED.c.id,
        OutboxMessage.attempts == _MATCHED.c.attempts,
        OutboxMessage.status == OutboxStatus.PENDING,
    )
    .values(
        status=bindparam("status", type_=OUTBOX_STATUS),
        delivered_via=bindparam("delivered_via", type_=JSONB),
        last_error=bindparam("error", type_=String),
        delivered_at=case(
            (bindparam("delivered", type_=Boolean), func.clock_timestamp()), else_=OutboxMessage.delivered_at
        ),
        leased_until=None,
        # A retry is due after `retry` (an interval); with none, the time stays as it is.
        next_attempt_at=func.coalesce(
            func.clock_timestamp() + cast(bindparam("retry", type_=Interval), Interval), OutboxMessage.next_attempt_at
        ),
    )
)


# Seconds until the first pending row falls due: its next attempt, or its lease's end if it is claimed.
_WAIT = select(
    func.extract(
        "epoch",
        func.min(func.greatest(OutboxMessage.next_attempt_at, OutboxMessage.leased_until)) - func.now(),
    )
).where(OutboxMessage.status == OutboxStatus.PENDING)


class Dispatcher:
    def __init__(
        self, database: Database, front_ends: Sequence[FrontEnd], policy: DispatchPolicy = DispatchPolicy()
    ) -> None:
        if policy.delivery_timeout >= policy.lease_seconds:
            raise ValueError("the delivery timeout must be shorter than the lease")
        self._database = database
        self._front_ends = list(front_ends)
        self._policy = policy
        self._slots = asyncio.Semaphore(policy.concurrency)

    async def run_once(self) -> int:
        """Deliver one batch of what is due; returns how many messages were handled.

        Each outcome is recorded as soon as it is known, together with those that came in while the last
        record was written: a dispatcher killed mid-batch repeats only the messages in flight, not the batch.
        """
        claimed = await self._claim()
        if not claimed:
            return 0
        finished: asyncio.Queue[_Result] = asyncio.Queue()

        async def deliver(delivery: Delivery | str, row: Any) -> None:
            try:
                result = await self._handle(delivery, row)
            except Exception as error:  # a bug must not leave the row unrecorded until its lease ends
                log.exception("event=delivery_failed id=%d", row.id)
                result = _Result(row, OutboxStatus.PENDING, tuple(row.delivered_via), repr(error), retry_in=60.0)
            finished.put_nowait(result)

        workers = [asyncio.create_task(deliver(delivery, row)) for delivery, row in self._address(claimed)]
        try:
            waiting = len(workers)
            while waiting:
                done = [await finished.get()]
                while not finished.empty():
                    done.append(finished.get_nowait())
                waiting -= len(done)
                await self._record(done)
        finally:
            for worker in workers:
                worker.cancel()
        return len(claimed)

    async def drain(self) -> int:
        """Deliver until nothing is due now (retries scheduled for later stay queued)."""
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    async def run(self, stop: asyncio.Event, *, redis: aioredis.Redis | None = None, prefix: str = "idkarr:") -> None:
        """Deliver until `stop` is set; the batch in hand is finished first."""
        async with woken_by(redis, prefix, [OUTBOX]) as wake:
            while not stop.is_set():
                wake.clear()
                try:
                    handled = await self.run_once()
                except Exception:
                    # The database may be restarting; the rows are safe in it, so wait and try again.
                    log.exception("event=dispatch_failed")
                    handled = 0
                if handled >= self._policy.batch:
                    continue
                await first_of(stop, wake, seconds=await self._seconds_until_due())
                if wake.is_set() and self._policy.gather_seconds > 0:
                    await first_of(stop, seconds=self._policy.gather_seconds)

    async def _seconds_until_due(self) -> float:
        try:
            async with self._database.session() as session:
                wait = (await session.execute(_WAIT)).scalar_one()
        except Exception:
            return self._policy.poll_seconds
        if wait is None:
            return self._policy.poll_seconds
        return min(self._policy.poll_seconds, max(0.0, float(wait)))

    async def _claim(self) -> list[Any]:
        """A batch of due rows, leased and committed before any delivery, each with its recipient."""
        async with self._database.unit(reserved=True) as session:
            return await _CLAIM.rows(
                session, batch=self._policy.batch, lease=timedelta(seconds=self._policy.lease_seconds)
            )

    def _address(self, claimed: list[Any]) -> list[tuple[Delivery | str, Any]]:
        """Each claimed row as a delivery to its recipient (or why it cannot go)."""
        addressed: list[tuple[Delivery | str, Any]] = []
        for row in claimed:
            to_person = row.recipient_user_id is not None
            if to_person and row.recipient_status != UserStatus.ACTIVE:
                addressed.append(("the recipient is no longer an active user", row))
                continue
            delivery = Delivery(
                id=row.id,
                dedup_key=row.dedup_key,
                event=row.event,
                payload=row.payload,
                attempt=row.attempts,
                recipient_id=row.recipient_user_id,
                recipient=row.recipient if to_person else None,
                language=row.language if to_person else "en",
                identities=row.identities or {},
            )
            addressed.append((delivery, row))
        return addressed

    async def _handle(self, delivery: Delivery | str, row: Any) -> _Result:
        if isinstance(delivery, str):
            return _Result(row, OutboxStatus.FAILED, tuple(row.delivered_via), delivery)
        done = set(row.delivered_via)
        outcome = _Outcome()
        for front_end in self._front_ends:
            if front_end.name in done:
                continue
            try:
                async with self._slots, asyncio.timeout(self._policy.delivery_timeout):
                    if await front_end.deliver(delivery):
                        outcome.delivered.append(front_end.name)
            except Exception as error:
                outcome.errors.append(f"{front_end.name}: {type(error).__name__}: {error}"[:300])
        delivered_via = (*row.delivered_via, *outcome.delivered)
        if outcome.errors:
            reason = "; ".join(outcome.errors)
            if row.attempts >= self._policy.max_attempts:
                log.warning("event=outbox_gave_up id=%d attempts=%d", row.id, row.attempts)
                return _Result(row, OutboxStatus.FAILED, delivered_via, reason)
            delay = backoff(row.attempts, self._policy.backoff_base, self._policy.backoff_cap)
            return _Result(row, OutboxStatus.PENDING, delivered_via, reason, retry_in=delay)
        if delivered_via:
            return _Result(row, OutboxStatus.DELIVERED, delivered_via, None)
        names = ", ".join(front_end.name for front_end in self._front_ends) or "none running"
        who = delivery.recipient or "the announcement channel"
        return _Result(row, OutboxStatus.FAILED, (), f"no front end reaches {who} (front ends: {names})")

    async def _record(self, results: Sequence[_Result]) -> None:
        """Write a batch's outcomes in one transaction, one statement per kind of outcome.

        Each row is matched with its attempt number: if our lease ran out and another dispatcher took the
        row, its record wins and ours is dropped.
        """
        groups: dict[tuple[OutboxStatus, tuple[str, ...], str | None, float | None], list[Any]] = {}
        for result in results:
            key = (result.status, result.delivered_via, result.error, result.retry_in)
            groups.setdefault(key, []).append(result.row)
        async with self._database.unit(reserved=True) as session:
            await together(
                session,
                *(
                    (
                        _RECORD,
                        {
                            "ids": [row.id for row in rows],
                            "attempts": [row.attempts for row in rows],
                            "status": status,
                            "delivered_via": list(delivered_via),
                            "error": error[:_MAX_ERROR] if error is not None else None,
                            "delivered": status == OutboxStatus.DELIVERED,
                            "retry": timedelta(seconds=retry_in) if retry_in is not None else None,
                        },
                    )
                    for (status, delivered_via, error, retry_in), rows in groups.items()
                ),
            )
