"""The property-based shop scenario (scenarios/shop-data) through the CLI on the real thing:
embedded Kafka, the local RabbitMQ and the example services, started by the default profile.

50 generated orders pass on the correct shop; started with FAULT=big-total (only orders of
total >= 1000 break) the run fails and shrinks to the boundary order, total 1000, within its
budget; the same --seed replays the same minimal order."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.amqp]

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "eventharness")
MINIMAL = re.compile(r"fails with the minimal example (\{.*?\}\}) \(")


def run(tmp_path: Path, name: str, amqp_url: str, **env: str) -> tuple[int, dict, str]:
    out = tmp_path / f"{name}.json"
    done = subprocess.run(
        [
            EXE,
            "run",
            "scenarios/shop-data",
            "--seed",
            "11",
            "--report-json",
            str(out),
            "--state-dir",
            str(tmp_path / name),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=400,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **env},
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done.returncode, json.loads(out.read_text()), done.stdout


def test_fifty_orders_pass_and_the_fault_shrinks_to_the_boundary(
    tmp_path: Path, amqp_url: str
) -> None:
    code, _, output = run(tmp_path, "correct", amqp_url, SHOP_FAULT="")
    assert code == 0, output
    code, data, output = run(tmp_path, "faulty", amqp_url, SHOP_FAULT="big-total")
    assert code == 1, output
    (scenario,) = data["scenarios"]
    first = scenario["failures"][0]
    assert first["step"] == "examples" and first["kind"] == "consistency", first
    minimal = json.loads(MINIMAL.search(first["message"]).group(1))  # type: ignore[union-attr]
    assert minimal["order"]["total"] == 1000, first["message"]
    assert "replay: --seed 11" in first["message"]
    assert "stopped early" not in first["message"]  # found within max_shrinks and shrink_time
    code, again, _ = run(tmp_path, "replay", amqp_url, SHOP_FAULT="big-total")
    assert code == 1
    assert again["scenarios"][0]["failures"][0]["message"] == first["message"]
