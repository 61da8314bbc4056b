"""Interoperability with the reference implementation: pact-python (>= 3, its Rust core bundled).

* a V4 message pact written by pact-python's message API is read by eventharness with the same
  interactions, provider states, metadata, matching rules and generators, and eventharness's
  matching accepts a conforming message and names the fields of a broken one;
* a pact written by eventharness is read and verified by pact-python's verifier in message
  (function) mode — no broker: pact-python serves the messages from a local handler — and a
  broken message fails in pact-python and in eventharness on the same interaction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eventharness.contracts import (
    Contents,
    Interaction,
    Message,
    Pact,
    ProviderState,
    compare_body,
    dump_pact,
    load_pact,
    loads_pact,
    parse_matching_rules,
    write_pact,
)
from eventharness.contracts.generators import parse_generators
from tests.contracts.pact_oracle import Verifier, match, no_usage_tracking, pact_python

pytestmark = pytest.mark.usefixtures(no_usage_tracking.__name__)


def _written_by_pact_python(directory: Path) -> Path:
    pact = pact_python.Pact("orders-view", "shipping").with_specification("V4")
    (
        pact.upon_receiving("a shipment scheduled", "Async")
        .given("an order exists", id=7, sku="A-1")
        .with_body(
            {
                "order_id": match.int(7),
                "shipment_id": match.uuid(),
                "carrier": match.regex("DHL", regex=r"DHL|UPS"),
                "lines": match.each_like({"sku": match.str("A-1"), "qty": match.int(1)}, min=1),
                "eta": match.date("2024-01-02", "%Y-%m-%d"),
                "note": match.includes("rush"),
                "price": match.decimal(1.5),
            },
            "application/json",
        )
        .with_metadata({"topic": "shipments", "channel": "kafka:shipments"})
    )
    pact.upon_receiving("a ping", "Async").with_body({"n": match.int(1)}, "application/json")
    pact.write_file(directory, overwrite=True)
    (path,) = directory.glob("*.json")
    return path


GOOD = {
    "order_id": 12,
    "shipment_id": "4b8e6a0e-0c1f-4a59-9b3c-2f8f1f4b2a10",
    "carrier": "UPS",
    "lines": [{"sku": "B-2", "qty": 3}, {"sku": "C-3", "qty": 1}],
    "eta": "2025-06-30",
    "note": "a rush order",
    "price": 9.25,
}


def test_a_pact_python_v4_message_pact_reads_with_the_same_content(tmp_path: Path) -> None:
    path = _written_by_pact_python(tmp_path)
    pact = load_pact(path)
    assert (pact.consumer, pact.provider, pact.spec) == ("orders-view", "shipping", "4.0")
    assert [i.description for i in pact.interactions] == ["a ping", "a shipment scheduled"]
    shipment = pact.interaction("a shipment scheduled")
    assert shipment.provider_states == (ProviderState("an order exists", {"id": 7, "sku": "A-1"}),)
    message = shipment.message
    assert (message.topic, message.channel) == ("shipments", "kafka:shipments")
    assert message.content_type == "application/json"
    body_rules = message.matching_rules.category("body")
    kinds = {path: [m.kind for m in rules.matchers] for path, rules in body_rules.items()}
    assert kinds == {
        "$.carrier": ["regex"],
        "$.eta": ["date"],
        "$.lines": ["type"],
        "$.lines[*].qty": ["integer"],
        "$.lines[*].sku": ["type"],
        "$.note": ["include"],
        "$.order_id": ["integer"],
        "$.price": ["decimal"],
        "$.shipment_id": ["regex"],
    }
    assert body_rules["$.lines"].matchers[0].get("min") == 1
    assert message.generators.category("body")["$.shipment_id"].kind == "Uuid"
    # what pact-python wrote survives our write and read unchanged
    assert loads_pact(dump_pact(pact)) == pact


def test_our_matching_of_a_pact_python_pact(tmp_path: Path) -> None:
    message = (
        load_pact(_written_by_pact_python(tmp_path)).interaction("a shipment scheduled").message
    )
    rules = message.matching_rules.category("body")
    expected = message.contents.value
    assert compare_body(expected, GOOD, rules) == []
    broken = {**GOOD, "carrier": "FedEx", "order_id": "12", "lines": []}
    broken["eta"] = "30/06/2025"
    found = {m.path: m for m in compare_body(expected, broken, rules)}
    assert set(found) == {"$.carrier", "$.order_id", "$.lines", "$.eta"}
    assert found["$.carrier"].rule == "regex (regex 'DHL|UPS')"
    assert found["$.carrier"].actual == "FedEx"


def _our_pact() -> Pact:
    rules = parse_matching_rules(
        {
            "body": {
                "$.order_id": {"matchers": [{"match": "integer"}]},
                "$.carrier": {"matchers": [{"match": "regex", "regex": "DHL|UPS"}]},
                "$.lines": {"matchers": [{"match": "type", "min": 1}]},
                "$.lines[*].sku": {"matchers": [{"match": "regex", "regex": "[A-Z]-\\d+"}]},
                "$.lines[*].qty": {"matchers": [{"match": "integer"}]},
            }
        },
        "test",
    )
    generators = parse_generators({"body": {"$.order_id": {"type": "RandomInt"}}}, "test")
    body = {"order_id": 7, "carrier": "DHL", "lines": [{"sku": "A-1", "qty": 1}]}
    shipment = Interaction(
        "a shipment scheduled",
        Message(
            Contents(body, "application/json"),
            {"topic": "shipments", "channel": "kafka:shipments"},
            rules,
            generators,
        ),
        (ProviderState("an order exists", {"id": 7}),),
    )
    ping = Interaction("a ping", Message(Contents({"n": 1}, "application/json")))
    return Pact("orders-view", "shipping", (shipment, ping))


def _verify_with_pact_python(path: Path, shipment: dict[str, Any]) -> tuple[bool, str]:
    def produce(name: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        body = shipment if name == "a shipment scheduled" else {"n": 1}
        return {
            "contents": json.dumps(body).encode(),
            "metadata": {"topic": "shipments", "channel": "kafka:shipments"},
            "content_type": "application/json",
        }

    def state(state: str, action: str, parameters: dict[str, Any] | None = None) -> None:
        return None

    verifier = (
        Verifier("shipping").message_handler(produce).state_handler(state, teardown=True)
    ).add_source(path)
    try:
        verifier.verify()
    except RuntimeError as exc:
        return False, f"{exc}\n{verifier.output(strip_ansi=True)}"
    return True, verifier.output(strip_ansi=True)


def test_a_pact_we_write_verifies_in_pact_python(tmp_path: Path) -> None:
    path = write_pact(_our_pact(), tmp_path / "orders-view-shipping.json")
    good = {"order_id": 12, "carrier": "UPS", "lines": [{"sku": "B-2", "qty": 3}]}
    ok, output = _verify_with_pact_python(path, good)
    assert ok, output
    rules = _our_pact().interaction("a shipment scheduled").message.matching_rules
    expected = _our_pact().interaction("a shipment scheduled").message.contents.value
    assert compare_body(expected, good, rules.category("body")) == []


def test_a_broken_message_fails_in_both_tools_on_the_same_interaction(tmp_path: Path) -> None:
    path = write_pact(_our_pact(), tmp_path / "orders-view-shipping.json")
    broken = {"order_id": 12, "carrier": "FedEx", "lines": [{"sku": "b2", "qty": 3}]}
    ok, output = _verify_with_pact_python(path, broken)
    assert not ok
    assert "a shipment scheduled" in output
    assert "$.carrier" in output
    message = load_pact(path).interaction("a shipment scheduled").message
    found = compare_body(message.contents.value, broken, message.matching_rules.category("body"))
    assert sorted(m.path for m in found) == ["$.carrier", "$.lines[0].sku"]


# The example shop's pacts are written by eventharness's consumer builder (eh.contract, eh.like,
# eh.regex, ...: examples/shop/contracts/consumers.py). What each provider really sends — other
# values than the examples, of the shapes the rules ask for — and one broken field each.
SHOP_PACTS = Path(__file__).resolve().parents[2] / "examples/shop/contracts/pacts"
SHOP_MESSAGES = {
    "orders-view-shipping.json": (
        "shipping",
        {
            "type": "ShipmentScheduled",
            "order_id": "o-9f3",
            "amount": 17.5,
            "shipment_id": "shp-00ff00ff00ff",
        },
        ("shipment_id", "SHP-1"),
    ),
    "shipping-payments.json": (
        "payments",
        {
            "type": "PaymentAuthorized",
            "order_id": "o-71",
            "amount": 1250,
            "payment_id": "pay-abcdefabcdef",
        },
        ("amount", "1250"),
    ),
}


def _pact_python_verifies(path: Path, provider: str, body: dict[str, Any]) -> tuple[bool, str]:
    metadata = dict(load_pact(path).interactions[0].message.metadata)

    def produce(name: str, _metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "contents": json.dumps(body).encode(),
            "metadata": metadata,
            "content_type": "application/json",
        }

    def state(state: str, action: str, parameters: dict[str, Any] | None = None) -> None:
        return None

    verifier = (
        Verifier(provider).message_handler(produce).state_handler(state, teardown=True)
    ).add_source(path)
    try:
        verifier.verify()
    except RuntimeError as exc:
        return False, f"{exc}\n{verifier.output(strip_ansi=True)}"
    return True, verifier.output(strip_ansi=True)


@pytest.mark.parametrize("name", sorted(SHOP_MESSAGES))
def test_the_builders_pacts_verify_in_pact_python_and_agree_on_a_broken_field(name: str) -> None:
    path = SHOP_PACTS / name
    provider, good, (field, wrong) = SHOP_MESSAGES[name]
    ok, output = _pact_python_verifies(path, provider, good)
    assert ok, output
    message = load_pact(path).interactions[0].message
    rules = message.matching_rules.category("body")
    assert compare_body(message.contents.value, good, rules) == []

    broken = {**good, field: wrong}
    ok, output = _pact_python_verifies(path, provider, broken)
    assert not ok and f"$.{field}" in output, output
    found = compare_body(message.contents.value, broken, rules)
    assert [m.path for m in found] == [f"$.{field}"]
