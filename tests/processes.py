"""Running `idkarr` itself as a subprocess, as a person or a service manager would: for the end-to-end tests
and the benchmarks that measure the real program."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

__all__ = ["idkarr_command", "idkarr_running"]


def idkarr_command() -> list[str]:
    beside = Path(sys.executable).with_name("idkarr")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "bots.cli"]


@asynccontextmanager
async def idkarr_running(
    workdir: Path, env: Mapping[str, str], *, front_ends: str, secrets: tuple[str, ...] = ()
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`idkarr run` until the block ends (then SIGTERM), yielded once its log says it runs `front_ends`.
    It must stop cleanly (or have been killed by the test), without a traceback or any of `secrets` in its log."""
    process = await asyncio.create_subprocess_exec(
        *idkarr_command(),
        "run",
        cwd=workdir,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(60):
            while b"event=running" not in (line := await process.stderr.readline()):
                assert line, "idkarr run ended before it ran"
        assert f"front_ends={front_ends}".encode() in line, line
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode in (0, -signal.SIGKILL), rest.decode()
        assert b"Traceback" not in rest, rest.decode()
        for secret in secrets:
            assert secret.encode() not in rest, "a secret appeared in the log"
