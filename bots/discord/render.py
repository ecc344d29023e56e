"""Conversation replies as Discord messages: the text as content, each card an embed (poster, overview, link),
buttons in action rows. What cannot be five rows of buttons (a page of five cards with three buttons each and
a More) becomes select menus, so a reply always fits a message.

Every component's custom_id says what a press means, and nothing is kept in memory for it, so a message sent
before a restart (or by another process) still works:
  `t:TOKEN`  a button carrying an action token;
  `q:TOKEN`  one whose action asks for text (Deny): the press opens a modal;
  `a:KEY`    "write your answer": opens the modal for an open question;
  `s:N`      a select menu; each option's value is one of the above;
  `m:KEY`    a modal, submitted with the answer to question KEY.
`a:` and `m:` may end in `:CHANNEL:MESSAGE`, the shared message (a moderators' post) the answer then edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import discord

from bots.conversation.limits import (
    BUTTONS_PER_ROW,
    DISCORD_BUTTON_LABEL,
    DISCORD_CONTENT,
    DISCORD_EMBED_DESCRIPTION,
    DISCORD_EMBED_FOOTER,
    DISCORD_EMBED_TITLE,
    DISCORD_ROWS,
)
from bots.conversation.replies import Button, Card, Reply, trim

__all__ = ["Components", "Rendered", "custom_id", "render", "split_custom_id"]

_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}
_SELECT_OPTIONS = 25
_SELECT_LABEL = 100
_PLACEHOLDER = 150
_KINDS = frozenset("tqasm")


def custom_id(button: Button) -> str:
    return f"{'q' if button.asks else 't'}:{button.token}"


def split_custom_id(value: str) -> tuple[str, str]:
    """("t", token) and the like; ("", "") for anything that is not idkarr's."""
    kind, colon, rest = value.partition(":")
    if not colon or kind not in _KINDS or not rest or len(value) > 100:
        return "", ""
    return kind, rest


