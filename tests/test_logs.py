"""The log's one line per event: an error is named by its type and the first line of its message."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import OperationalError

from core.logs import configure_logging


def _logged_failure(error: Exception) -> str:
    stream = io.StringIO()
    configure_logging("INFO")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        raise error
    except Exception:
        logging.getLogger("idkarr.test").exception("event=failed id=%d", 7)
    return stream.getvalue()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def test_a_failed_statement_is_logged_by_what_went_wrong_not_by_the_docs_link() -> None:
    lost = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly\nmore"))
    line = _logged_failure(lost)
    assert line.count("\n") == 1
    assert "event=failed id=7 exc='OperationalError: (builtins.Exception) server closed the connection" in line
    assert "sqlalche.me" not in line


def test_an_error_without_a_message_is_named_by_its_type() -> None:
    assert _logged_failure(TimeoutError()).rstrip().endswith("exc='TimeoutError'")
