"""`idkarr run`: the console, the dispatcher and the scheduler in one process, stopped cleanly by signals."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

from sqlalchemy import select

from core.db.models import OutboxMessage
from core.db.session import Database
from core.enums import OutboxStatus

from .conftest import Idkarr, idkarr_command


async def test_run_with_console_serves_delivers_and_stops_on_sigterm(idkarr: Idkarr, db: Database) -> None:
    assert (await idkarr.run_async("user", "add", "alice")).returncode == 0
    process = await asyncio.create_subprocess_exec(
        *idkarr_command(),
        "run",
        "--console",
        cwd=idkarr.workdir,
        env=idkarr.env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(b"/as alice\n/request movie 603\n")
        await process.stdin.drain()
        seen = b""
        async with asyncio.timeout(30):
            while b"New request from alice" not in seen or "📣 alice requested".encode() not in seen:
                seen += await process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, stderr.decode()
    assert b"Requested The Matrix (1999)." in seen
    log = stderr.decode()
    assert "event=running console=True front_ends=console" in log
    assert "event=stopped" in log
    async with db.session() as session:
        statuses = (await session.execute(select(OutboxMessage.status))).scalars().all()
    assert statuses == [OutboxStatus.DELIVERED, OutboxStatus.DELIVERED]  # the moderator's, and the announcement


def test_run_without_a_terminal_or_front_end_waits_for_a_signal_and_loses_nothing(idkarr: Idkarr) -> None:
    process = subprocess.Popen(
        [*idkarr_command(), "run"],
        cwd=idkarr.workdir,
        env=idkarr.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        assert process.stderr is not None
        lines = []
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            lines.append(line)
            if "event=running" in line:
                break
        assert "front_ends=none" in lines[-1]
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0
    assert "event=stopped" in rest
