"""`idkarr run` and `idkarr chat`: the process that runs the product.

One event loop holds the runtime (database, Redis), the discovery service, the scheduler, the outbox
dispatcher and every front end, each owned by one exit stack: what started last stops first. A front end is
an async context manager that runs while it is entered and yields what the dispatcher delivers through; the
dispatcher runs whenever any front end that can deliver runs. SIGINT and SIGTERM set one stop event: the
console stops reading, the dispatcher finishes the batch in hand (anything undelivered stays in the outbox for
next time), the scheduler waits for a running job, and the runtime stops the embedded servers.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, suppress
from typing import TextIO

from bots.console.notifier import ConsoleNotifier
from bots.console.session import ConsoleSession, stdin_lines
from bots.conversation.conversation import Conversation
from bots.http.app import build_app, http_server
from core import eventloop
from core.config import Settings
from core.runtime import open_runtime
from core.scheduler import build_scheduler
from core.secretbox import secret_box
from core.services.discovery_setup import open_discovery
from core.services.dispatcher import Dispatcher, FrontEnd
from core.services.handoff import HandoffWorker
from core.services.webhook_syncs import SyncTrigger

__all__ = ["chat", "console_front_end", "serve"]

log = logging.getLogger(__name__)

# A front end, started: it runs until its context is left, and delivers through what it yields (or not).
Starter = Callable[[Conversation, asyncio.Event], AbstractAsyncContextManager[FrontEnd | None]]


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows event loops have no signal handlers (NotImplementedError), and they can only be installed
        # from the main thread (RuntimeError). There Ctrl-C still ends the process through KeyboardInterrupt;
        # outbox rows are committed before delivery, so nothing is lost either way.
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)


async def chat(settings: Settings, username: str | None, out: TextIO = sys.stdout) -> None:
    """A console conversation; notifications print after each reply, in order."""
    async with open_runtime(settings) as runtime, open_discovery(runtime) as discovery:
        conversation = Conversation(runtime=runtime, discovery=discovery)
        actor = await conversation.actor_named(username or settings.users.bootstrap_admin)
        dispatcher = Dispatcher(runtime.database, [ConsoleNotifier(out)])
        await ConsoleSession(conversation, actor, out, after_each=dispatcher.drain).run(stdin_lines())


def console_front_end(out: TextIO) -> Starter:
    """The terminal: a conversation as the bootstrap admin; its end of input stops the process."""

    @asynccontextmanager
    async def running(conversation: Conversation, stop: asyncio.Event) -> AsyncIterator[FrontEnd | None]:
        actor = await conversation.actor_named(conversation.runtime.settings.users.bootstrap_admin)
        session = asyncio.create_task(ConsoleSession(conversation, actor, out).run(stdin_lines()))
        session.add_done_callback(lambda _: stop.set())
        try:
            yield ConsoleNotifier(out)
        finally:
            session.cancel()
            with suppress(asyncio.CancelledError):
                await session

    return running


# The chat platforms' libraries are imported when a token asks for them: python-telegram-bot and discord.py
# cost memory and start-up time that a console-only idkarr need not pay.
def telegram_starter(settings: Settings) -> Starter:
    def running(conversation: Conversation, stop: asyncio.Event) -> AbstractAsyncContextManager[FrontEnd]:
        from bots.telegram.app import telegram_front_end

        return telegram_front_end(conversation, settings.telegram)

    return running


def discord_starter(settings: Settings) -> Starter:
    def running(conversation: Conversation, stop: asyncio.Event) -> AbstractAsyncContextManager[FrontEnd]:
        from bots.discord.app import discord_front_end

        return discord_front_end(conversation, settings.discord)

    return running


def front_ends_of(settings: Settings, *, console: bool, out: TextIO) -> list[Starter]:
    starters: list[Starter] = []
    if console:
        starters.append(console_front_end(out))
    if settings.telegram.token is not None:
        starters.append(telegram_starter(settings))
    if settings.discord.token is not None:
        starters.append(discord_starter(settings))
    return starters


async def serve(
    settings: Settings,
    *,
    console: bool,
    out: TextIO = sys.stdout,
    starters: list[Starter] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until `stop` is set (by default: until SIGINT or SIGTERM)."""
    if stop is None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
    async with AsyncExitStack() as stack:
        runtime = await stack.enter_async_context(open_runtime(settings))
        discovery = await stack.enter_async_context(open_discovery(runtime))
        conversation = Conversation(runtime=runtime, discovery=discovery)
        delivering: list[FrontEnd] = []
        for start in starters if starters is not None else front_ends_of(settings, console=console, out=out):
            front_end = await stack.enter_async_context(start(conversation, stop))
            if front_end is not None:
                delivering.append(front_end)
        box = secret_box(settings)
        syncs = SyncTrigger(runtime.database, box, settings.sync, discovery)
        stack.push_async_callback(syncs.close)
        app = None
        if settings.api.enabled:
            app = build_app(settings, runtime.database, box, syncs, discovery, runtime.redis)
            await stack.enter_async_context(http_server(app, settings.api))
        # Started once everything else is up, so a front end that cannot start never races a job; stopped
        # first, letting a job in flight finish while the database it uses is still open.
        scheduler = build_scheduler(settings, runtime.database, box=box, discovery=discovery)
        scheduler.start()
        stack.push_async_callback(scheduler.stop)
        if app is not None:  # /healthz reports what this process runs
            app.state.front_ends = [front_end.name for front_end in delivering]
            app.state.scheduler = scheduler
        # Without a front end nothing can be delivered: the outbox waits for one rather than failing rows.
        dispatching: asyncio.Task[None] | None = None
        if delivering:
            dispatcher = Dispatcher(runtime.database, delivering)
            prefix = settings.redis.key_prefix
            dispatching = asyncio.create_task(dispatcher.run(stop, redis=runtime.redis, prefix=prefix))
        handoff = HandoffWorker(runtime.database, box, settings.sync)
        handing_off = asyncio.create_task(handoff.run(stop, redis=runtime.redis, prefix=settings.redis.key_prefix))
        names = ",".join(front_end.name for front_end in delivering) or "none"
        eventloop.started()
        log.info("event=running console=%s front_ends=%s", console, names)
        await stop.wait()
        log.info("event=stopping")
        if dispatching is not None:
            await dispatching  # finishes the batch in hand while the front ends still run
        await handing_off
    log.info("event=stopped")
