"""`idkarr run` with a Telegram token, as a subprocess, against the fake Bot API: a person links with a deep
link, searches and requests; the moderators hear of it from the running dispatcher; the process is restarted
between sending buttons and their press, and the press still works."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager

from .conftest import Idkarr
from .fake_telegram import BOT_USERNAME, TOKEN, FakeTelegram
from .fakes import serving
from .processes import idkarr_running

ALICE, MOD = 1001, 2001
MODERATORS = -100500


def running(idkarr: Idkarr, fake: FakeTelegram) -> AbstractAsyncContextManager[asyncio.subprocess.Process]:
    env = {
        **idkarr.env,
        "IDKARR_TELEGRAM__TOKEN": TOKEN,
        "IDKARR_TELEGRAM__BASE_URL": fake.base_url,
        "IDKARR_TELEGRAM__MODERATORS_CHAT_ID": str(MODERATORS),
        "IDKARR_TELEGRAM__POLL_TIMEOUT": "1",
    }
    return idkarr_running(idkarr.workdir, env, front_ends="telegram", secrets=(TOKEN,))


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


async def test_a_refused_token_stops_idkarr_with_a_message_not_a_traceback(idkarr: Idkarr) -> None:
    async with serving(FakeTelegram()) as fake:
        env = {"IDKARR_TELEGRAM__TOKEN": "123:wrong", "IDKARR_TELEGRAM__BASE_URL": fake.base_url}
        done = await idkarr.run_async("run", env=env)
    assert done.returncode == 1
    assert "idkarr: Telegram refused the bot token (telegram.token, IDKARR_TELEGRAM__TOKEN)" in done.stderr
    assert "Traceback" not in done.stderr
    assert "123:wrong" not in done.stderr
