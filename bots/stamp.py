"""The time a decision was made, on the shared message it replaces (a moderators' post)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["stamped"]


def stamped(text: str) -> str:
    """A decision edited into a shared message says when it was made, for everyone reading it later."""
    return f"{text} ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)"
