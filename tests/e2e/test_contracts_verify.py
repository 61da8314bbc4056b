"""``eventharness contracts verify`` against the example shop on the real thing: embedded Kafka,
the local RabbitMQ and the services as their own processes, started by the default profile.

* the shop's pacts (orders-view ← shipping on RabbitMQ, shipping ← payments on Kafka) verify:
  exit 0, every interaction ✓, no process left behind;
* with ``SHOP_FAULT=bad-schema`` (payments sends ``amount`` as a string) it exits 1 naming the
  interaction and the field ``$.amount`` with the rule, the actual value and the timeline, while
  the shipping interaction still verifies.

The two runs go at once, each with its own environment (its own Kafka, services and names).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.amqp, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "eventharness")
COMMAND = [
    EXE,
    "contracts",
    "verify",
    "examples/shop/contracts/pacts",
    "--providers",
    "examples/shop/contracts/providers",
]


def _alive(mark: str) -> list[str]:
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


def test_verify_the_shop_passes_and_a_bad_schema_fails_naming_the_field(
    tmp_path: Path, amqp_url: str
) -> None:
    mark = uuid.uuid4().hex
    runs = {}
    for name, fault in (("good", ""), ("bad", "bad-schema")):
        env = {**os.environ, "EH_TEST_MARK": mark, "NO_COLOR": "1", "COLUMNS": "160"}
        env["SHOP_FAULT"] = fault
        runs[name] = subprocess.Popen(
            [*COMMAND, "--state-dir", str(tmp_path / name)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    out = {name: proc.communicate(timeout=240)[0] for name, proc in runs.items()}
    good, bad = runs["good"], runs["bad"]
    assert good.returncode == 0, out["good"]
    assert "✓ orders-view ← shipping: 'a shipment is scheduled'" in out["good"]
    assert "✓ shipping ← payments: 'a payment is authorized'" in out["good"]
    assert "2 interaction(s): 2 verified" in out["good"]

    assert bad.returncode == 1, out["bad"]
    assert "✗ shipping ← payments: 'a payment is authorized'" in out["bad"]
    assert '$.amount: expected number (example 42), got "42"' in out["bad"]
    assert "← kafka:payments  PaymentAuthorized" in out["bad"]  # the timeline
    assert "✓ orders-view ← shipping: 'a shipment is scheduled'" in out["bad"]
    assert "2 interaction(s): 1 verified, 1 failed" in out["bad"]
    assert _alive(mark) == []
