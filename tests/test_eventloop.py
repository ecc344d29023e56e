"""The loop idkarr's entry points run on (core.eventloop). In-process tests keep pytest-asyncio's own loop;
the command-line tests start idkarr itself, so they run on this one."""

from __future__ import annotations

import asyncio
import importlib.util

from core import eventloop


async def _kind() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def test_idkarr_runs_on_uvloop_where_it_is_installed() -> None:
    expected = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    assert eventloop.run(_kind()) == expected
