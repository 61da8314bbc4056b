"""``eventharness asyncapi export``: recordings → an AsyncAPI 3.0.0 document that the official
parser accepts, whose schemas are inferred from every sample, and that the same recording
passes when imported again (the round trip)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml
from typer.testing import CliRunner, Result

from eventharness.asyncapi.conformance import conformance
from eventharness.asyncapi.export import export_document
from eventharness.asyncapi.reader import load_document
from eventharness.cli.app import app
from eventharness.engine.recordfile import Recording
from tests.asyncapi.parser import parse_with_official

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def eh(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def _events(n: int, seed: int = 1) -> list[dict[str, object]]:
    rnd = random.Random(seed)
    out: list[dict[str, object]] = []
    for i in range(n):
        cid = f"c-{i}"
        h = {"correlation-id": cid, "traceparent": f"00-{i:032x}-{i:016x}-01"}
        order = {"type": "OrderPlaced", "order_id": f"o-{i}", "total": rnd.randint(1, 2000)}
        if i % 3 == 0:
            order["currency"] = "EUR"  # an optional field: required only where always seen
        out.append(
            {
                "t": i * 0.01,
                "channel": "kafka:orders",
                "key": f"o-{i}",
                "headers": h,
                "value": order,
            }
        )
        pay = {
            "type": "PaymentAuthorized",
            "order_id": f"o-{i}",
            "amount": order["total"],
            "payment_id": f"p-{i}",
        }
        out.append(
            {
                "t": i * 0.01 + 0.003,
                "channel": "kafka:payments",
                "key": f"o-{i}",
                "headers": h,
                "value": pay,
            }
        )
        out.append(
            {
                "t": i * 0.01 + 0.006,
                "channel": "rabbit:shipping/shipment.scheduled",
                "key": None,
                "headers": h,
                "value": {
                    "type": "ShipmentScheduled",
                    "order_id": f"o-{i}",
                    "shipment_id": f"s-{i}",
                    "amount": order["total"] + 0.5,
                },
            }
        )
        out.append(
            {
                "t": i * 0.01 + 0.007,
                "channel": "rabbit:/audit",
                "key": None,
                "headers": {},
                "value": {"seen": i, "correlation_id": cid},
            }
        )
    return out


def _write(path: Path, events: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_export_infers_merged_schemas_and_correlation(tmp_path: Path) -> None:
    rec = Recording.load(_write(tmp_path / "r.jsonl", _events(30)))
    doc = export_document(
        [rec],
        brokers={"kafka": "kafka://k1:9092,k2:9092", "rabbit": "amqp://app:s3cret@mq:5672/shop"},
        services={"kafka:payments": "payments"},
        title="shop",
    )
    text = yaml.safe_dump(doc)
    assert "s3cret" not in text and "app:" not in text
    assert doc["servers"]["kafka"] == {"host": "k1:9092,k2:9092", "protocol": "kafka"}
    assert doc["servers"]["rabbit"]["host"] == "mq:5672"
    order = doc["channels"]["orders"]["messages"]["OrderPlaced"]
    assert sorted(order["payload"]["required"]) == ["order_id", "total", "type"]  # not currency
    assert order["payload"]["properties"]["currency"] == {"type": "string"}
    assert order["correlationId"] == {"location": "$message.header#/correlation-id"}
    shipments = doc["channels"]["shipping-shipment.scheduled"]
    assert shipments["bindings"]["amqp"]["exchange"]["name"] == "shipping"
    audit = doc["channels"]["audit"]
    assert audit["bindings"]["amqp"] == {"is": "queue", "queue": {"name": "audit"}}
    assert audit["messages"]["message"]["correlationId"] == {
        "location": "$message.payload#/correlation_id"
    }
    assert doc["operations"]["send-payments"]["x-service"] == "payments"
    assert "x-service" not in doc["operations"]["send-orders"]


def test_exported_documents_pass_the_official_parser_and_round_trip(tmp_path: Path) -> None:
    rec = _write(tmp_path / "r.jsonl", _events(20))
    out = tmp_path / "exported.yaml"
    done = eh("asyncapi", "export", rec, "-o", out, "--service", "kafka:payments=payments")
    assert done.exit_code == 0, done.output
    checked = eh("asyncapi", "check", out, "--against", rec, "--strict")
    assert checked.exit_code == 0, checked.output
    assert "80 events, 0 problems, 0 unknown channels, 0 messages never seen" in checked.output
    doc = load_document(out)
    assert conformance(doc, Recording.load(rec)).ok
    # and a recording that breaks what was observed before fails against the export
    broken = _events(1)
    broken[1]["value"]["amount"] = "lots"  # type: ignore[index]
    bad = eh("asyncapi", "check", out, "--against", _write(tmp_path / "b.jsonl", broken))
    assert bad.exit_code == 1 and "$.amount: 'lots' is not of type" in bad.output

    parsed = parse_with_official(
        out, REPO / "examples" / "shop" / "asyncapi.yaml", *sorted(FIXTURES.glob("*.yaml"))
    )
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert parsed.stdout.count("ok ") == 2 + len(list(FIXTURES.glob("*.yaml")))


def test_the_official_parser_rejects_what_check_rejects(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("asyncapi: 3.0.0\ninfo:\n  title: x\n")
    parsed = parse_with_official(bad)
    assert parsed.returncode == 1 and "version" in parsed.stdout
    assert eh("asyncapi", "check", bad).exit_code == 2


def test_bad_service_option_is_a_usage_error(tmp_path: Path) -> None:
    rec = _write(tmp_path / "r.jsonl", _events(1))
    done = eh("asyncapi", "export", rec, "--service", "payments")
    assert done.exit_code == 2 and "write CHANNEL=SERVICE" in done.output
