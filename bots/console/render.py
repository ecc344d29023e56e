"""Replies as terminal text: cards as blocks, buttons numbered across the whole reply."""

from __future__ import annotations

from bots.conversation.replies import Reply

__all__ = ["render"]


def render(reply: Reply) -> str:
    lines: list[str] = []
    if reply.text:
        lines.append(("! " if reply.error else "") + reply.text)
    number = 0
    for card in reply.cards:
        reference = f"  · {card.shown_reference}" if card.shown_reference else ""
        lines.append(f"── {card.title}" + (f"  ({card.subtitle})" if card.subtitle else "") + reference)
        if card.overview:
            lines.append(f"   {card.overview}")
        if card.badges:
            lines.append("   " + " ".join(f"[{badge}]" for badge in card.badges))
        if card.buttons:
            labels = []
            for button in card.buttons:
                number += 1
                labels.append(f"[{number}] {button.label}")
            lines.append("   " + "  ".join(labels))
    if reply.buttons:
        labels = []
        for button in reply.buttons:
            number += 1
            labels.append(f"[{number}] {button.label}")
        lines.append("  ".join(labels))
    if reply.footer:
        lines.append(reply.footer)
    return "\n".join(lines)
