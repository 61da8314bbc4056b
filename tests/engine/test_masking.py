"""Masking payload fields by path: the shape is kept (same keys, same types, strings of the same
kind), none of the masked values is left anywhere, and a masked recording replays."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import eventharness as eh
from eventharness.engine.masking import Mask, mask_leaf, mask_problem
from eventharness.engine.recording import Recorded, Recording, replay
from eventharness.model.events import Event
from eventharness.model.result import Failure, ScenarioResult
from eventharness.transports.memory import MemoryTransport

SECRETS = (
    "4111 1111 1111 1111",
    "ann.lee@example.com",
    "tok-Zq81-secret",
    "DE89370400440532013000",
)
ORDER = {
    "type": "OrderPlaced",
    "order_id": "o-1",
    "email": "ann.lee@example.com",
    "card": {"number": "4111 1111 1111 1111", "cvc": 737, "holder": {"iban": SECRETS[3]}},
    "lines": [{"sku": "SKU-991", "qty": 2}, {"sku": "SKU-992", "qty": 1}],
    "total": 1234.5,
    "vip": True,
    "note": None,
}
PATHS = ["value.card", "value.email", "value.lines.sku", "value.total", "headers.X-Token"]


def shape(value: Any) -> Any:
    """Keys and types, not values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def test_a_masked_value_keeps_its_shape() -> None:
    masked = Mask(PATHS).value(ORDER)
    assert shape(masked) == shape(ORDER)
    assert masked["card"] == {
        "number": "0000 0000 0000 0000",
        "cvc": 0,
        "holder": {"iban": "XX" + "0" * 20},
    }
    assert masked["email"] == "xxx.xxx@xxxxxxx.xxx"
    assert [line["sku"] for line in masked["lines"]] == ["XXX-000", "XXX-000"]
    assert [line["qty"] for line in masked["lines"]] == [2, 1]  # not masked: kept
    assert (masked["total"], masked["order_id"], masked["vip"]) == (0.0, "o-1", True)
    assert ORDER["email"] == "ann.lee@example.com"  # the original is left as it was
    assert (mask_leaf(True), mask_leaf(None), mask_leaf(7), mask_leaf("Ab-9")) == (
        False,
        None,
        0,
        "Xx-0",
    )


def test_wildcards_indexes_headers_and_key() -> None:
    mask = Mask(["value.lines.0.sku", "value.*.iban", "headers.x-token", "key"])
    value = {"lines": [{"sku": "A1"}, {"sku": "B2"}], "a": {"iban": "GB1"}, "b": {"iban": "GB2"}}
    assert mask.value(value) == {
        "lines": [{"sku": "X0"}, {"sku": "B2"}],
        "a": {"iban": "XX0"},
        "b": {"iban": "XX0"},
    }
    assert mask.headers({"X-Token": "abc", "other": "keep"}) == {"X-Token": "xxx", "other": "keep"}
    assert (mask.key("o-17"), Mask([]).key("o-17")) == ("x-00", "o-17")
    assert mask.value("not an object") == "not an object"


@pytest.mark.parametrize("path", ["card.number", "value.", "value..x", "headers", "", "keys"])
def test_a_bad_path_is_refused_with_the_way_to_write_one(path: str) -> None:
    assert "is not a path; a path is value.FIELD.FIELD" in (mask_problem(path) or "")
    with pytest.raises(eh.UsageError, match=r"mask: .* e\.g\. value\.card\.number"):
        Mask([path])


def result_with_failures() -> ScenarioResult:
    sent = Event(
        "kafka:orders",
        ORDER,
        json.dumps(ORDER).encode(),
        key="ann.lee@example.com",
        headers={"x-token": SECRETS[2]},
        direction="out",
    )
    failure = Failure(
        "timeout",
        "paid",
        "kafka:payments: expected an event within 1s, nothing matched",
        (
            "nearest misses:",
            "  t=0.010s kafka:orders OrderPlaced key=ann.lee@example.com",
            "      card.number: expected '4000', got '4111 1111 1111 1111'",
            f"      minimal example {json.dumps({'order': ORDER})}",
            "      total: expected 1000, got 1234.5 (t=0.1234s)",
        ),
    )
    return ScenarioResult("s", "c-1", "failed", failures=[failure], events=[sent])


def test_a_masked_result_has_none_of_the_values_in_any_report() -> None:
    from eventharness.files.model import ScenarioFile
    from eventharness.files.outcome import Outcome
    from eventharness.reports.html import html_report
    from eventharness.reports.json import json_report
    from eventharness.reports.junit import junit_xml

    original = result_with_failures()
    masked = Mask([*PATHS, "key", "headers.x-token"]).result(original)
    outcome = Outcome(ScenarioFile(name="s", path="s.yaml"), masked)
    texts = {
        "explain": masked.explain(),
        "json": json.dumps(json_report([outcome], 1.0), default=str),
        "junit": junit_xml([outcome], 1.0),
        "html": html_report(json_report([outcome], 1.0)),
    }
    for name, text in texts.items():
        for secret in (*SECRETS, "SKU-991", "1234.5"):
            assert secret not in text, (name, secret)
    assert "got '0000 0000 0000 0000'" in texts["explain"]
    assert "key=xxx.xxx@xxxxxxx.xxx" in texts["explain"]
    assert "(t=0.1234s)" in texts["explain"]  # a number that only looks like one is kept
    (event,) = masked.events
    assert shape(event.value) == shape(ORDER) and event.headers == {"x-token": "xxx-Xx00-xxxxxx"}
    assert SECRETS[0].encode() not in event.raw
    assert original.events[0].value["card"]["number"] == SECRETS[0]  # a copy was masked


async def test_a_masked_recording_has_none_of_the_values_and_replays(
    tmp_path: Path, memory_url: str
) -> None:
    recording = Recording(
        [
            Recorded(
                t=i * 0.01,
                channel="k:orders",
                value={**ORDER, "order_id": f"o-{i}"},
                key="ann.lee@example.com",
                headers={"X-Token": SECRETS[2], "correlation-id": f"c-{i}"},
            )
            for i in range(3)
        ]
    )
    path = tmp_path / "masked.jsonl"
    recording.masked([*PATHS, "key"]).save(path)
    data = path.read_bytes()
    for secret in (*SECRETS, "SKU-991", "1234.5"):
        assert secret.encode() not in data, secret
    loaded = Recording.load(path)
    assert [shape(e.value) for e in loaded] == [shape(e.value) for e in recording]
    assert [e.value["order_id"] for e in loaded] == ["o-0", "o-1", "o-2"]
    async with MemoryTransport(memory_url) as t:
        sub = await t.subscribe("orders")
        assert await replay({"k": t}, loaded, speed=None) == 3
        got = [await asyncio.wait_for(anext(aiter(sub)), 5) for _ in range(3)]
        await sub.aclose()
    values = [json.loads(r.value) for r in got]
    assert [v["order_id"] for v in values] == ["o-0", "o-1", "o-2"]
    assert {v["card"]["number"] for v in values} == {"0000 0000 0000 0000"}
    assert {r.headers["X-Token"] for r in got} == {b"xxx-Xx00-xxxxxx"}
    assert {r.key for r in got} == {b"xxx.xxx@xxxxxxx.xxx"}
