"""The console as a front end of the dispatcher: notifications and announcements are printed in the terminal.

The terminal is everyone's: it reaches every user, so a household sharing one machine hears everything.
"""

from __future__ import annotations

from typing import TextIO

from bots.conversation.notifications import announcement_text, notification_text
from core.services.dispatcher import Delivery

__all__ = ["ConsoleNotifier"]


class ConsoleNotifier:
    name = "console"

    def __init__(self, out: TextIO) -> None:
        self._out = out

    async def deliver(self, delivery: Delivery) -> bool:
        if delivery.recipient_id is None:
            self._out.write(f"📣 {announcement_text(delivery)}\n")
        else:
            self._out.write(f"🔔 @{delivery.recipient}: {notification_text(delivery)}\n")
        self._out.flush()
        return True
