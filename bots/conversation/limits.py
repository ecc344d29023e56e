"""Discord's and Telegram's limits on what a bot sends, and a checker of replies against both.

Where the two differ, a reply keeps the smaller: a message's text fits Discord's 2000 characters (Telegram
takes 4096), a card's text fits Telegram's 1024-character caption (a Discord embed takes more).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bots.conversation.replies import Choice, Reply

__all__ = ["caption_of", "violations", "violations_of_choices"]

# Discord
DISCORD_CONTENT = 2000
DISCORD_CUSTOM_ID = 100
DISCORD_BUTTON_LABEL = 80
DISCORD_ROWS = 5
DISCORD_EMBED_TITLE = 256
DISCORD_EMBED_DESCRIPTION = 4096
DISCORD_EMBED_FOOTER = 2048
DISCORD_EMBED_TOTAL = 6000
DISCORD_EMBEDS = 10
DISCORD_MODAL_TITLE = 45
DISCORD_CHOICES = 25
DISCORD_CHOICE_NAME = 100
# Telegram
TELEGRAM_TEXT = 4096
TELEGRAM_CAPTION = 1024
TELEGRAM_CALLBACK_DATA = 64  # bytes
# A platform adapter may prefix a token with a short namespace ("t:"); this leaves room for it.
ADAPTER_PREFIX = 8

# What replies keep, the smaller of the two platforms' limits. A card's parts at their longest (title, subtitle,
# 300 characters of overview, four badges, its reference) make about 900 characters: inside a caption.
MESSAGE_TEXT = DISCORD_CONTENT
BUTTON_LABEL = DISCORD_BUTTON_LABEL
BUTTONS_PER_ROW = 5
BUTTONS = DISCORD_ROWS * BUTTONS_PER_ROW
CARDS = DISCORD_EMBEDS
CARD_TITLE = DISCORD_EMBED_TITLE
CARD_SUBTITLE = 150
BADGE = 40
FOOTER = 200
MODAL_TITLE = DISCORD_MODAL_TITLE
CHOICES = DISCORD_CHOICES
CHOICE_NAME = DISCORD_CHOICE_NAME
CHOICE_VALUE = DISCORD_CHOICE_NAME
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,16}")


def caption_of(title: str, subtitle: str, overview: str, badges: tuple[str, ...], reference: str) -> str:
    """A card as one block of text: a Telegram caption, a console block, an embed's description."""
    lines = [title + (f" ({subtitle})" if subtitle else "")]
    if overview:
        lines.append(overview)
    if badges:
        lines.append(" ".join(f"[{badge}]" for badge in badges))
    if reference:
        lines.append(reference)
    return "\n".join(lines)


def violations(reply: Reply) -> list[str]:
    """Everything in `reply` that Discord or Telegram would refuse; empty when it fits both."""
    found: list[str] = []
    text = "\n".join(part for part in (reply.text, reply.footer) if part)
    if len(text) > DISCORD_CONTENT:
        found.append(f"text of {len(text)} characters (Discord: {DISCORD_CONTENT})")
    if len(text) > TELEGRAM_TEXT:
        found.append(f"text of {len(text)} characters (Telegram: {TELEGRAM_TEXT})")
    if len(reply.cards) > DISCORD_EMBEDS:
        found.append(f"{len(reply.cards)} cards (Discord: {DISCORD_EMBEDS} embeds)")
    if len(reply.buttons) > DISCORD_ROWS * BUTTONS_PER_ROW:
        found.append(f"{len(reply.buttons)} buttons (Discord: {DISCORD_ROWS} rows of {BUTTONS_PER_ROW})")
    embeds_total = 0
    for card in reply.cards:
        if len(card.buttons) > BUTTONS_PER_ROW:
            found.append(f"card {card.title!r} has {len(card.buttons)} buttons (one row of {BUTTONS_PER_ROW})")
        if not 1 <= len(card.title) <= DISCORD_EMBED_TITLE:
            found.append(f"card title of {len(card.title)} characters (Discord: 1 to {DISCORD_EMBED_TITLE})")
        caption = caption_of(card.title, card.subtitle, card.overview, card.badges, card.shown_reference)
        if len(caption) > TELEGRAM_CAPTION:
            found.append(f"card caption of {len(caption)} characters (Telegram: {TELEGRAM_CAPTION})")
        if len(caption) > DISCORD_EMBED_DESCRIPTION:
            found.append(f"card description of {len(caption)} characters (Discord: {DISCORD_EMBED_DESCRIPTION})")
        embeds_total += len(caption)
    if embeds_total + len(reply.footer) > DISCORD_EMBED_TOTAL * max(1, len(reply.cards)):
        found.append(f"cards of {embeds_total} characters in all (Discord: {DISCORD_EMBED_TOTAL} per message)")
    for button in reply.all_buttons():
        if not 1 <= len(button.label) <= DISCORD_BUTTON_LABEL:
            found.append(f"button label of {len(button.label)} characters (Discord: 1 to {DISCORD_BUTTON_LABEL})")
        if not TOKEN.fullmatch(button.token):
            found.append(f"button token {button.token!r} is not 1 to 16 token characters")
        if len(button.token.encode()) + ADAPTER_PREFIX > TELEGRAM_CALLBACK_DATA:
            found.append("button token too long for Telegram's callback_data")
        if len(button.token) + ADAPTER_PREFIX > DISCORD_CUSTOM_ID:
            found.append("button token too long for Discord's custom_id")
    if reply.question is not None and not 1 <= len(reply.question.label) <= DISCORD_MODAL_TITLE:
        found.append(f"question label of {len(reply.question.label)} characters (Discord modal: {DISCORD_MODAL_TITLE})")
    return found


def violations_of_choices(choices: list[Choice]) -> list[str]:
    found: list[str] = []
    if len(choices) > DISCORD_CHOICES:
        found.append(f"{len(choices)} autocomplete choices (Discord: {DISCORD_CHOICES})")
    for choice in choices:
        if not 1 <= len(choice.name) <= DISCORD_CHOICE_NAME:
            found.append(f"choice name of {len(choice.name)} characters (Discord: 1 to {DISCORD_CHOICE_NAME})")
        if not 1 <= len(choice.value) <= DISCORD_CHOICE_NAME:
            found.append(f"choice value of {len(choice.value)} characters (Discord: 1 to {DISCORD_CHOICE_NAME})")
    return found
