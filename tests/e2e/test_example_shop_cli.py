"""The shop scenarios through the CLI, on the real thing: embedded Kafka, the local RabbitMQ and
the example services as their own processes, started by the default profile.

* `eventharness run scenarios/` from clean passes and leaves no process behind;
* each FAULT of the example makes the run exit 1 with exactly the failures it causes, or, where
  those depend on timing, with the kind that names it (the eight runs go at once, each with its
  own environment: its own Kafka, services and names);
* the correct system passes 20 runs in a row against one environment (`up`, 20 times `run
  --no-up`, `down`).

Every process the CLI starts inherits a marker in its environment; afterwards no process may
carry it (read from /proc), so "leaves nothing behind" is checked, not assumed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.amqp]

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "eventharness")
RUNS = 20

# FAULT → (the scenario that must catch it, its failures: (kind, step), the step of an
# `eventually` being "GET" for its probe). A payment that never comes also leaves the shipment
# and the read model behind. Where the consequences depend on timing, only the kind that names
# the fault is required (a str instead of the list).
FAULTS: dict[str, tuple[str, list[tuple[str, str]] | str]] = {
    "reorder": (
        "several orders in flight keep their per-key order",
        [("ordering", "payments per-key order")],
    ),
    "drop": (
        "an order is paid, shipped and shows as shipped",
        [("consistency", "GET"), ("timeout", "pay"), ("timeout", "ship")],
    ),
    "duplicate": ("an order is paid, shipped and shows as shipped", [("duplicate", "ship")]),
    # payments are handled one at a time, 8 s each: whether the late payment (and so the
    # shipment and the read model) still comes within the later windows depends on the queue
    "slow": ("an order is paid, shipped and shows as shipped", "timeout"),
    # which events show the bad schema first (payments, or the shipment built from them)
    # depends on timing
    "bad-schema": ("every event of an order conforms to its schema", "schema"),
    "lost-correlation": ("an order is paid, shipped and shows as shipped", [("timeout", "pay")]),
    "stale-view": (
        "the read model catches up with the events",
        [("consistency", "view shows shipped")],
    ),
    "drop-trace": (
        "an order's trace runs through payments and shipping",
        [("trace", "scenario trace propagated"), ("trace", "shipping sent the shipment")],
    ),
}


def marked(mark: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "EH_TEST_MARK": mark, "NO_COLOR": "1", "COLUMNS": "120", **extra}


def processes_with(mark: str) -> list[str]:
    """Command lines of live processes whose environment carries ``EH_TEST_MARK=mark``."""
    needle = f"EH_TEST_MARK={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


def report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_run_scenarios_from_clean(tmp_path: Path, amqp_url: str) -> None:
    mark = uuid.uuid4().hex
    began = time.monotonic()
    done = subprocess.run(
        [
            EXE,
            "run",
            "scenarios/",
            "--state-dir",
            str(tmp_path / "state"),
            "--report-json",
            str(tmp_path / "r.json"),
            "--junit",
            str(tmp_path / "j.xml"),
        ],
        cwd=REPO,
        env=marked(mark),
        capture_output=True,
        text=True,
        timeout=300,
    )
    took = time.monotonic() - began
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"\n`eventharness run scenarios/` from clean: {took:.1f} s")
    data = report(tmp_path / "r.json")
    shop = [s for s in data["scenarios"] if s["file"].startswith("scenarios/shop/")]
    assert len(shop) == 6 and all(s["status"] == "passed" for s in shop)
    chaos = [s for s in data["scenarios"] if s["file"].startswith("scenarios/shop-chaos/")]
    assert [s["status"] for s in chaos] == ["passed"]  # its own profile: payments behind a proxy
    assert "environment up in" in done.stdout
    assert processes_with(mark) == []


@pytest.mark.timeout(300)
def test_each_fault_fails_with_its_kind(tmp_path: Path, amqp_url: str) -> None:
    mark = uuid.uuid4().hex
    began = time.monotonic()
    runs = {
        fault: subprocess.Popen(
            [
                EXE,
                "run",
                "scenarios/shop",
                "--state-dir",
                str(tmp_path / fault),
                "--report-json",
                str(tmp_path / f"{fault}.json"),
            ],
            cwd=REPO,
            env=marked(mark, SHOP_FAULT=fault, SHOP_SLOW_SECONDS="8"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for fault in FAULTS
    }
    outputs = {fault: proc.communicate(timeout=240)[0] for fault, proc in runs.items()}
    print(f"\n{len(FAULTS)} FAULT runs at once: {time.monotonic() - began:.1f} s")
    for fault, (scenario, expected) in FAULTS.items():
        assert runs[fault].returncode == 1, f"FAULT={fault}:\n{outputs[fault]}"
        found = {s["name"]: s for s in report(tmp_path / f"{fault}.json")["scenarios"]}
        failures = [
            (f["kind"], "GET" if f["step"].startswith("GET ") else f["step"])
            for f in found[scenario]["failures"]
        ]
        assert found[scenario]["status"] == "failed", f"FAULT={fault}:\n{outputs[fault]}"
        if isinstance(expected, str):
            assert expected in [kind for kind, _ in failures], f"FAULT={fault}: {failures}"
        else:
            assert failures == expected, f"FAULT={fault}: {scenario!r} failed with {failures}"
    assert processes_with(mark) == []


@pytest.mark.timeout(600)
def test_correct_system_passes_twenty_runs_in_a_row(tmp_path: Path, amqp_url: str) -> None:
    mark = uuid.uuid4().hex
    state = str(tmp_path / "state")
    up = subprocess.run(
        [EXE, "up", "--state-dir", state],
        cwd=REPO,
        env=marked(mark),
        capture_output=True,
        text=True,
        timeout=180,
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        status = subprocess.run(
            [EXE, "status", "--state-dir", state],
            cwd=REPO,
            env=marked(mark),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0 and status.stdout.count("running") == 5, status.stdout
        times = []
        for i in range(RUNS):
            began = time.monotonic()
            done = subprocess.run(
                [
                    EXE,
                    "run",
                    "scenarios/shop",
                    "--no-up",
                    "--state-dir",
                    state,
                    "--report-json",
                    str(tmp_path / f"r{i}.json"),
                ],
                cwd=REPO,
                env=marked(mark),
                capture_output=True,
                text=True,
                timeout=120,
            )
            times.append(time.monotonic() - began)
            assert done.returncode == 0, f"run {i + 1} of {RUNS}:\n{done.stdout}{done.stderr}"
            assert "using the environment of `eventharness up`" in done.stdout
            assert report(tmp_path / f"r{i}.json")["summary"]["passed"] == 6
        print(
            f"\n{RUNS} runs in a row: {sum(times):.1f} s (each {min(times):.1f}-{max(times):.1f} s)"
        )
    finally:
        down = subprocess.run(
            [EXE, "down", "--state-dir", state],
            cwd=REPO,
            env=marked(mark),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert down.returncode == 0, down.stdout + down.stderr
    assert processes_with(mark) == []
