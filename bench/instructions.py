"""Instructions per POST /api/v3/requests: bench.api's create load, counted by valgrind's callgrind.

The machines here change speed by a third from one hour to the next and by a quarter from one run to the
next, so timings cannot tell a change of a few percent from the machine's mood. Instructions can: the same
code and load give the same count within 0.1 %, whatever else the machine does. They leave out the kernel's
work (a send on loopback, a wake-up), which the timings in bench.api keep.

Prints `create_instructions_1_client` (creates one after the other: each pays for every round trip alone)
and `create_instructions_20_clients` (what the timings' load does; batching there depends on timing, so
this one moves by about 3 % between runs), in instructions per call.

Needs valgrind, its headers (valgrind/callgrind.h) and a C compiler, to build the switch that counts the
measured creates only; without them it says so and prints nothing else. Takes about three minutes a figure.
`python -m bench.instructions`; IDKARR_BENCH_CREATES sets how many creates are counted (default 200).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.api import run_load, serving_api
from bench.support import report
from core import eventloop

_SWITCH = """
#include <valgrind/callgrind.h>
void counting_on(void) { CALLGRIND_ZERO_STATS; CALLGRIND_TOGGLE_COLLECT; }
void counting_off(void) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_DUMP_STATS; }
"""
_INSIDE = "IDKARR_BENCH_COUNTING_SWITCH"  # set in the run under valgrind: the switch's path


async def _counted(clients: int, creates: int) -> None:
    """Under valgrind: `creates` new films requested by `clients` clients, counted alone."""
    switch = ctypes.CDLL(os.environ[_INSIDE])
    async with serving_api() as (port, key, films):
        switch.counting_on()
        result = await run_load(port, key, "create", 3600.0, clients, films[:creates])
        switch.counting_off()
    if result["count"] != creates or result["errors"]:
        raise SystemExit(f"{result['count']} creates of {creates}, {result['errors']} refused")


def _instructions_per_call(directory: Path, clients: int, creates: int) -> float:
    out = directory / f"counted-{clients}"
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            f"--callgrind-out-file={out}.%p",
            sys.executable,
            "-m",
            "bench.instructions",
            "--counted",
            str(clients),
            str(creates),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The dump made at counting_off(): callgrind writes it as a part file beside the final one.
    for dump in sorted(directory.glob(f"counted-{clients}.*.*")):
        totals = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(errors="replace"), re.MULTILINE)
        if totals:
            return int(totals.group(1)) / creates
    raise RuntimeError("callgrind wrote no count for the measured creates")


def main() -> None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not shutil.which("valgrind") or not compiler or not Path("/usr/include/valgrind/callgrind.h").exists():
        print("bench.instructions needs valgrind, its headers and a C compiler; nothing was counted", flush=True)
        return
    creates = int(os.environ.get("IDKARR_BENCH_CREATES", "200"))
    with tempfile.TemporaryDirectory(prefix="idkarr-bench-instructions-") as temporary:
        directory = Path(temporary)
        (directory / "switch.c").write_text(_SWITCH)
        library = directory / "switch.so"
        subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-o", library, directory / "switch.c"], check=True)
        os.environ[_INSIDE] = str(library)
        for clients in (1, 20):
            per_call = _instructions_per_call(directory, clients, creates)
            report(f"create_instructions_{clients}_client{'s' if clients > 1 else ''}", per_call, "per call")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--counted"]:
        eventloop.run(_counted(int(sys.argv[2]), int(sys.argv[3])))
    else:
        main()
