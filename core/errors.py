"""Errors a person reads. Front ends render `str(error)`; nothing here carries a secret.

IdkarrError
├── StartupError            idkarr cannot start: say why and what to do, then exit
│   ├── DatabaseUnavailable
│   └── RedisUnavailable
└── DomainError             a use case refused: the rule that said no
    ├── NotFound
    ├── AlreadyExists
    ├── InvalidInput
    └── NotAllowed
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AlreadyAvailable",
    "AlreadyDecided",
    "AlreadyExists",
    "DatabaseUnavailable",
    "DomainError",
    "IdkarrError",
    "InvalidInput",
    "NotAllowed",
    "NotFound",
    "QuotaExceeded",
    "RedisUnavailable",
    "StartupError",
]


class IdkarrError(Exception):
    pass


class StartupError(IdkarrError):
    pass


class DatabaseUnavailable(StartupError):
    pass


class RedisUnavailable(StartupError):
    pass


class DomainError(IdkarrError):
    """A refusal with a stable `code` and the `values` it names, so a front end can say it in any language.

    The English sentence is the template itself, written where the rule lives; translations are keyed by
    the code (see bots/conversation/catalog.py). A refusal without a code is already in the reader's words.
    """

    def __init__(self, template: str, *, code: str | None = None, **values: Any) -> None:
        super().__init__(template.format_map(values) if values else template)
        self.template = template
        self.code = code
        self.values = values


class NotFound(DomainError):
    pass


class AlreadyExists(DomainError):
    pass


class InvalidInput(DomainError):
    pass


class NotAllowed(DomainError):
    pass


class QuotaExceeded(NotAllowed):
    pass


class AlreadyDecided(DomainError):
    pass


class AlreadyAvailable(DomainError):
    pass
