"""The demo suite runs with no broker at all: every service is a stub on the memory broker,
the passing scenarios pass, and each failure kind has a scenario that fails with it
(the error one times out too: its broken stub never answers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from eventharness.model.result import FAILURE_KINDS

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "scenarios" / "demo"
CLI = str(Path(sys.executable).parent / "eventharness")  # the installed console script

# Each deliberately failing scenario's failures, exactly (kind, step). A stub that breaks
# sends nothing, so the step waiting for its answer times out as well.
XFAIL_FAILURES = {
    "10_xfail_timeout.yaml": [("timeout", "pay")],
    "11_xfail_schema.yaml": [("schema", "pay")],
    "12_xfail_ordering.yaml": [("ordering", "pay per-key order")],
    "13_xfail_unexpected.yaml": [("unexpected", "no PaymentDeclined")],
    "14_xfail_duplicate.yaml": [("duplicate", "ship")],
    "15_xfail_consistency.yaml": [("consistency", "amounts agree")],
    "16_xfail_error.yaml": [("timeout", "ship"), ("error", "stub shipping")],
}


def test_the_demo_suite_passes_with_no_broker(tmp_path: Path) -> None:
    report = tmp_path / "demo.json"
    env = {**os.environ, "EH_AMQP_URL": "amqp://nobody@127.0.0.1:1/"}  # no broker is used
    done = subprocess.run(
        [
            CLI,
            "run",
            "scenarios/demo",
            "--config",
            "scenarios/demo/eventharness.toml",
            "--report-json",
            str(report),
            "--state-dir",
            str(tmp_path / "state"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "brokers: kafka=memory://demo, rabbit=memory://demo" in done.stdout
    data = json.loads(report.read_text())
    scenarios = {Path(s["file"]).name: s for s in data["scenarios"]}
    assert len(scenarios) == len(list(DEMO.glob("*.yaml")))
    expected = {s["xfail"]["kind"] for s in scenarios.values() if "xfail" in s}
    # one deliberately failing scenario per kind, but 'trace': it is judged on the spans that
    # services export, and the demo's stubs export none (tests/tracing fails it on real spans)
    assert expected == set(FAILURE_KINDS) - {"trace"}
    for name, s in scenarios.items():
        if "xfail" in s:
            assert s["xfail"]["outcome"] == "xfailed", (name, s["failures"])
        failures = [(f["kind"], f["step"]) for f in s["failures"]]
        assert failures == XFAIL_FAILURES.get(name, []), (name, s["failures"])
    # the stubs' sends are on the timeline, next to what the scenario collected
    # (another scenario of the run watches rabbit:demo.shipping/#: the shared collector gives
    # this scenario its shipment from that subscription too)
    ships = [
        e
        for e in scenarios["01_order_ships.yaml"]["events"]
        if e["channel"] != "rabbit:demo.shipping/#"
    ]
    assert [(e["direction"], e["channel"], e["type"]) for e in ships] == [
        ("out", "kafka:demo.orders", "OrderPlaced"),
        ("out", "kafka:demo.payments", "PaymentAuthorized"),
        ("in", "kafka:demo.payments", "PaymentAuthorized"),
        ("out", "rabbit:demo.shipping/shipment.scheduled", "ShipmentScheduled"),
        ("in", "rabbit:demo.shipping/shipment.*", "ShipmentScheduled"),
    ]


def test_a_demo_stub_mistake_is_reported_with_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = (DEMO / "10_xfail_timeout.yaml").read_text()
    broken.write_text(
        text.replace("{drop: {nth: 1}}", "{drop: {nht: 1}}").replace(
            "consume: kafka:demo.orders", "consume: kafak:demo.orders"
        )
    )
    done = subprocess.run(
        [CLI, "validate", str(broken), "--config", "scenarios/demo/eventharness.toml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if str(broken) in line]
    faults_line = next(n for n, line in enumerate(text.splitlines(), 1) if "faults:" in line)
    consume_line = next(n for n, line in enumerate(text.splitlines(), 1) if "consume:" in line)
    assert any(
        f"{broken}:{faults_line}: stub 'payments': faults[0]: drop has no option 'nht'" in line
        for line in lines
    ), done.stderr
    assert any(
        f"{broken}:{consume_line}: stub 'payments': channel 'kafak:demo.orders' uses "
        "broker 'kafak', which is not configured" in line
        for line in lines
    ), done.stderr


def test_verbose_shows_an_expected_failure_in_detail_and_counts_it_apart(tmp_path: Path) -> None:
    """The README's "one of them, in detail": -v shows the xfail's failure and timeline, and
    the summary counts it as xfailed, not passed."""
    done = subprocess.run(
        [
            CLI,
            "run",
            "scenarios/demo/14_xfail_duplicate.yaml",
            "-v",
            "--state-dir",
            str(tmp_path / "state"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "✗ [duplicate]" in out and "delivered twice" in out  # the failure itself
    assert "xfailed (expected duplicate)" in out  # its title, not cut at 80 columns
    assert "→ kafka:demo.orders" in out  # and the timeline it happened in
    assert out.rstrip().splitlines()[-1].startswith("0 passed, 1 xfailed, 0 failed, 0 errors")
    quiet = subprocess.run(
        [CLI, "run", "scenarios/demo", "--state-dir", str(tmp_path / "state")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "delivered twice" not in quiet.stdout  # without -v an xfail stays one line
    xfails = len(list(DEMO.glob("*_xfail_*.yaml")))
    passes = len(list(DEMO.glob("*.yaml"))) - xfails
    assert (
        quiet.stdout.rstrip()
        .splitlines()[-1]
        .startswith(f"{passes} passed, {xfails} xfailed, 0 failed, 0 errors")
    )
