"""`idkarr run` with a Discord token, as a subprocess, against the fake Discord: a person links, searches and
requests; the moderators' channel hears of it from the running dispatcher; the process is restarted between
sending buttons and their press, and the press still works. Two processes share one bot: one holds the
gateway, and when it goes the other takes over."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager

from .conftest import Idkarr
from .fake_discord import GUILD, MODERATORS, TOKEN, FakeDiscord
from .fakes import serving
from .processes import idkarr_running

ALICE, MOD = 7001, 7003


def running(idkarr: Idkarr, fake: FakeDiscord) -> AbstractAsyncContextManager[asyncio.subprocess.Process]:
    env = {
        **idkarr.env,
        "IDKARR_DISCORD__TOKEN": TOKEN,
        "IDKARR_DISCORD__API_BASE_URL": fake.api_base_url,
        "IDKARR_DISCORD__GATEWAY_URL": fake.gateway_url,
        "IDKARR_DISCORD__GUILD_IDS": f"[{GUILD}]",
        "IDKARR_DISCORD__MODERATORS_CHANNEL_ID": str(MODERATORS),
    }
    return idkarr_running(idkarr.workdir, env, front_ends="discord", secrets=(TOKEN,))


async def test_run_links_requests_notifies_and_buttons_survive_a_restart(idkarr: Idkarr) -> None:
    assert (await idkarr.run_async("user", "add", "alice")).returncode == 0
    assert (await idkarr.run_async("user", "add", "mod", "--role", "moderator")).returncode == 0
    async with serving(FakeDiscord()) as fake:
        async with running(idkarr, fake):
            await fake.identified()
            code = (await idkarr.run_async("user", "link-code", "alice")).stdout.splitlines()[-1]
            asked = await fake.command(ALICE, "link", {"code": code}, channel=None, person="alice")
            assert (await fake.reply_to(asked)).content == "This account is now linked to alice. Welcome!"
            mod_code = (await idkarr.run_async("user", "link-code", "mod")).stdout.splitlines()[-1]
            asked = await fake.command(MOD, "link", {"code": mod_code}, channel=None, person="mod")
            await fake.reply_to(asked)
            asked = await fake.command(ALICE, "search", {"query": "the matrix"}, person="alice")
            results = await fake.reply_to(asked)
        # Restarted between the buttons and the press.
        async with running(idkarr, fake):
            await fake.identified(2)
            pressed = await fake.press(ALICE, results, "1 · Request", person="alice")
            confirm = await fake.reply_to(pressed)
            assert confirm.content == "Request The Matrix (1999)?"
            await fake.press(ALICE, confirm, "Confirm", person="alice")
            post = await fake.wait_for(lambda p: p.channel_id == MODERATORS, within=30)
            assert post.labels == ["Approve", "Deny"]
            pressed = await fake.press(MOD, post, "Approve", person="mod")
            decided = await fake.reply_to(pressed)
            assert decided.content.startswith("Request #1, The Matrix (1999), approved by mod. (")
            told = await fake.wait_for(
                lambda p: p.channel_id == fake.dm_channel(ALICE) and p.via == "channel", within=30
            )
            assert told.content == "Your request for The Matrix (1999) was approved."
    assert fake.command_puts == 1, "registered once: the second start found them unchanged"
    assert fake.violations == []


async def test_two_processes_one_gateway_and_a_takeover(idkarr: Idkarr) -> None:
    assert (await idkarr.run_async("user", "add", "alice")).returncode == 0
    code = (await idkarr.run_async("user", "link-code", "alice")).stdout.splitlines()[-1]
    async with serving(FakeDiscord()) as fake, running(idkarr, fake) as first:
        await fake.identified()
        async with running(idkarr, fake):
            await asyncio.sleep(1.0)
            assert fake.identifies == 1, "the second process waits: one gateway connection per bot"
            asked = await fake.command(ALICE, "link", {"code": code}, channel=None, person="alice")
            await fake.reply_to(asked)
            await asyncio.sleep(0.3)
            assert len([c for c in fake.callbacks if c.interaction == asked]) == 1, "answered once"
            first.kill()  # no goodbye: its database connection, and with it the lock, simply goes
            await first.wait()
            await fake.identified(2)
            asked = await fake.command(ALICE, "quota", {}, person="alice")
            quota = await fake.reply_to(asked)
            assert "movie" in quota.content


async def test_a_refused_token_stops_idkarr_with_a_message_not_a_traceback(idkarr: Idkarr) -> None:
    async with serving(FakeDiscord()) as fake:
        env = {
            "IDKARR_DISCORD__TOKEN": "wrong.token",
            "IDKARR_DISCORD__API_BASE_URL": fake.api_base_url,
            "IDKARR_DISCORD__GATEWAY_URL": fake.gateway_url,
        }
        done = await idkarr.run_async("run", env=env)
    assert done.returncode == 1
    assert "idkarr: Discord refused the bot token (discord.token, IDKARR_DISCORD__TOKEN)" in done.stderr
    assert "Traceback" not in done.stderr
    assert "wrong.token" not in done.stderr
    assert "Unclosed" not in done.stderr


async def test_discord_out_of_reach_at_start_is_waited_for(idkarr: Idkarr) -> None:
    """idkarr starts while Discord cannot be reached; once it can, the bot logs in and answers."""
    assert (await idkarr.run_async("user", "add", "alice")).returncode == 0
    code = (await idkarr.run_async("user", "link-code", "alice")).stdout.splitlines()[-1]
    fake = FakeDiscord()
    async with serving(fake):
        port = fake.port
    # Nothing listens on `port` now: idkarr starts, and keeps trying.
    env = {
        **idkarr.env,
        "IDKARR_DISCORD__TOKEN": TOKEN,
        "IDKARR_DISCORD__API_BASE_URL": f"http://127.0.0.1:{port}/api/v10",
        "IDKARR_DISCORD__GATEWAY_URL": f"ws://127.0.0.1:{port}/gateway",
    }
    # Entered in order: idkarr is running (and failing to reach Discord) before Discord comes back.
    async with (
        idkarr_running(idkarr.workdir, env, front_ends="discord", secrets=(TOKEN,)),
        serving(FakeDiscord(port=port)) as again,
    ):
        await again.identified(within=30)
        asked = await again.command(ALICE, "link", {"code": code}, channel=None, person="alice")
        assert (await again.reply_to(asked)).content == "This account is now linked to alice. Welcome!"
