"""Start-up: how long a user waits before eventharness does anything.

Each command is run as a whole process (median of N runs, after one warm-up run that writes
the bytecode cache, as an installed package has), beside ``python -c pass`` — the floor, a
bare interpreter start — in the same run:

- ``eventharness --help`` (target < 0.3 s),
- ``eventharness validate scenarios/`` (target < 0.6 s),
- ``python -c "import eventharness"`` (target < 0.15 s);

and the time to first green: ``eventharness run scenarios/shop -v`` (embedded Kafka, the local
RabbitMQ, the example's three services) from the process start to its first scenario result,
beside the part of it that is the environment coming up (the services' start and their Kafka
group joins, which Tansu completes after half the consumers' session timeout) as printed by
the run (target < 5 s; median of 3, 1 in quick mode).

``PYTHONDONTWRITEBYTECODE`` is removed from the children's environment: without a bytecode
cache every run compiles the package again, which is not what a user's install does.
"""

from __future__ import annotations

import os
import re
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
    rows.append(await run_first_green(ctx))
    return rows


def _first_green(runs: int) -> tuple[float, float]:
    """Median seconds to the first scenario result, and of the environment's start."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(NO_COLOR="1", COLUMNS="200")
    firsts, ups = [], []
    for _ in range(runs):
        start = now()
        proc = subprocess.Popen(
            [str(BIN / "eventharness"), "run", "scenarios/shop", "-v"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        first = up = None
        for line in proc.stdout:
            found = re.search(r"environment up in ([0-9.]+)s", line)
            if found:
                up = float(found.group(1))
            if first is None and line.lstrip().startswith(("✓", "✗")):
                first = now() - start
        if proc.wait(timeout=120) != 0 or first is None or up is None:
            raise RuntimeError("eventharness run scenarios/shop did not pass")
        firsts.append(first)
        ups.append(up)
    return statistics.median(firsts), statistics.median(ups)


async def run_first_green(ctx: Context) -> Row:
    runs = 1 if ctx.quick else 3
    first, up = _first_green(runs)
    return Row(
        name="time to first green: run scenarios/shop",
        harness=first,
        unit="s",
        baseline=up,
        baseline_unit="s (environment up)",
        ratio=first / up,
        measure=first,
        target=5.0,
        target_unit="s",
        sense="<=",
        notes={"runs": runs, "first_result_s": first, "environment_up_s": up},
    )
