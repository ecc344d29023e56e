"""How an outbox message reads to the person receiving it, in their language."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bots.conversation.catalog import ENGLISH, Messages
from core.services.dispatcher import Delivery

__all__ = ["notification_text"]


def notification_text(delivery: Delivery) -> str:
    t = Messages(delivery.language)
    # Payloads are written by older and newer versions alike: a missing value reads as "?" rather than failing.
    values: defaultdict[str, Any] = defaultdict(lambda: "?", delivery.payload)
    if values["year"] is None:
        values["year"] = "?"
    key = f"notify.{delivery.event}"
    if key not in ENGLISH:
        key = "notify.other"
        values["event"] = delivery.event
    return t.render(key, values)
