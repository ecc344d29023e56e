"""The console end to end: a script piped into the real `idkarr chat`."""

from __future__ import annotations

import os
from pathlib import Path

from .conftest import Idkarr


def _script(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_search_request_approve_and_everyone_hears(idkarr: Idkarr) -> None:
    for name, role in (("alice", "user"), ("bob", "user"), ("mod", "moderator"), ("vera", "viewer")):
        assert idkarr("user", "add", name, "--role", role).returncode == 0
    script = _script(
        "/as alice",
        "/search the matrix",
        "1",  # Request
        "1",  # Confirm
        "/as bob",
        "/search the matrix",
        "1",
        "1",
        "/as vera",
        "/request movie 550",
        "/as mod",
        "/requests pending",
        "1",  # Approve
        "/activity",
    )
    done = idkarr("chat", input=script)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "── The Matrix  (1999 · movie · ★ 8.2)  · tmdb:603" in out
    assert "[1] Request  [2] Add to watchlist  [3] More like this" in out
    assert "Request The Matrix (1999)?\n[1] Confirm  [2] Cancel" in out
    assert "Requested The Matrix (1999). A moderator will look at it." in out
    assert "🔔 @mod: New request from alice: The Matrix (1999)." in out
    assert "[Requested by 1]" in out
    assert "you now follow request #1" in out
    assert "! Sorry: vera (viewer) may not request movies." in out
    assert "Request #1, The Matrix (1999), approved by mod." in out
    assert "🔔 @alice: Your request for The Matrix (1999) was approved." in out
    assert "🔔 @bob: Your request for The Matrix (1999) was approved." in out
    assert "request approved · mod: The Matrix" in out
    assert out.count("🔔 @alice: Your request for The Matrix (1999) was approved.") == 1
    # Announcements: the activity, told once to everyone at the terminal.
    assert out.count("📣 alice requested The Matrix (1999, movie).") == 1
    assert out.count("📣 The Matrix (1999) was approved by mod, requested by alice.") == 1
    assert "📣" not in out.split("you now follow request #1")[1].split("approved by mod.")[0]


def test_garbage_gets_a_help_line_and_nothing_breaks(idkarr: Idkarr) -> None:
    script = _script(
        "/frobnicate",
        "hello there",
        "\x01\x02\x1b[31m",
        "y" * 10_000,
        "/request",
        "/request movie notanumber",
        "/deny",
        "/approve abc",
        "/as nobody",
        "99",
        "/search " + "€" * 5000,
        "/search the matrix",
    )
    done = idkarr("chat", input=script)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "! I don't know /frobnicate. Send /help to see what I understand." in out
    assert out.count("! Commands start with /. Send /help to see them.") == 2
    assert "! That message is too long (10000 characters; the most is 2000)." in out
    assert "! Sorry: /request needs title. Write it as: /request [movie|series|anime] TITLE [SEASONS]" in out
    assert "! Sorry: nothing is called “notanumber”." in out
    assert "! Sorry: /deny needs id. Write it as: /deny ID [REASON]" in out
    assert "! Sorry: 'abc' is not a number for id." in out
    assert "! Sorry: there is no user named 'nobody'." in out
    assert "! There is no button 99 on the last reply." in out
    assert "── The Matrix" in out, "the session still works after all that"
    assert "Traceback" not in out + done.stderr


def test_deny_asks_for_the_reason_and_the_requester_hears_it(idkarr: Idkarr) -> None:
    assert idkarr("user", "add", "alice").returncode == 0
    script = _script(
        "/as alice",
        "/request series tvdb:81189 1-2",
        "/as admin",
        "/requests pending",
        "2",  # Deny
        "x" * 600,  # too long: asked again
        "We already have it on disc.",
        "/as alice",
        "/requests mine",
    )
    out = idkarr("chat", input=script).stdout
    assert "Why deny request #1 (Breaking Bad)? Answer this message with the reason." in out
    assert "(type your answer on the next line; a command instead drops the question)" in out
    assert "Request #1, Breaking Bad (2008), denied by admin: We already have it on disc." in out
    assert "🔔 @alice: Your request for Breaking Bad (2008) was denied: We already have it on disc." in out
    assert "(#1 · Denied · requested by alice · seasons 1, 2)\n   Reason: We already have it on disc." in out


def test_end_of_input_ends_the_session_cleanly(idkarr: Idkarr) -> None:
    done = idkarr("chat", input="")
    assert done.returncode == 0
    assert done.stdout.startswith("idkarr · you are admin.")


def test_a_language_change_takes_effect_on_the_next_line(idkarr: Idkarr) -> None:
    done = idkarr("chat", input=_script("/settings language es", "/approve 999", "/search the matrix"))
    assert done.returncode == 0, done.stderr
    assert "! Lo siento: no existe el pedido #999." in done.stdout
    assert "Resultados para “the matrix”:" in done.stdout


def test_standard_input_of_any_kind_works_and_its_end_ends_with_status_0(idkarr: Idkarr, tmp_path: Path) -> None:
    # uvloop aborted (status 134) when standard input was a regular file or /dev/null.
    script = tmp_path / "script.txt"
    script.write_text(_script("/quota", "/search the matrix"))
    for command in (["chat"], ["run", "--console"]):
        done = idkarr(*command, stdin_from=script)
        assert done.returncode == 0, (command, done.returncode, done.stderr)
        assert "You have no limits." in done.stdout
        assert "── The Matrix" in done.stdout
        empty = idkarr(*command, stdin_from=Path(os.devnull))
        assert empty.returncode == 0, (command, empty.returncode, empty.stderr)
        assert empty.stdout.startswith("idkarr · you are admin.")
