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
    pass


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
