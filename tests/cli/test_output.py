"""What the command prints when its output is not a terminal (a pipe, a file, a CI log), and
what a Ctrl-C during a run leaves behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.cli.test_cli import ECHO, EXE, project

LONG = (
    "an order placed by a returning customer with a voucher is paid and then shipped to "
    "the address on file"
)


def piped(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with stdout and stderr captured (not a terminal) and COLUMNS unset."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run(
        [EXE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "NO_COLOR": "1"},
    )


def test_output_that_is_not_a_terminal_is_not_wrapped(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "long.yaml": ECHO.format(name=LONG, type="OrderPlaced"),
            "fails.yaml": ECHO.format(name=LONG + " (and fails)", type="OrderShipped"),
        },
    )
    done = piped(root, "run", "scenarios")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    table = [line for line in lines if LONG in line and "scenarios/long.yaml" in line]
    assert table, done.stdout  # the summary table's row: the name on one line, with its file
    title = [line for line in lines if f"{LONG} (and fails) — failed" in line]
    assert title, done.stdout  # the failure's title, on one line
    assert max(len(line) for line in lines) < 400, max(lines, key=len)  # no 10,000-wide rule


def test_help_that_is_not_a_terminal_is_not_wrapped(tmp_path: Path) -> None:
    done = piped(tmp_path, "run", "--help")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for sentence in (
        "Run scenario files; exit 0 when all pass, 1 when one fails, 2 when they cannot run.",
        "Show each scenario as it starts and the environment's steps (config: verbose).",
        "Seconds to reach each broker (config: connect_timeout).",
    ):
        assert any(sentence in line for line in text.splitlines()), text
    assert max(len(line) for line in text.splitlines()) < 400  # no 10,000-wide boxes
