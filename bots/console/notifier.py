"""The console as a front end of the dispatcher: notifications are printed in the terminal.

The terminal is everyone's: it reaches every user, so a household sharing one machine hears everything.
"""

from __future__ import annotations

from typing import TextIO

from bots.conversation.notifications import notification_text
from core.services.dispatcher import Delivery

__all__ = ["ConsoleNotifier"]


class ConsoleNotifier:
    name = "console"

    def __init__(self, out: TextIO) -> None:
        self._out = out

    async def deliver(self, delivery: Delivery) -> bool:
        to = f"@{delivery.recipient}" if delivery.recipient else "everyone"
        self._out.write(f"🔔 {to}: {notification_text(delivery)}\n")
        self._out.flush()
        return True