class Components(discord.ui.View):
    """Only what a message shows: presses reach the front end's interaction listener by custom_id, so no view
    is kept in discord.py's memory (a press works in any process, after any restart)."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    def is_dispatchable(self) -> bool:
        return False


@dataclass
class Rendered:
    content: str
    embeds: list[discord.Embed] = field(default_factory=list)
    view: Components | None = None

    def send(self) -> dict[str, Any]:
        """Keyword arguments for a new message (a channel send, a followup)."""
        sent: dict[str, Any] = {"content": self.content or None, "embeds": self.embeds}
        if self.view is not None:
            sent["view"] = self.view
        return sent

    def edit(self) -> dict[str, Any]:
        """Keyword arguments for an edit: what the reply does not have is cleared (a decision's buttons)."""
        return {"content": self.content or None, "embeds": self.embeds, "view": self.view}


def _embed(card: Card, number: int) -> discord.Embed:
    """`number`: the card's place on a page of several (0 alone), shown in its title as on its buttons."""
    lines = [part for part in (card.subtitle, card.overview) if part]
    if card.badges:
        lines.append(" ".join(f"`{badge}`" for badge in card.badges))
    if card.shown_reference:
        lines.append(card.shown_reference)
    title = f"{number}. {card.title}" if number else card.title
    embed = discord.Embed(
        title=title[:DISCORD_EMBED_TITLE], description="\n".join(lines)[:DISCORD_EMBED_DESCRIPTION], url=card.link
    )
    if card.poster:
        # A page of cards shows small posters; one card shows it large.
        if number:
            embed.set_thumbnail(url=card.poster)
        else:
            embed.set_image(url=card.poster)
    return embed


def _rows(buttons: list[Button]) -> list[list[Button]]:
    return [buttons[start : start + BUTTONS_PER_ROW] for start in range(0, len(buttons), BUTTONS_PER_ROW)]


def _button(button: Button, row: int) -> discord.ui.Button[Components]:
    return discord.ui.Button(label=button.label, style=_STYLES[button.style], custom_id=custom_id(button), row=row)


def _picker(reply: Reply) -> Components:
    """The reply's alternatives as one select menu (a season), its other buttons (paging) below."""
    view = Components()
    choices, rest = reply.buttons[: reply.pick], reply.buttons[reply.pick :]
    select: discord.ui.Select[Components] = discord.ui.Select(
        custom_id="s:pick",
        placeholder=trim(reply.text, _PLACEHOLDER) or None,
        options=[discord.SelectOption(label=trim(b.label, _SELECT_LABEL), value=custom_id(b)) for b in choices],
        row=0,
    )
    view.add_item(select)
    for row, buttons in enumerate(_rows(list(rest)), start=1):
        for button in buttons:
            view.add_item(_button(button, row))
    return view


def _components(reply: Reply) -> Components | None:
    if reply.pick and not reply.cards:
        return _picker(reply)
    many = len(reply.cards) > 1
    card_rows = [list(card.buttons) for card in reply.cards if card.buttons]
    own_rows = _rows(list(reply.buttons))
    view = Components()
    if len(card_rows) + len(own_rows) <= DISCORD_ROWS:
        # Several cards: each row of buttons is numbered like its card ("2 · Request"), as the embeds are.
        numbered = [
            [replace(button, label=f"{number} · {button.label}") if many else button for button in card.buttons]
            for number, card in enumerate(reply.cards, start=1)
            if card.buttons
        ]
        for row, buttons in enumerate(numbered + own_rows):
            for button in buttons:
                view.add_item(_button(button, row))
        return view if view.children else None
    # Too many rows: the cards' buttons become pick lists ("2. Dune: Request"), the reply's own stay buttons;
    # if even that is too many, everything is picked from lists.
    labelled = [
        (f"{number}. {card.title}: {button.label}" if many else button.label, button)
        for number, card in enumerate(reply.cards, start=1)
        for button in card.buttons
    ]
    if -(-len(labelled) // _SELECT_OPTIONS) + len(own_rows) > DISCORD_ROWS:
        labelled += [(button.label, button) for button in reply.buttons]
        own_rows = []
    row = 0
    for start in range(0, len(labelled), _SELECT_OPTIONS):
        chunk = labelled[start : start + _SELECT_OPTIONS]
        actions = dict.fromkeys(button.label for _, button in chunk)
        select: discord.ui.Select[Components] = discord.ui.Select(
            custom_id=f"s:{row}",
            placeholder=trim(" · ".join(actions), _PLACEHOLDER),
            options=[discord.SelectOption(label=trim(label, _SELECT_LABEL), value=custom_id(b)) for label, b in chunk],
            row=row,
        )
        view.add_item(select)
        row += 1
    for buttons in own_rows:
        for button in buttons:
            view.add_item(_button(button, row))
        row += 1
    return view


def render(reply: Reply, *, question_button: str = "", target: str = "") -> Rendered:
    """`reply` as one Discord message. A question that cannot open a modal here (the interaction was already
    answered) becomes a button that opens it: `question_button` is its label, `target` the message the
    answer should then edit ("CHANNEL:MESSAGE", a moderators' post)."""
    many = len(reply.cards) > 1
    embeds = [_embed(card, number if many else 0) for number, card in enumerate(reply.cards, start=1)]
    content = reply.text
    if reply.footer:
        if embeds:
            embeds[-1].set_footer(text=reply.footer[:DISCORD_EMBED_FOOTER])
        elif len(content) + len(reply.footer) + 1 <= DISCORD_CONTENT:
            content = f"{content}\n{reply.footer}" if content else reply.footer
    view = _components(reply)
    if reply.question is not None and question_button:
        view = view or Components()
        opens = f"a:{reply.question.key}" + (f":{target}" if target else "")
        label = trim(question_button, DISCORD_BUTTON_LABEL)
        view.add_item(discord.ui.Button(label=label, style=discord.ButtonStyle.primary, custom_id=opens))
    if not content and not embeds:
        content = "…"
    return Rendered(content=content, embeds=embeds, view=view)
