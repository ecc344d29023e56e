"""`idkarr run`: the console, the dispatcher and the scheduler in one process, stopped cleanly by signals."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import select as select_module
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from sqlalchemy import select

from bots.conversation.conversation import Conversation
from bots.run import serve
from core.config import Settings
from core.db.models import OutboxMessage
from core.db.session import Database
from core.enums import ContentType, OutboxStatus, UserRole
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.services import requests
from core.services.dispatcher import Delivery, FrontEnd
from core.services.users import add_user

from .conftest import Idkarr
from .processes import idkarr_command


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


class Board:
    """A front end that is no terminal (as a chat bot is): it records what it is given to deliver."""

    name = "board"

    def __init__(self) -> None:
        self.delivered: list[Delivery] = []
        self.entered, self.all_three = asyncio.Event(), asyncio.Event()
        self.left = False

    async def deliver(self, delivery: Delivery) -> bool:
        self.delivered.append(delivery)
        if len(self.delivered) == 3:  # the notices to mod and the bootstrap admin, and the announcement
            self.all_three.set()
        return True


async def test_a_front_end_without_a_terminal_is_started_delivered_through_and_stopped(
    db: Database, redis_url: str, redis_client: aioredis.Redis
) -> None:
    board = Board()

    @asynccontextmanager
    async def running(conversation: Conversation, stop: asyncio.Event) -> AsyncIterator[FrontEnd | None]:
        board.entered.set()
        try:
            yield board
        finally:
            board.left = True

    settings = Settings.model_validate(
        {"database": {"url": db.url.libpq}, "redis": {"url": redis_url}, "scheduler": {"expiry_check_seconds": 3600}}
    )
    stop = asyncio.Event()
    served = asyncio.create_task(serve(settings, console=False, starters=[running], stop=stop))
    try:
        async with asyncio.timeout(20):
            await board.entered.wait()
            alice = await add_user(db, "alice", UserRole.USER)
            await add_user(db, "mod", UserRole.MODERATOR)
            details = await OfflineCatalog().details(ContentType.MOVIE, ExternalIds(tmdb_id=603))
            await requests.create(db, details, actor_id=alice.id)
            await board.all_three.wait()
    finally:
        stop.set()
        await asyncio.wait_for(served, timeout=20)
    events = sorted(delivery.event for delivery in board.delivered)
    assert events == ["request_created", "request_pending", "request_pending"]
    assert board.left


def test_the_interactive_console_is_not_torn_by_routine_log_lines(idkarr: Idkarr) -> None:
    """In a terminal, `idkarr run` opens the console; the scheduler's and the runtime's info lines would
    print between a person's lines. Warnings still show."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*idkarr_command(), "run"],
        cwd=idkarr.workdir,
        env=idkarr.env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
    )
    os.close(terminal)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        os.write(controller, b"/quota\n")
        while b"You have no limits." not in seen and time.monotonic() < deadline:
            ready, _, _ = select_module.select([controller], [], [], 1.0)
            if ready:
                seen += os.read(controller, 65536)
        os.write(controller, b"/quit\n")
        process.wait(timeout=30)
        with contextlib.suppress(OSError):  # the terminal closes with the process
            while chunk := os.read(controller, 65536):
                seen += chunk
    finally:
        if process.returncode is None:
            process.kill()
        os.close(controller)
    text = seen.decode(errors="replace")
    assert "You have no limits." in text
    assert process.returncode == 0
    assert "level=info" not in text, text
