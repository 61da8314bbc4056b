"""The FastStream shop (examples/faststream_shop: payments and shipping written with
FastStream's decorators, each its own process started by the folder's profile) through the
CLI on the embedded Kafka and the local RabbitMQ: its scenario passes with no correlation
settings, and with the service dropping the correlation (``FAULT=drop-correlation``) it fails
with the nearest miss naming the business-key rule that would claim the payment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.amqp, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "eventharness")
SCENARIOS = "examples/faststream_shop/scenarios"


def run(tmp_path: Path, fault: str = "") -> tuple[subprocess.CompletedProcess[str], dict]:
    report = tmp_path / f"report{fault}.json"
    done = subprocess.run(
        [EXE, "run", SCENARIOS, "--report-json", str(report)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "FASTSTREAM_SHOP_FAULT": fault, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done, json.loads(report.read_text())


def test_the_faststream_shop_passes_with_no_correlation_settings(
    tmp_path: Path, amqp_url: str
) -> None:
    done, report = run(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    [scenario] = report["scenarios"]
    assert scenario["status"] == "passed"
    received = {ev["channel"].split(":")[0] for ev in scenario["events"] if ev["direction"] == "in"}
    assert received == {"kafka", "rabbit"}  # both hops were collected, each by correlation id


def test_a_dropped_correlation_fails_naming_the_rule_that_would_claim_it(
    tmp_path: Path, amqp_url: str
) -> None:
    done, report = run(tmp_path, "drop-correlation")
    assert done.returncode == 1, done.stdout + done.stderr
    [scenario] = report["scenarios"]
    assert [(f["kind"], f["step"]) for f in scenario["failures"]] == [("timeout", "pay")]
    assert "claim such events by it with the rule  correlation: {kafka:" in done.stdout
    assert "-payments: value.order_id}" in done.stdout
