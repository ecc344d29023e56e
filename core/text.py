"""Free text from people, made safe to store and show.

Chat clients and terminals pass control characters through (PostgreSQL refuses NUL outright; escape
sequences repaint a terminal), so every piece of free text a person gives idkarr goes through here.
"""

from __future__ import annotations

import unicodedata

__all__ = ["clean_text"]


def clean_text(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with control and format characters removed and runs of whitespace made single spaces
    (newlines kept between lines when asked)."""
    kept = "".join(
        char if unicodedata.category(char)[0] != "C" or (keep_newlines and char == "\n") else " " for char in text
    )
    if keep_newlines:
        return "\n".join(" ".join(line.split()) for line in kept.split("\n")).strip()
    return " ".join(kept.split())
