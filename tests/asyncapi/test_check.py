"""``eventharness asyncapi check``: the document's structure, refs and examples (exit 2 with
file:line), and recordings against it (exit 0/1 naming event, message and field)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from eventharness.cli.app import app

FIXTURES = Path(__file__).parent / "fixtures"
SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop" / "asyncapi.yaml"
runner = CliRunner()


def eh(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.yaml")))
def test_fixtures_and_the_shop_document_are_valid(name: str) -> None:
    done = eh("asyncapi", "check", FIXTURES / name)
    assert done.exit_code == 0, done.output
    assert "valid" in done.output


def test_shop_document_is_valid() -> None:
    done = eh("asyncapi", "check", SHOP)
    assert done.exit_code == 0, done.output
    assert "3 channels, 4 messages, 8 operations: valid" in done.output


BAD = """\
asyncapi: 3.0.0
info:
  title: x
channels:
  orders:
    address: orders
    mesages:
      a: {}
operations:
  send:
    action: sned
    channel: {$ref: '#/channels/orders'}
"""


def test_structure_errors_have_file_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    done = eh("asyncapi", "check", path)
    assert done.exit_code == 2
    assert f"{path}:2: info: 'version' is a required property" in done.output
    assert f"{path}:7: channels.orders.mesages: unknown key 'mesages' (did you mean" in done.output
    assert f"{path}:11: operations.send.action: 'sned' is not one of" in done.output
    assert "Traceback" not in done.output


def test_dangling_ref_and_bad_example(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(
        "asyncapi: 3.1.0\ninfo: {title: x, version: '1'}\nchannels:\n  orders:\n"
        "    messages:\n      placed:\n        payload: {type: object, properties: "
        "{total: {type: number}}}\n        examples:\n          - payload: {total: '12'}\n"
        "      other: {$ref: '#/components/messages/missing'}\n"
    )
    done = eh("asyncapi", "check", path)
    assert done.exit_code == 2
    assert f"{path}:10: $ref '#/components/messages/missing' points at nothing" in done.output
    path.write_text(
        path.read_text().replace("      other: {$ref: '#/components/messages/missing'}\n", "")
    )
    done = eh("asyncapi", "check", path)
    assert done.exit_code == 2
    assert (
        f"{path}:9: channel 'orders' message 'placed': an example does not match its own "
        "payload schema: $.total: '12' is not of type 'number'"
    ) in done.output


def _recording(path: Path, events: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _shop_events(amount: object = 42) -> list[dict[str, object]]:
    h = {"correlation-id": "c-1", "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
    return [
        {
            "t": 0.0,
            "channel": "kafka:orders",
            "key": "o-1",
            "headers": h,
            "value": {"type": "OrderPlaced", "order_id": "o-1", "total": 42},
        },
        {
            "t": 0.1,
            "channel": "kafka:payments",
            "key": "o-1",
            "headers": h,
            "value": {
                "type": "PaymentAuthorized",
                "order_id": "o-1",
                "amount": amount,
                "payment_id": "p-1",
            },
        },
        {
            "t": 0.2,
            "channel": "rabbit:shipping/shipment.scheduled",
            "key": None,
            "headers": h,
            "value": {
                "type": "ShipmentScheduled",
                "order_id": "o-1",
                "shipment_id": "s-1",
                "amount": 42,
            },
        },
    ]


def test_against_a_conforming_recording(tmp_path: Path) -> None:
    rec = _recording(tmp_path / "ok.jsonl", _shop_events())
    done = eh("asyncapi", "check", SHOP, "--against", rec)
    assert done.exit_code == 0, done.output
    assert "3 events, 0 problems, 0 unknown channels, 1 messages never seen" in done.output
    assert "channel 'payments' message 'PaymentDeclined': declared, never seen" in done.output
    strict = eh("asyncapi", "check", SHOP, "--against", rec, "--strict")
    assert strict.exit_code == 1


def test_against_names_message_field_and_rules(tmp_path: Path) -> None:
    events = _shop_events(amount="42")
    del events[2]["headers"]["correlation-id"]  # type: ignore[attr-defined]
    events.append({"t": 0.3, "channel": "kafka:audit", "key": None, "headers": {}, "value": {}})
    rec = _recording(tmp_path / "bad.jsonl", events)
    done = eh("asyncapi", "check", SHOP, "--against", rec)
    assert done.exit_code == 1, done.output
    out = done.output
    assert (
        "event #2 (t=0.100s kafka:payments key=o-1): message 'PaymentAuthorized': payload: "
        "$.amount: '42' is not of type 'number'"
    ) in out
    assert "message 'ShipmentScheduled': headers: $['correlation-id']: required property" in out
    assert "correlation: no correlation id at $message.header#/correlation-id" in out
    assert "kafka:audit: 1 event(s) on a channel the document does not have" in out
