"""`idkarr run` and `idkarr chat`: the process that runs the product.

One event loop holds the runtime (database, Redis), the discovery service, the scheduler, the outbox
dispatcher and every front end. SIGINT and SIGTERM set one stop event: the console stops reading, the
dispatcher finishes the batch in hand (anything undelivered stays in the outbox for next time), the
scheduler waits for a running job, and the runtime stops the embedded servers.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from contextlib import suppress
from typing import TextIO

from bots.console.notifier import ConsoleNotifier
from bots.console.session import ConsoleSession, stdin_lines
from bots.conversation.conversation import Conversation
from core.config import Settings
from core.metadata.factory import open_discovery
from core.runtime import open_runtime
from core.scheduler import build_scheduler
from core.services.dispatcher import Dispatcher, FrontEnd

__all__ = ["chat", "serve"]

log = logging.getLogger(__name__)


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


async def serve(settings: Settings, *, console: bool, out: TextIO = sys.stdout) -> None:
    async with open_runtime(settings) as runtime, open_discovery(runtime) as discovery:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        front_ends: list[FrontEnd] = []
        if console:
            front_ends.append(ConsoleNotifier(out))
        for platform, token in (("discord", settings.discord.token), ("telegram", settings.telegram.token)):
            if token is not None:
                log.warning("event=front_end_unavailable platform=%s reason=not_built_yet", platform)
        scheduler = build_scheduler(settings, runtime.database)
        scheduler.start()
        tasks: list[asyncio.Task[None]] = []
        # Without a front end nothing can be delivered: the outbox waits for one rather than failing rows.
        if front_ends:
            dispatcher = Dispatcher(runtime.database, front_ends)
            prefix = settings.redis.key_prefix
            tasks.append(asyncio.create_task(dispatcher.run(stop, redis=runtime.redis, prefix=prefix)))
        console_task: asyncio.Task[None] | None = None
        if console:
            conversation = Conversation(runtime=runtime, discovery=discovery)
            actor = await conversation.actor_named(settings.users.bootstrap_admin)
            console_task = asyncio.create_task(ConsoleSession(conversation, actor, out).run(stdin_lines()))
            console_task.add_done_callback(lambda _: stop.set())  # end of input ends the process
        log.info("event=running console=%s front_ends=%s", console, ",".join(f.name for f in front_ends) or "none")
        await stop.wait()
        log.info("event=stopping")
        if console_task is not None and not console_task.done():
            console_task.cancel()
            with suppress(asyncio.CancelledError):
                await console_task
        await asyncio.gather(*tasks)
        scheduler.shutdown(wait=True)
        log.info("event=stopped")
