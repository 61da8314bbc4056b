"""Reading and writing pact files: V3 and V4 shapes, determinism, content hash, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eventharness.contracts import (
    ASYNC,
    SYNC,
    content_hash,
    dump_pact,
    load_pact,
    loads_pact,
)
from eventharness.model.errors import ContractError, UsageError

V3 = {
    "consumer": {"name": "shipping"},
    "provider": {"name": "payments"},
    "messages": [
        {
            "description": "payment authorized",
            "providerStates": [{"name": "a payment", "params": {"id": "p-1"}}],
            "contents": {"payment_id": "p-1", "amount": 10},
            "metaData": {"contentType": "application/json", "topic": "payments"},
            "matchingRules": {
                "body": {
                    "$.payment_id": {"matchers": [{"match": "regex", "regex": "p-\\d+"}]},
                    "$.amount": {"matchers": [{"match": "number"}]},
                },
                "metadata": {"topic": {"matchers": [{"match": "regex", "regex": "pay.*"}]}},
            },
            "generators": {"body": {"$.payment_id": {"type": "Regex", "regex": "p-\\d{3}"}}},
        },
        {"description": "a refund", "contents": {"id": 1}, "metaData": {}},
    ],
    "metadata": {"pactSpecification": {"version": "3.0.0"}},
}


def _v4(interactions: list[dict[str, Any]], version: str = "4.0") -> dict[str, Any]:
    return {
        "consumer": {"name": "c"},
        "provider": {"name": "p"},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": version}},
    }


ASYNC_V4 = {
    "type": "Asynchronous/Messages",
    "description": "an event",
    "contents": {"content": {"id": 1}, "contentType": "application/json", "encoded": False},
    "metadata": {"topic": "t", "channel": "kafka:t"},
    "matchingRules": {"content": {"$.id": {"matchers": [{"match": "integer"}]}}},
}


def test_v3_message_pact_is_read() -> None:
    pact = loads_pact(json.dumps(V3))
    assert pact.spec == "3.0.0"
    item = pact.interaction("payment authorized")
    assert item.provider_states[0].params == {"id": "p-1"}
    assert item.message.topic == "payments"
    assert item.message.contents.value == {"payment_id": "p-1", "amount": 10}
    assert [m.kind for m in item.message.matching_rules.category("metadata")["topic"].matchers] == [
        "regex"
    ]
    assert item.message.generators.category("body")["$.payment_id"].kind == "Regex"


def test_v2_style_rules_in_a_v3_file_are_read() -> None:
    raw = json.loads(json.dumps(V3))
    raw["messages"][0]["matchingRules"] = {"$.body.amount": {"match": "type"}}
    rules = loads_pact(json.dumps(raw)).interaction("payment authorized").message.matching_rules
    assert list(rules.category("body")) == ["$.amount"]


def test_v4_async_and_sync_messages_are_read() -> None:
    sync = {
        "type": "Synchronous/Messages",
        "description": "ask",
        "request": {"contents": {"content": "hi", "contentType": "text/plain"}},
        "response": [{"contents": {"content": "aGk=", "encoded": "base64"}}],
    }
    pact = loads_pact(json.dumps(_v4([ASYNC_V4, sync])))
    event, ask = pact.interaction("an event"), pact.interaction("ask")
    assert event.kind == ASYNC and event.message.channel == "kafka:t"
    assert list(event.message.matching_rules.category("body")) == ["$.id"]
    assert ask.kind == SYNC and ask.message.contents.value == "hi"
    assert ask.responses[0].contents.value == b"hi"


@pytest.mark.parametrize("spec", ["3.0.0", "4.0"])
def test_writing_is_deterministic_and_round_trips(spec: str) -> None:
    pact = loads_pact(json.dumps(V3))
    text = dump_pact(pact, spec)
    assert text.endswith("}\n") and text == dump_pact(pact, spec)
    again = loads_pact(text)
    assert dump_pact(again, spec) == text
    reordered = loads_pact(json.dumps({**V3, "messages": V3["messages"][::-1]}))
    assert dump_pact(reordered, spec) == text  # interaction order in the file does not matter
    assert content_hash(pact, spec) == content_hash(reordered, spec)
    assert content_hash(pact, spec).startswith("sha256:")


def test_load_pact_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(_v4([ASYNC_V4])))
    assert load_pact(path).interactions[0].description == "an event"


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ("{not json", "not valid JSON (line 1, column 2"),
        (_v4([ASYNC_V4], version="5.0"), "$.metadata.pactSpecification.version"),
        (
            _v4(
                [{**ASYNC_V4, "matchingRules": {"body": {"$.id": {"matchers": [{"match": "x"}]}}}}]
            ),
            "$.interactions[0].matchingRules.body['$.id'].matchers[0].match: unknown matcher 'x'",
        ),
        (
            _v4([{**ASYNC_V4, "generators": {"body": {"$.id": {"type": "Nope"}}}}]),
            "$.interactions[0].generators.body['$.id'].type: unknown generator 'Nope'",
        ),
        (
            _v4(
                [
                    {
                        **ASYNC_V4,
                        "matchingRules": {
                            "body": {"$.id": {"matchers": [{"match": "regex", "regex": "[a-z]+"}]}}
                        },
                    }
                ]
            ),
            "$.interactions[0].matchingRules.body['$.id'].matchers[0]: the example 1 at $.id "
            "does not match",
        ),
        (
            _v4(
                [
                    {
                        **ASYNC_V4,
                        "matchingRules": {
                            "body": {"$.id": {"matchers": [{"match": "regex", "regex": "(a)\\1"}]}}
                        },
                    }
                ]
            ),
            "matchers[0].regex: regex '(a)\\\\1' uses a backreference",
        ),
        (_v4([{**ASYNC_V4, "type": "Synchronous/HTTP"}]), "$.interactions[0].type"),
        ({**V3, "consumer": {}}, "$.consumer.name"),
        (
            _v4([{**ASYNC_V4, "matchingRules": {"body": {"$.a[": {"match": "type"}}}}]),
            "bad path expression",
        ),
    ],
    ids=[
        "malformed-json",
        "unknown-version",
        "unknown-matcher",
        "unknown-generator",
        "regex-example",
        "re2-unsupported",
        "http-interaction",
        "no-consumer",
        "bad-path",
    ],
)
def test_bad_input_names_the_file_and_json_path(raw: Any, where: str) -> None:
    text = raw if isinstance(raw, str) else json.dumps(raw)
    with pytest.raises(ContractError) as info:
        loads_pact(text, "pacts/c-p.json")
    assert isinstance(info.value, UsageError)
    assert str(info.value).startswith("pacts/c-p.json: ")
    assert where in str(info.value)
