"""A dispatcher process that claims the outbox and then hangs mid-delivery, to be killed by a test.

Run as `python -m tests.dispatch_victim DATABASE_URL LEASE_SECONDS [DELIVER_FIRST]`; prints "claimed N" once
it holds rows, and with DELIVER_FIRST, delivers that many at once and prints "delivered N" before hanging.
"""

from __future__ import annotations

import asyncio
import sys

from core.db.session import Database
from core.dburl import DatabaseUrl
from core.services.dispatcher import Delivery, Dispatcher, DispatchPolicy


class Hangs:
    name = "console"

    def __init__(self, deliver_first: int) -> None:
        self.announced = False
        self.deliver_first = deliver_first
        self.delivered = 0

    async def deliver(self, delivery: Delivery) -> bool:
        if not self.announced:
            self.announced = True
            print(f"claimed {delivery.id}", flush=True)
        if self.delivered < self.deliver_first:
            self.delivered += 1
            if self.delivered == self.deliver_first:
                print(f"delivered {self.delivered}", flush=True)
            return True
        await asyncio.Event().wait()
        return True


async def main(url: str, lease: float, deliver_first: int) -> None:
    database = Database(url=DatabaseUrl.parse(url))
    policy = DispatchPolicy(lease_seconds=lease, delivery_timeout=lease * 0.9)
    await Dispatcher(database, [Hangs(deliver_first)], policy).run_once()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0))
