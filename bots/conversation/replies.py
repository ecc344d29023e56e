"""Replies as data: what a front end renders as text, embeds, keyboards or numbered buttons, and how.

A reply fits Discord and Telegram by construction (see limits.py for the numbers): labels, titles and text
are cut to size here, and a reply with more buttons than a message can carry is a programming error raised
where it is built, not a message a platform rejects later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bots.conversation import limits

__all__ = ["OVERVIEW_LIMIT", "Button", "Card", "Choice", "Question", "Reply", "Style", "trim"]

OVERVIEW_LIMIT = 300  # characters of an overview on a card; embeds and captions stay readable

Style = Literal["primary", "secondary", "success", "danger"]


def trim(text: str, limit: int) -> str:
    """`text` on one line, cut at a word to at most `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut + "…"


def _cut_lines(text: str, limit: int) -> str:
    """`text` (lines kept) cut at a line, or inside the first one, to at most `limit` characters."""
    if len(text) <= limit:
        return text
    kept = text[: limit - 1]
    if "\n" in kept:
        kept = kept.rsplit("\n", 1)[0]
    return kept + "…"


@dataclass(frozen=True)
class Button:
    label: str
    token: str  # an action token: at most 16 characters of A-Z a-z 0-9 _ -
    style: Style = "secondary"
    # Pressing it asks for text (a denial's reason): Discord must open its modal as the very first answer.
    asks: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", trim(self.label, limits.BUTTON_LABEL) or "·")


@dataclass(frozen=True)
class Card:
    """One title or request: an embed on Discord, a photo with a caption (or a text block) on Telegram."""

    title: str
    subtitle: str = ""
    overview: str = ""
    poster: str | None = None
    badges: tuple[str, ...] = ()
    buttons: tuple[Button, ...] = ()
    # The id people can type to name this title or request again ("tmdb:603", "#12").
    reference: str = ""
    # The title's page on TMDB or TheTVDB (an embed's link).
    link: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", trim(self.title, limits.CARD_TITLE))
        object.__setattr__(self, "subtitle", trim(self.subtitle, limits.CARD_SUBTITLE))
        object.__setattr__(self, "overview", trim(self.overview, OVERVIEW_LIMIT))
        object.__setattr__(self, "badges", tuple(trim(badge, limits.BADGE) for badge in self.badges[:4]))
        if len(self.buttons) > limits.BUTTONS_PER_ROW:
            raise ValueError(f"a card carries at most {limits.BUTTONS_PER_ROW} buttons (one row)")

    @property
    def shown_reference(self) -> str:
        """The reference as a front end shows it: not again when the subtitle begins with it (a request's
        line begins with its "#12")."""
        return "" if self.subtitle.startswith(self.reference + " ") else self.reference


@dataclass(frozen=True)
class Question:
    """The reply asks for text: Discord opens a modal, Telegram a forced reply, the console a prompt line.

    `key` ties the answer to this question: a front end passes it back with the text (a modal's custom_id,
    the question message a reply answers, the console's next line)."""

    key: str
    label: str  # the modal's title and the input's label
    max_length: int = 500

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", trim(self.label, limits.MODAL_TITLE))


@dataclass(frozen=True)
class Choice:
    """One autocomplete suggestion: what the person sees and what the option then holds."""

    name: str
    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", trim(self.name, limits.CHOICE_NAME))
        object.__setattr__(self, "value", self.value[: limits.CHOICE_VALUE])


@dataclass(frozen=True)
class Reply:
    text: str = ""
    cards: tuple[Card, ...] = ()
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    footer: str = ""
    error: bool = False
    # Replace the message whose button was pressed (paging, a decision) rather than send a new one.
    edit: bool = False
    # Only the person sees it: Discord's ephemeral reply, Telegram's private chat rather than the group.
    private: bool = False
    question: Question | None = None
    # The first `pick` of the reply's own buttons are alternatives to choose one of (a season): Discord shows
    # them as a select menu; elsewhere they are buttons like the rest.
    pick: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", _cut_lines(self.text, limits.MESSAGE_TEXT))
        if not 0 <= self.pick <= min(len(self.buttons), limits.CHOICES):
            raise ValueError(f"a reply picks from at most {limits.CHOICES} of its own buttons")
        object.__setattr__(self, "footer", trim(self.footer, limits.FOOTER))
        if len(self.cards) > limits.CARDS:
            raise ValueError(f"a reply carries at most {limits.CARDS} cards")
        if len(self.buttons) > limits.BUTTONS:
            raise ValueError(f"a reply carries at most {limits.BUTTONS} buttons of its own")

    def all_buttons(self) -> list[Button]:
        """Every button, cards' first, in the order a front end numbers them."""
        return [button for card in self.cards for button in card.buttons] + list(self.buttons)

    def button_rows(self) -> list[list[Button]]:
        """The reply's own buttons in rows of at most five, as Discord and Telegram lay them out."""
        size = limits.BUTTONS_PER_ROW
        return [list(self.buttons[start : start + size]) for start in range(0, len(self.buttons), size)]
