"""Upstream failures, in the one small tree front ends know how to say to a person.

UpstreamError
├── UpstreamUnavailable     unreachable, timed out, 5xx or 429 after retries: "try again in a minute"
├── UpstreamAuthFailed      the key or token was refused: an operator must fix the configuration
├── UpstreamNotFound        the upstream has no such thing (an unknown id)
└── UpstreamBadResponse     answered, but not with what its API documents
"""

from __future__ import annotations

from core.errors import IdkarrError

__all__ = ["UpstreamAuthFailed", "UpstreamBadResponse", "UpstreamError", "UpstreamNotFound", "UpstreamUnavailable"]


class UpstreamError(IdkarrError):
    code = "upstream"  # stable, for API clients: which of the failures below this is

    def __init__(self, service: str, reason: str) -> None:
        self.service = service
        self.reason = reason
        super().__init__(self.message())

    def message(self) -> str:
        return f"{self.service}: {self.reason}"


class UpstreamUnavailable(UpstreamError):
    code = "upstream.unavailable"

    def message(self) -> str:
        return f"{self.service} can't be reached right now, try again in a minute ({self.reason})"


class UpstreamAuthFailed(UpstreamError):
    code = "upstream.credentials"

    def message(self) -> str:
        return f"{self.service} refused idkarr's credentials ({self.reason}); an admin needs to check the configuration"


class UpstreamBadResponse(UpstreamError):
    code = "upstream.unreadable"

    def message(self) -> str:
        return f"{self.service} answered something idkarr cannot read ({self.reason}), try again later"


class UpstreamNotFound(UpstreamError):
    code = "title.unknown"

    def message(self) -> str:
        return f"{self.service} has no such title ({self.reason})"
