"""Start-up: how long a user waits before eventharness does anything.

Each command is run as a whole process (median of N runs, after one warm-up run that writes
the bytecode cache, as an installed package has), beside ``python -c pass`` — the floor, a
bare interpreter start — in the same run:

- ``eventharness --help`` (target < 0.3 s),
- ``eventharness validate scenarios/`` (target < 0.6 s),
- ``python -c "import eventharness"`` (target < 0.15 s).

``PYTHONDONTWRITEBYTECODE`` is removed from the children's environment: without a bytecode
cache every run compiles the package again, which is not what a user's install does.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.common import Context, Row, now

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _command(args: list[str]) -> list[str]:
    if args[0] == "eventharness":
        return [str(BIN / "eventharness"), *args[1:]]
    return [sys.executable, *args[1:]]


def _median_s(args: list[str], runs: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cmd = _command(args)
    subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=True, timeout=60)
    times = []
    for _ in range(runs):
        start = now()
        subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=True, timeout=60)
        times.append(now() - start)
    return statistics.median(times)


CASES = [
    ("start-up: eventharness --help", ["eventharness", "--help"], 0.3),
    ("start-up: validate scenarios/", ["eventharness", "validate", "scenarios/"], 0.6),
    ("start-up: import eventharness", ["python", "-c", "import eventharness"], 0.15),
]


async def run(ctx: Context) -> list[Row]:
    runs = 3 if ctx.quick else 10
    floor = _median_s(["python", "-c", "pass"], runs)
    rows = []
    for name, args, target in CASES:
        took = _median_s(args, runs)
        rows.append(
            Row(
                name=name,
                harness=took,
                unit="s",
                baseline=floor,
                baseline_unit="s (python -c pass)",
                ratio=took / floor,
                measure=took,
                target=target,
                target_unit="s",
                sense="<=",
                notes={"runs": runs, "median_s": took, "floor_s": floor},
            )
        )
    return rows
