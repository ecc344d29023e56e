"""Conversation replies as Telegram messages: text with an inline keyboard, cards as photos with captions
(or text when a title has no poster), a question as a forced reply. Buttons carry the action token as
callback_data, nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup

from bots.conversation.limits import TELEGRAM_CAPTION, TELEGRAM_TEXT, caption_of
from bots.conversation.replies import Button, Card, Reply, trim

__all__ = ["Outgoing", "keyboard", "messages_of", "split_text"]

_SHARED_OVERVIEW = 160


@dataclass(frozen=True)
class Outgoing:
    """One message to send: a photo when `photo` is set (its text the caption), else text."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    photo: str | None = None
    question_key: str | None = None
    question_label: str = ""

    def markup(self) -> InlineKeyboardMarkup | ForceReply | None:
        if self.question_key is not None:
            return ForceReply(input_field_placeholder=self.question_label[:64] or None)
        return keyboard(self.buttons)


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not any(rows):
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button.label, callback_data=button.token) for button in row] for row in rows if row]
    )


def split_text(text: str, limit: int = TELEGRAM_TEXT) -> list[str]:
    """`text` in parts of at most `limit` characters, cut at line ends where it can be."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*parts, text] if text else parts


def _photo_card(card: Card, reply: Reply) -> Outgoing:
    text = caption_of(card.title, card.subtitle, card.overview, card.badges, card.shown_reference)
    rows = ((card.buttons,) if card.buttons else ()) + _rows(reply.buttons)
    return Outgoing(text=text[:TELEGRAM_CAPTION], buttons=rows, photo=card.poster)


def _rows(buttons: tuple[Button, ...]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[start : start + 5]) for start in range(0, len(buttons), 5))


def _numbered(number: int, buttons: tuple[Button, ...]) -> tuple[Button, ...]:
    return tuple(Button(f"{number} · {button.label}", button.token, button.style) for button in buttons)


def messages_of(reply: Reply) -> list[Outgoing]:
    """The messages a reply becomes. A page of cards is one message (so paging edits it in place): each card
    a numbered block, its buttons one numbered row of the keyboard; a single card with a poster is a photo
    with its caption. Text over Telegram's limit is split, the keyboard on the last part."""
    if reply.question is not None:
        return [Outgoing(text=reply.text, question_key=reply.question.key, question_label=reply.question.label)]
    if len(reply.cards) == 1 and reply.cards[0].poster and not reply.text:
        return [_photo_card(reply.cards[0], reply)]
    blocks = [reply.text] if reply.text else []
    rows: list[tuple[Button, ...]] = []
    many = len(reply.cards) > 1
    for number, card in enumerate(reply.cards, start=1):
        # Several cards share one message: their overviews are shortened so a page stays one message.
        overview = trim(card.overview, _SHARED_OVERVIEW) if many else card.overview
        title = f"{number}. {card.title}" if many else card.title
        blocks.append(caption_of(title, card.subtitle, overview, card.badges, card.shown_reference))
        if card.buttons:
            rows.append(_numbered(number, card.buttons) if many else card.buttons)
    if reply.footer:
        blocks.append(reply.footer)
    rows.extend(_rows(reply.buttons))
    parts = split_text("\n\n".join(blocks) or "…")
    return [
        Outgoing(text=part, buttons=tuple(rows) if index == len(parts) - 1 else ()) for index, part in enumerate(parts)
    ]
