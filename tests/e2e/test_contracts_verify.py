"""``eventharness contracts verify`` against the example shop on the real thing: embedded Kafka,
the local RabbitMQ and the services as their own processes, started by the default profile.

* the shop's pacts (orders-view ← shipping on RabbitMQ, shipping ← payments on Kafka) verify:
  exit 0, every interaction ✓, no process left behind;
* pacts written by the reference implementation, pact-python's V4 message API (two more
  consumers: ledger of payments, audit of shipping), verify in the same run;
* with ``SHOP_FAULT=bad-schema`` (payments sends ``amount`` as a string) it exits 1 naming the
  interaction and the field ``$.amount`` with the rule, the actual value and the timeline, for
  our pact and pact-python's alike, while the shipping interactions still verify.

The two runs go at once, each with its own environment (its own Kafka, services and names).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import IN_CI

try:
    import pact as pact_python
    import pact.match as match
except ImportError as exc:  # the oracle is part of [dev]: under CI its absence is a failure
    message = f"pact-python is not installed ({exc}): pip install -e '.[dev]'"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)

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


def _written_by_pact_python(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two consumers' pacts, as pact-python's V4 message API writes them."""
    monkeypatch.setenv("PACT_DO_NOT_TRACK", "true")  # pact's core would report usage
    ledger = pact_python.Pact("ledger", "payments").with_specification("V4")
    (
        ledger.upon_receiving("a payment is authorized", "Async")
        .given("an order was placed", order_id="o-5", total=42)
        .with_body(
            {
                "type": "PaymentAuthorized",
                "order_id": match.str("o-5"),
                "amount": match.number(42),
                "payment_id": match.regex("pay-0123456789ab", regex="pay-[0-9a-f]{12}"),
            },
            "application/json",
        )
        .with_metadata({"channel": "kafka:payments"})
    )
    audit = pact_python.Pact("audit", "shipping").with_specification("V4")
    (
        audit.upon_receiving("a shipment is scheduled", "Async")
        .given("a payment was authorized", order_id="o-6", amount=42)
        .with_body(
            {
                "type": "ShipmentScheduled",
                "order_id": match.str("o-6"),
                "shipment_id": match.regex("shp-0123456789ab", regex="shp-[0-9a-f]{12}"),
            },
            "application/json",
        )
        .with_metadata({"channel": "rabbit:shipping/shipment.scheduled"})
    )
    for pact in (ledger, audit):
        pact.write_file(directory, overwrite=True)
    return directory


def test_verify_the_shop_passes_and_a_bad_schema_fails_naming_the_field(
    tmp_path: Path, amqp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = _written_by_pact_python(tmp_path / "pact-python", monkeypatch)
    mark = uuid.uuid4().hex
    runs = {}
    for name, fault in (("good", ""), ("bad", "bad-schema")):
        env = {**os.environ, "EH_TEST_MARK": mark, "NO_COLOR": "1", "COLUMNS": "160"}
        env["SHOP_FAULT"] = fault
        runs[name] = subprocess.Popen(
            [*COMMAND, str(theirs), "--state-dir", str(tmp_path / name)],
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
    assert "✓ audit ← shipping: 'a shipment is scheduled'" in out["good"]
    assert "✓ ledger ← payments: 'a payment is authorized'" in out["good"]
    assert "4 interaction(s): 4 verified" in out["good"]

    assert bad.returncode == 1, out["bad"]
    assert "✗ shipping ← payments: 'a payment is authorized'" in out["bad"]
    assert "✗ ledger ← payments: 'a payment is authorized'" in out["bad"]
    assert out["bad"].count('$.amount: expected number (example 42), got "42"') == 2
    assert "← kafka:payments  PaymentAuthorized" in out["bad"]  # the timeline
    assert "✓ orders-view ← shipping: 'a shipment is scheduled'" in out["bad"]
    assert "✓ audit ← shipping: 'a shipment is scheduled'" in out["bad"]
    assert "4 interaction(s): 2 verified, 2 failed" in out["bad"]
    assert _alive(mark) == []
