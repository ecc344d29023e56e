"""How an outbox message reads: a notification to the person receiving it, in their language, or an
announcement to everyone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bots.conversation.catalog import ENGLISH, Messages
from core.services.dispatcher import Delivery

__all__ = ["announcement_text", "notification_text", "seasons_text"]


def _values(delivery: Delivery) -> defaultdict[str, Any]:
    # Payloads are written by older and newer versions alike: a missing value reads as "?" rather than failing.
    values: defaultdict[str, Any] = defaultdict(lambda: "?", delivery.payload)
    if values["year"] is None:
        values["year"] = "?"
    return values


def seasons_text(t: Messages, seasons: Sequence[int] | None) -> str:
    """ "all seasons", "season 2", "seasons 1, 2" in `t`'s language."""
    if not seasons:
        return t("request.seasons_all")
    if len(seasons) == 1:
        return t("request.season_one", season=seasons[0])
    return t("request.seasons_some", seasons=", ".join(map(str, seasons)))


def notification_text(delivery: Delivery) -> str:
    t = Messages(delivery.language)
    values = _values(delivery)
    if isinstance(delivery.payload.get("seasons"), list):
        values["seasons"] = seasons_text(t, delivery.payload["seasons"])
    key = f"notify.{delivery.event}"
    if key not in ENGLISH:
        key = "notify.other"
        values["event"] = delivery.event
    return t.render(key, values)


def announcement_text(delivery: Delivery, language: str = "en") -> str:
    """An activity told to everyone. People who keep their request history private are not named."""
    t = Messages(language)
    values = _values(delivery)
    by, requested_by = delivery.payload.get("by"), delivery.payload.get("requested_by")
    key = f"announce.{delivery.event}"
    if key not in ENGLISH:
        values["event"] = delivery.event
        return t.render("notify.other", values)
    if delivery.event == "request_approved" and (by is None or by == requested_by):
        key = "announce.request_approved_auto"
    fallback = "announce.someone" if delivery.event == "request_created" else "announce.moderator"
    values["by"] = by or t(fallback)
    content = f"content.{values['content_type']}"
    values["content"] = t(content) if content in ENGLISH else "?"
    values["requester"] = t("announce.requester", name=requested_by) if requested_by and requested_by != by else ""
    return t.render(key, values)
