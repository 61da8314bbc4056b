"""The consumer side: the builder and its matcher helpers, YAML declarations, the handler run.

* identical declarations give byte-identical pact files (V4 and V3), whatever the order the
  messages were declared in, and the example shop's committed pacts are what its consumers'
  declarations write today;
* each helper writes the example and the rule Pact writes, at the right path (``[*]`` for the
  items of ``each_like``), and the rules accept conforming messages and name broken fields;
* a helper whose example breaks its own rule is refused where it is written;
* the consumer's handler runs on the example; one that fails keeps the pact from being written;
* a YAML declaration gives the same bytes as the Python one, and its mistakes name file:line.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import eventharness as eh
from eventharness.contracts import compare_message, load_contract, loads_pact
from eventharness.contracts.declarations import load_contract_yaml, parse_contract_yaml
from eventharness.model.errors import ContractError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples/shop/contracts"


def declare(order: list[str], spec: str = "4") -> eh.Contract:
    c = eh.contract("orders-view", "shipping", spec=spec)
    bodies: dict[str, Any] = {
        "a shipment is scheduled": {
            "type": "ShipmentScheduled",
            "order_id": eh.like("o-1"),
            "shipment_id": eh.uuid(),
            "amount": eh.decimal(42.5),
            "lines": eh.each_like({"sku": eh.like("A-1"), "qty": eh.integer(2)}, min=1),
            "at": eh.datetime("yyyy-MM-dd'T'HH:mm:ss", "2024-05-01T10:00:00"),
            "note": eh.include("rush", "a rush order"),
            "gift": eh.boolean(False),
        },
        "a shipment is cancelled": {"type": "ShipmentCancelled", "order_id": eh.like("o-1")},
    }
    for description in order:
        c.message(
            description,
            given="an order exists",
            params={"order_id": "o-1"},
            channel="rabbit:shipping/shipment.#",
            body=bodies[description],
        )
    return c


def test_identical_declarations_give_byte_identical_pacts(tmp_path: Path) -> None:
    names = ["a shipment is scheduled", "a shipment is cancelled"]
    first = declare(names).write(tmp_path / "a")
    second = declare(list(reversed(names))).write(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert first.name == "orders-view-shipping.json"
    v3 = declare(names, spec="3").write(tmp_path / "c.json")
    assert v3.read_bytes() == declare(names).write(tmp_path / "d.json", spec="3").read_bytes()
    assert "messages" in json.loads(v3.read_text()) and v3.read_bytes() != first.read_bytes()
    # what is written reads back as the same pact
    back = loads_pact(first.read_text()).interactions
    assert back == tuple(sorted(declare(names).pact().interactions, key=lambda i: i.description))


def test_the_example_shops_pacts_are_what_its_consumers_declare(tmp_path: Path) -> None:
    from examples.shop.contracts.consumers import write_all

    for written in write_all(tmp_path):
        committed = EXAMPLE / "pacts" / written.name
        assert written.read_bytes() == committed.read_bytes(), (
            f"{committed} is stale: run python -m examples.shop.contracts.consumers"
        )


def test_helpers_write_examples_and_rules_at_their_paths() -> None:
    msg = declare(["a shipment is scheduled"]).messages[0]
    assert msg.body["lines"] == [{"sku": "A-1", "qty": 2}]
    assert msg.metadata["channel"] == "rabbit:shipping/shipment.#"
    rules = msg.interaction.message.matching_rules.to_json()["body"]
    kinds = {path: [m["match"] for m in r["matchers"]] for path, r in rules.items()}
    assert kinds == {
        "$.order_id": ["type"],
        "$.shipment_id": ["regex"],
        "$.amount": ["decimal"],
        "$.lines": ["type"],
        "$.lines[*].sku": ["type"],
        "$.lines[*].qty": ["integer"],
        "$.at": ["datetime"],
        "$.note": ["include"],
        "$.gift": ["boolean"],
    }
    assert rules["$.lines"]["matchers"][0]["min"] == 1
    good = {
        **msg.body,
        "order_id": "o-77",
        "shipment_id": "0b7e0a52-1f0e-4f5c-8f3e-7d8e1f2a3b4c",
        "amount": 9.99,
        "lines": [{"sku": "B", "qty": 1}, {"sku": "C", "qty": 5}],
        "at": "2025-01-31T23:59:59",
        "note": "not a rush at all",
        "gift": True,
    }
    assert compare_message(msg.interaction, good) == []
    bad = {**good, "shipment_id": "nope", "lines": [{"sku": "B", "qty": "1"}], "gift": "yes"}
    paths = {m.path for m in compare_message(msg.interaction, bad)}
    assert paths == {"$.shipment_id", "$.lines[0].qty", "$.gift"}


@pytest.mark.parametrize(
    "make",
    [
        lambda: eh.regex(r"\d+", "abc"),
        lambda: eh.regex("(", "x"),
        lambda: eh.integer(1.5),
        lambda: eh.decimal(1),
        lambda: eh.boolean(1),
        lambda: eh.datetime("yyyy-MM-dd", "01/02/2024"),
        lambda: eh.include("rush", "slow"),
        lambda: eh.each_like({"a": 1}, min=3, max=2),
        lambda: eh.semver("1.x"),
    ],
)
def test_a_helper_whose_example_breaks_its_own_rule_is_refused(make: Any) -> None:
    with pytest.raises(ContractError):
        make()


def test_duplicate_descriptions_and_params_without_a_state_are_refused() -> None:
    c = eh.contract("a", "b")
    c.message("m", body={"x": 1})
    with pytest.raises(ContractError, match="declared twice"):
        c.message("m", body={"x": 2})
    with pytest.raises(ContractError, match="params need a provider state"):
        c.message("n", params={"x": 1}, body={})


def test_the_handler_runs_on_the_example_and_a_failure_blocks_the_pact(tmp_path: Path) -> None:
    seen: list[Any] = []
    c = eh.contract("a", "b")
    c.message("one", body={"n": eh.integer(7)}, metadata={"k": "v"}).verify_with(seen.append)
    c.message("two", body={"n": eh.integer(8)}).verify_with(lambda body, meta: seen.append(meta))

    async def handler(body: Any) -> None:
        seen.append(("async", body))

    c.message("three", body={"n": 9}).verify_with(handler)
    with c.message("four", body={"n": 10}) as body:
        seen.append(body)
    assert seen == [
        {"n": 7},
        {"contentType": "application/json"},
        ("async", {"n": 9}),
        {"n": 10},
    ]
    assert all(m.handled for m in c.messages)
    c.write(tmp_path)

    broken = eh.contract("a", "b")

    def reject(body: Any) -> None:
        raise ValueError("no amount")

    with pytest.raises(ValueError, match="no amount") as info:
        broken.message("m", body={"x": 1}).verify_with(reject)
    assert "the consumer's handler failed on the example of 'm'" in "\n".join(info.value.__notes__)
    with pytest.raises(ContractError, match="handler failed on 'm'; no pact written"):
        broken.write(tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_an_async_handler_inside_a_running_loop_is_awaited() -> None:
    async def main() -> list[Any]:
        seen: list[Any] = []

        async def handler(body: Any) -> None:
            seen.append(body)

        await eh.contract("a", "b").message("m", body={"x": 1}).averify_with(handler)
        return seen

    assert asyncio.run(main()) == [{"x": 1}]


def test_yaml_declarations_write_the_same_bytes_as_python(tmp_path: Path) -> None:
    from examples.shop.contracts.consumers import orders_view_on_shipping

    from_yaml = load_contract_yaml(EXAMPLE / "orders-view.yaml").write(tmp_path / "y.json")
    from_python = orders_view_on_shipping().write(tmp_path / "p.json")
    assert from_yaml.read_bytes() == from_python.read_bytes()
    assert load_contract(EXAMPLE / "orders-view.yaml") == orders_view_on_shipping().pact()


def test_yaml_matchers_cover_the_helpers(tmp_path: Path) -> None:
    text = """\
