"""A console conversation: lines in, rendered replies out, interactive or piped.

Commands are typed as in the bots; a bare number presses a button of the last reply; `/as NAME` switches
to another user (whoever has the terminal is the operator). End of input ends the session.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TextIO

from bots.console.render import render
from bots.conversation.catalog import Messages
from bots.conversation.context import Actor
from bots.conversation.conversation import CONSOLE, MAX_MESSAGE, Conversation, clean
from bots.conversation.replies import Button, Reply
from core.errors import DomainError

__all__ = ["ConsoleSession", "stdin_lines"]

# Lines longer than this are read in full and refused; reading no further keeps memory bounded.
_READ_LIMIT = 1_000_000


async def stdin_lines() -> AsyncIterator[str]:
    """Standard input line by line without blocking the event loop (pipes, terminals and files alike)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_READ_LIMIT)
    if not _watchable(sys.stdin):
        # A regular file or /dev/null cannot be watched by the loop (uvloop aborts the process on them):
        # read it from a thread instead.
        while line := await asyncio.to_thread(sys.stdin.readline, _READ_LIMIT):
            yield line if len(line) < _READ_LIMIT else "x" * (MAX_MESSAGE + 1)
        return
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        try:
            raw = await reader.readline()
        except ValueError:  # a line past the read limit: drop it and go on
            await reader.read(_READ_LIMIT)
            yield "x" * (MAX_MESSAGE + 1)
            continue
        if not raw:
            return
        yield raw.decode("utf-8", errors="replace")


def _watchable(stream: TextIO) -> bool:
    """Whether the event loop can watch `stream`: a pipe, a socket or a terminal, not a file or a device."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stream.isatty()


class ConsoleSession:
    def __init__(
        self,
        conversation: Conversation,
        actor: Actor,
        out: TextIO,
        *,
        after_each: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._conversation = conversation
        self._actor = actor
        self._out = out
        self._buttons: list[Button] = []
        # The question the last reply asked: the next line that is not a command answers it.
        self._question: str | None = None
        # The chat command delivers notifications after each line so they print in order with the replies.
        self._after_each = after_each

    @property
    def _t(self) -> Messages:
        return Messages(self._actor.language)

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    async def run(self, lines: AsyncIterator[str]) -> None:
        self._print(self._t("console.welcome", username=self._actor.username))
        async for line in lines:
            if clean(line) in ("/quit", "/exit"):
                break
            reply = await self.handle(line.rstrip("\n"))
            if reply is not None:
                self._print(render(reply))
                if reply.question is not None:
                    self._print(self._t("console.question"))
            if self._after_each is not None:
                await self._after_each()

    async def handle(self, line: str) -> Reply | None:
        reply = await self._handle(line)
        if reply is not None:
            # A number refers to the buttons of the last reply only, and a question waits one line.
            self._buttons = reply.all_buttons()
            self._question = reply.question.key if reply.question is not None else None
        return reply

    async def _handle(self, line: str) -> Reply | None:
        text = clean(line) if len(line) <= MAX_MESSAGE else line
        question, self._question = self._question, None
        if question is not None and not text.startswith("/"):
            return await self._conversation.answer(question, line, place=CONSOLE, actor=self._actor)
        if text.isdigit() and len(text) <= 3:
            index = int(text) - 1
            if not 0 <= index < len(self._buttons):
                return Reply(text=self._t("console.no_button", number=text), error=True)
            return await self._conversation.press(self._buttons[index].token, place=CONSOLE, actor=self._actor)
        if text.startswith("/as ") or text == "/as":
            name = text[3:].strip()
            try:
                self._actor = await self._conversation.actor_named(name or "?")
            except DomainError as error:
                return Reply(text=self._t.refusal(error), error=True)
            self._buttons = []
            return Reply(text=self._t("console.switched", username=self._actor.username))
        reply = await self._conversation.say(line, place=CONSOLE, actor=self._actor)
        if text.startswith("/settings"):
            # The terminal keeps its speaker between lines; a chat platform identifies them afresh each time.
            self._actor = await self._conversation.actor_named(self._actor.username)
        return reply
