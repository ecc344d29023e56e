"""`idkarr run` with a Telegram token, as a subprocess, against the fake Bot API: a person links with a deep
link, searches and requests; the moderators hear of it from the running dispatcher; the process is restarted
between sending buttons and their press, and the press still works."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .conftest import Idkarr, idkarr_command
from .fake_telegram import BOT_USERNAME, TOKEN, FakeTelegram
from .fakes import serving

ALICE, MOD = 1001, 2001
MODERATORS = -100500


@asynccontextmanager
async def running(idkarr: Idkarr, fake: FakeTelegram) -> AsyncIterator[None]:
    env = {
        **idkarr.env,
        "IDKARR_TELEGRAM__TOKEN": TOKEN,
        "IDKARR_TELEGRAM__BASE_URL": fake.base_url,
        "IDKARR_TELEGRAM__MODERATORS_CHAT_ID": str(MODERATORS),
        "IDKARR_TELEGRAM__POLL_TIMEOUT": "1",
    }
    process = await asyncio.create_subprocess_exec(
        *idkarr_command(),
        "run",
        cwd=idkarr.workdir,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(60):
            while b"event=running" not in (line := await process.stderr.readline()):
                assert line, "idkarr run ended before it ran"
        assert b"front_ends=telegram" in line
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, rest.decode()
        assert b"Traceback" not in rest
        assert TOKEN.encode() not in rest, "the token never appears in the log"


async def test_run_links_requests_notifies_and_buttons_survive_a_restart(idkarr: Idkarr) -> None:
    assert (await idkarr.run_async("user", "add", "alice")).returncode == 0
    assert (await idkarr.run_async("user", "add", "mod", "--role", "moderator")).returncode == 0
    async with serving(FakeTelegram()) as fake:
        async with running(idkarr, fake):
            printed = (await idkarr.run_async("user", "link-code", "alice")).stdout.splitlines()
            code = printed[-1]
            assert printed[-2] == f"On Telegram, open: https://t.me/{BOT_USERNAME}?start={code}"
            await fake.say(ALICE, f"/start {code}", name="Alice")
            await fake.wait_for(lambda s: s.chat_id == ALICE and "linked to alice" in s.text)
            mod_code = (await idkarr.run_async("user", "link-code", "mod")).stdout.splitlines()[-1]
            await fake.say(MOD, f"/link {mod_code}", name="Mod")
            await fake.wait_for(lambda s: s.chat_id == MOD and "linked to mod" in s.text)
            mark = len(fake.sent)
            await fake.say(ALICE, "/search the matrix")
            results = await fake.wait_for(lambda s: s.chat_id == ALICE and s.text.startswith("Results"), after=mark)
        # Restarted between the buttons and the press.
        async with running(idkarr, fake):
            mark = len(fake.sent)
            await fake.press(ALICE, results, "1 · Request")
            confirm = await fake.wait_for(lambda s: s.chat_id == ALICE and "Request The Matrix" in s.text, after=mark)
            await fake.press(ALICE, confirm, "Confirm")
            # The running dispatcher tells the moderators: a post in their chat, a private message to each.
            posted = await fake.wait_for(lambda s: s.chat_id == MODERATORS, after=mark, within=30)
            assert posted.labels == ["Approve", "Deny"]
            await fake.wait_for(lambda s: s.chat_id == MOD and s.text.startswith("New request from alice"), after=mark)
            await fake.press(MOD, posted, "Approve")
            told = await fake.wait_for(lambda s: s.chat_id == ALICE and "was approved" in s.text, after=mark, within=30)
            assert told.text == "Your request for The Matrix (1999) was approved."
    assert fake.violations == []
