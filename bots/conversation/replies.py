"""Replies as data: what a front end renders as text, embeds, keyboards or numbered buttons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["OVERVIEW_LIMIT", "Button", "Card", "Reply", "trim"]

OVERVIEW_LIMIT = 300  # characters of an overview on a card; embeds and messages stay readable

Style = Literal["primary", "secondary", "success", "danger"]


def trim(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


@dataclass(frozen=True)
class Button:
    label: str
    token: str  # an action token id: at most 16 characters, fits Telegram and Discord
    style: Style = "secondary"


@dataclass(frozen=True)
class Card:
    title: str
    subtitle: str = ""
    overview: str = ""
    poster: str | None = None
    badges: tuple[str, ...] = ()
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Reply:
    text: str = ""
    cards: tuple[Card, ...] = ()
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    footer: str = ""
    error: bool = False

    def all_buttons(self) -> list[Button]:
        """Every button, cards' first, in the order a front end numbers them."""
        return [button for card in self.cards for button in card.buttons] + list(self.buttons)
