"""What the command prints when its output is not a terminal (a pipe, a file, a CI log), and
what a Ctrl-C during a run leaves behind."""

from __future__ import annotations

import json
import os
import signal
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


WAITS = """\
name: waits for an event that never comes
steps:
  - expect: {as: never, channel: kafka:orders, type: NeverSent, within: 120s}
"""

SERVICE = """\
import os, pathlib, sys, time
pathlib.Path(sys.argv[1]).write_text(str(os.getpid()))
print("sleeper ready", flush=True)
time.sleep(600)
"""


def test_ctrl_c_writes_the_reports_stops_what_it_started_and_exits_130(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {"a.yaml": ECHO.format(name="finishes first", type="OrderPlaced"), "b.yaml": WAITS},
    )
    pid_file = tmp_path / "sleeper.pid"
    (root / "sleeper.py").write_text(SERVICE)
    with (root / "eventharness.toml").open("a") as config:
        config.write(
            "\n[profiles.default.services.sleeper]\n"
            f'command = ["${{python}}", "sleeper.py", "{pid_file}"]\n'
            'ready = { log = "sleeper ready" }\n'
        )
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    argv = [EXE, "run", "-v", "-j", "1", "--report-json", "r.json", "--junit", "j.xml"]
    with subprocess.Popen(
        argv,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "NO_COLOR": "1"},
    ) as proc:
        try:
            assert proc.stdout is not None
            seen: list[str] = []
            for line in proc.stdout:  # until the waiting scenario has started
                seen.append(line)
                if "… waits for an event that never comes" in line:
                    break
            else:
                raise AssertionError("the scenario never started:\n" + "".join(seen))
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, "".join(seen) + out + err
    assert "Traceback" not in out + err and "Aborted" not in err, err
    assert err.strip().splitlines() == [
        "interrupted: 1 of 2 scenarios finished; reports written"
    ], err
    report = json.loads((root / "r.json").read_text())
    assert report["summary"]["passed"] == 1 and report["summary"]["errors"] == 1
    done, interrupted = report["scenarios"]
    assert (done["name"], done["status"]) == ("finishes first", "passed")
    assert interrupted["name"] == "waits for an event that never comes"
    assert interrupted["status"] == "error"
    assert [(f["kind"], f["message"]) for f in interrupted["failures"]] == [
        ("error", "interrupted by Ctrl-C")
    ]
    assert 'errors="1"' in (root / "j.xml").read_text()
    pid = int(pid_file.read_text())  # the service it started is stopped
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
