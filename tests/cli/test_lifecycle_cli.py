"""Setup/teardown through the CLI: bad actions exit 2 with file:line before anything runs, and
a Ctrl-C'd run still tears down (the interrupted report is written, the rows are gone)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.cli.test_cli import EXE, cli, no_traceback

CONFIG = """\
[profiles.default]
brokers = { kafka = "memory://lifecycle" }
within = "2s"
vars = { table = "customers" }
"""


def project(tmp_path: Path, scenario: str) -> Path:
    (tmp_path / "eventharness.toml").write_text(CONFIG)
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "s.yaml").write_text(textwrap.dedent(scenario))
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TABLE customers (id TEXT)")
    return tmp_path


def rows(root: Path) -> list[str]:
    with sqlite3.connect(root / "shop.db") as db:
        return [r[0] for r in db.execute("SELECT id FROM customers ORDER BY id")]


@pytest.mark.parametrize(
    ("setup", "line", "message"),
    [
        (
            '- sql: {url: "mysql://db/shop", run: "DELETE FROM t"}',
            3,
            "setup.sql: database URL 'mysql://db/shop': scheme 'mysql' is not supported; use "
            "sqlite:///path/to/file.db or postgresql://user@host:5432/db",
        ),
        (
            '- command: {run: "true"}',
            3,
            "unknown action 'command'; a setup/teardown action is one of sql, http, publish",
        ),
        ("- {}", 3, "an empty action: give one of sql, http, publish"),
        ("- http: {json: {a: 1}}", 3, "setup.http: give the method and the URL"),
        ('- sql: {url: "sqlite:///shop.db"}', 3, "sql: missing 'run'"),
        ('- publish: {channel: "nobroker:x", value: 1}', 3, "setup.publish: "),
        ('- sql: {url: "sqlite:///x.db", run: "${nope}"}', 3, "undefined variable ${nope}"),
    ],
)
def test_bad_actions_exit_2_with_file_and_line(
    tmp_path: Path, setup: str, line: int, message: str
) -> None:
    root = project(
        tmp_path,
        f"""\
        name: bad setup
        setup:
          {setup}
        steps:
          - publish: {{channel: kafka:orders, value: {{type: OrderPlaced}}}}
        """,
    )
    done = cli(root, "run", "scenarios")
    no_traceback(done)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"scenarios/s.yaml:{line}: " in done.stderr, done.stderr
    assert message in done.stderr, done.stderr


HANGS = """\
name: waits with rows in place
setup:
  - sql: {url: "sqlite:///shop.db", run: "INSERT INTO ${vars.table} VALUES ('${run.id}')"}
teardown:
  - sql: {url: "sqlite:///shop.db", run: "DELETE FROM customers WHERE id = '${run.id}'"}
steps:
  - expect: {channel: kafka:orders, type: Never, within: 120s}
  - publish: {channel: kafka:orders, value: {type: OrderPlaced}}
"""


def test_ctrl_c_still_tears_down(tmp_path: Path) -> None:
    root = project(tmp_path, HANGS)
    process = subprocess.Popen(
        [EXE, "run", "scenarios", "--report-json", "r.json"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while not rows(root):  # the setup ran: the scenario is under way
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "setup did not insert its row within 60 s"
            time.sleep(0.1)
        (run_id,) = rows(root)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err
    assert "interrupted: 0 of 1 scenarios finished; reports written" in err
    assert rows(root) == []  # teardown ran on the interrupt path
    report = json.loads((root / "r.json").read_text())
    assert report["scenarios"][0]["failures"][0]["message"] == "interrupted by Ctrl-C"
    assert len(run_id) == 8


def test_a_failed_teardown_is_reported_beside_a_pass(tmp_path: Path) -> None:
    from junitparser import JUnitXml

    root = project(
        tmp_path,
        """\
        name: passes, then its teardown fails
        teardown:
          - sql: {url: "sqlite:///shop.db", run: "DELETE FROM no_such_table"}
        steps:
          - publish: {channel: kafka:orders, value: {type: OrderPlaced}}
          - expect: {channel: kafka:orders, type: OrderPlaced, within: 2s}
        """,
    )
    done = cli(root, "run", "scenarios", "--report-json", "r.json", "--junit", "j.xml")
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr  # the verdict stands
    assert (
        "teardown failed: teardown scenarios/s.yaml:3 sql 'DELETE FROM no_such_table' on "
        "shop.db: OperationalError: no such table: no_such_table" in done.stdout
    ), done.stdout
    (scenario,) = json.loads((root / "r.json").read_text())["scenarios"]
    assert scenario["status"] == "passed" and scenario["failures"] == []
    assert [t["kind"] for t in scenario["teardown"]] == ["error"]
    (case,) = [case for suite in JUnitXml.fromfile(str(root / "j.xml")) for case in suite]
    assert case.is_passed
    assert "no such table: no_such_table" in (case.system_err or "")
