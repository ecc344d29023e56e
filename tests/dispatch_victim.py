"""A dispatcher process that claims the outbox and then hangs mid-delivery, to be killed by a test.

Run as `python -m tests.dispatch_victim DATABASE_URL LEASE_SECONDS`; prints "claimed N" once it holds rows.
"""

from __future__ import annotations

import asyncio
import sys

from core.db.session import Database
from core.dburl import DatabaseUrl
from core.services.dispatcher import Delivery, Dispatcher, DispatchPolicy


class Hangs:
    name = "console"

    def __init__(self) -> None:
        self.announced = False

    async def deliver(self, delivery: Delivery) -> bool:
        if not self.announced:
            self.announced = True
            print(f"claimed {delivery.id}", flush=True)
        await asyncio.Event().wait()
        return True


async def main(url: str, lease: float) -> None:
    database = Database(url=DatabaseUrl.parse(url))
    policy = DispatchPolicy(lease_seconds=lease, delivery_timeout=lease * 0.9)
    await Dispatcher(database, [Hangs()], policy).run_once()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
