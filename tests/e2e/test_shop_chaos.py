"""scenarios/shop-chaos through the CLI, on the real thing: its own embedded Kafka and the
example shop's payments behind the environment's proxy, cut from Kafka for 5 s while orders
keep coming.

* On the correct shop every order is paid exactly once after the lift: exit 0, and the
  timeline shows the cut applied and lifted.
* With SHOP_FAULT=commit-early (payments auto-commits what it reads and gives up payments it
  cannot send) the run exits 1 with the recovery failing, naming the lost orders — exactly
  the ones payments logged as lost.

The two runs go at once, each with its own state folder (its own Kafka and payments)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "eventharness")


def start(tmp_path: Path, name: str, fault: str = "") -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "SHOP_FAULT"}
    return subprocess.Popen(
        [
            EXE,
            "run",
            "scenarios/shop-chaos",
            "--state-dir",
            str(tmp_path / name),
            "--report-json",
            str(tmp_path / f"{name}.json"),
        ],
        cwd=REPO,
        env={**env, "NO_COLOR": "1", "COLUMNS": "200", **({"SHOP_FAULT": fault} if fault else {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_payments_recover_from_a_cut_and_commit_early_loses_orders(
    tmp_path: Path, kafka_url: str
) -> None:
    correct = start(tmp_path, "correct")
    faulty = start(tmp_path, "faulty", "commit-early")
    correct_out = correct.communicate(timeout=240)[0]
    faulty_out = faulty.communicate(timeout=240)[0]

    assert correct.returncode == 0, correct_out
    (passed,) = json.loads((tmp_path / "correct.json").read_text())["scenarios"]
    assert passed["status"] == "passed"
    assert [n["text"] for n in passed["notes"]] == [
        "network fault applied: cut on payments→kafka for 5s",
        "network fault lifted: cut on payments→kafka",
    ]
    applied, lifted = (n["t"] for n in passed["notes"])
    assert lifted - applied >= 4.999  # 5 s (the report rounds t to ms)
    sent = [e for e in passed["events"] if e["direction"] == "out"]
    paid = [e for e in passed["events"] if e["direction"] == "in"]
    assert len(sent) == 14 and sorted(e["key"] for e in paid) == sorted(e["key"] for e in sent)
    assert any(e["t"] > lifted for e in paid)  # some were paid only once the cut was lifted

    assert faulty.returncode == 1, faulty_out
    (failed,) = json.loads((tmp_path / "faulty.json").read_text())["scenarios"]
    (failure,) = failed["failures"]
    assert failure["kind"] == "timeout"
    assert "recovery after cut on payments→kafka" in failure["message"]
    named = set(re.findall(r"o-[0-9a-f]{32}-a\d", failure["message"].split("lost: ")[1]))
    log = (tmp_path / "faulty" / "logs" / "payments.log").read_text()
    logged = set(re.findall(r"order (o-[0-9a-f]{32}-a\d) lost", log))
    assert named and named == logged, (failure["message"], logged)
    assert "never completed — lost:" in faulty_out  # the terminal names them too