consumer: c
provider: p
spec: 3
messages:
  - description: m
    given:
      - name: s
        params: {id: 1}
    body:
      a: {$each_like: {b: {$integer: 1}}, min: 2}
      c: {$datetime: "yyyy-MM-dd", example: "2024-01-02"}
      d: {$include: x, example: axb}
      e: {$uuid: ba4a2cdd-39b3-4b3c-9e56-4bc3a1d9a0c1}
      f: {$null: null}
      $$literal: 1
"""
    built = parse_contract_yaml(text, "c.yaml")
    assert built.messages[0].body["a"] == [{"b": 1}, {"b": 1}]
    assert built.messages[0].body["$literal"] == 1
    assert "messages" in json.loads(built.dumps())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "consumer: c\nprovider: p\nmessages:\n  - description: m\n    body:\n"
            "      a: {$likee: 1}\n",
            "c.yaml:6: unknown matcher '$likee'",
        ),
        (
            "consumer: c\nprovider: p\nmessages:\n  - description: m\n    body:\n"
            "      a: {$regex: '\\d+', example: abc}\n",
            "c.yaml:6: regex",
        ),
        (
            "consumer: c\nprovider: p\nmessages:\n  - description: m\n    chanel: x\n",
            "c.yaml:5: unknown key 'chanel'",
        ),
        ("consumer: c\nprovider: p\nmessages: []\n", "c.yaml:3: messages must be a list"),
        (
            "consumer: c\nprovider: p\nspec: 5\nmessages:\n  - description: m\n",
            "c.yaml:3: contract(...): spec must be 3 or 4",
        ),
        ("consumer: c\nmessages: [{description: m}]\n", "c.yaml:1: missing 'provider'"),
        ("consumer: [\n", "c.yaml:2: YAML syntax error"),
        (
            "consumer: c\nprovider: p\nmessages:\n  - description: m\n    body:\n"
            "      a: {$like: 1, min: 2}\n",
            "c.yaml:6: $like takes no other keys",
        ),
    ],
)
def test_yaml_mistakes_name_file_and_line(text: str, expected: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_contract_yaml(text, "c.yaml")
    assert str(info.value).startswith(expected), str(info.value)
