"""Inline mode: `@thebot dune` in any chat lists matching titles, each with a Request button."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
)

from bots.conversation.catalog import Messages
from bots.conversation.conversation import Conversation, Speaker
from bots.conversation.limits import caption_of

__all__ = ["answer_inline"]

PAGE = 10  # Telegram takes at most 50 results an answer; a page of 10 keeps each answer quick
_MAX_PAGE = 50


async def answer_inline(conversation: Conversation, query: InlineQuery, speaker: Speaker) -> None:
    term = query.query.strip()
    page = int(query.offset) if query.offset.isdigit() and 0 < int(query.offset) <= _MAX_PAGE else 1
    if len(term) < 2:
        await query.answer([], cache_time=0, is_personal=True)
        return
    reply = await conversation.titles(term, page, speaker=speaker, page_size=PAGE)
    if reply is None:
        link = InlineQueryResultsButton(text=Messages("en")("inline.link"), start_parameter="link")
        await query.answer([], cache_time=0, is_personal=True, button=link)
        return
    results = []
    for number, card in enumerate(reply.cards):
        text = caption_of(card.title, card.subtitle, card.overview, card.badges, card.shown_reference)
        buttons = [InlineKeyboardButton(button.label, callback_data=button.token) for button in card.buttons[:1]]
        results.append(
            InlineQueryResultArticle(
                id=f"{page}-{number}",
                title=card.title,
                description=card.subtitle,
                thumbnail_url=card.poster,
                input_message_content=InputTextMessageContent(text),
                reply_markup=InlineKeyboardMarkup([buttons]) if buttons else None,
            )
        )
    more = bool(reply.buttons) and page < _MAX_PAGE
    await query.answer(results, cache_time=0, is_personal=True, next_offset=str(page + 1) if more else "")
