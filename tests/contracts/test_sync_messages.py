"""V4 ``Synchronous/Messages`` in broker mode: the request (its example contents) is published on
its channel with the scenario's correlation id, the provider's reply is collected on the
response's channel and compared with the response's rules — on the memory broker and the
embedded Kafka. A wrong reply names the path; function mode and a request with no response are
refused up front (exit 2 material)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import eventharness as eh
from eventharness.contracts import LoadedPact, loads_pact
from eventharness.contracts.broker import verify_on_harness
from eventharness.contracts.providers import ProviderConfig, StateHandler
from eventharness.contracts.verify import check_inputs
from eventharness.model.errors import ContractError
from tests.conftest import unique


def _pact(requests: str, quotes: str, responses: bool = True) -> LoadedPact:
    sync: dict[str, Any] = {
        "type": "Synchronous/Messages",
        "description": "a price is quoted",
        "providerStates": [{"name": "a catalogue"}],
        "request": {
            "contents": {
                "content": {"type": "PriceQuery", "sku": "A-1"},
                "contentType": "application/json",
            },
            "metadata": {"channel": requests, "key": "A-1"},
        },
        "response": [
            {
                "contents": {
                    "content": {"type": "PriceQuote", "sku": "A-1", "price": 9.5},
                    "contentType": "application/json",
                },
                "metadata": {"channel": quotes},
                "matchingRules": {"body": {"$.price": {"matchers": [{"match": "number"}]}}},
            }
        ]
        if responses
        else [],
    }
    raw = {
        "consumer": {"name": "checkout"},
        "provider": {"name": "pricing"},
        "interactions": [sync],
        "metadata": {"pactSpecification": {"version": "4.0"}},
    }
    return LoadedPact(loads_pact(json.dumps(raw), "pricing.json"), "pricing.json")


def _config() -> ProviderConfig:
    return ProviderConfig(
        "pricing", "pricing.yaml", states={"a catalogue": StateHandler("a catalogue", "none")}
    )


async def _verify(url: str, price: Any) -> Any:
    requests, quotes = f"kafka:{unique('price-requests')}", f"kafka:{unique('price-quotes')}"
    pact = _pact(requests, quotes)
    config = _config()
    reply = [
        {
            "channel": quotes,
            "value": {"type": "PriceQuote", "sku": "${in.value.sku}", "price": price},
        }
    ]
    harness = eh.Harness({"kafka": url}, within=10.0)
    async with harness, harness.stub(requests, type="PriceQuery", respond=reply):
        chosen = check_inputs([pact], ["pricing"], lambda _name: config)
        return await verify_on_harness(chosen, harness, lambda _name: config, within=10.0)


@pytest.fixture(params=["memory", "kafka"])
def url(request: pytest.FixtureRequest, memory_url: str) -> str:
    if request.param == "memory":
        return memory_url
    return str(request.getfixturevalue("kafka_url"))


def test_the_request_is_sent_and_the_reply_compared_with_the_response(url: str) -> None:
    good = asyncio.run(_verify(url, 12.25))
    assert good.ok, good.render()
    text = good.render()
    assert "checkout ← pricing: 'a price is quoted'" in text
    bad = asyncio.run(_verify(url, "12.25"))
    (result,) = bad.results
    assert not bad.ok
    assert [m.path for m in result.mismatches] == ["$.price"], result.render()
    assert "→ kafka:price-requests" in result.render()  # the request, on the timeline


def test_function_mode_and_a_missing_response_are_refused() -> None:
    with pytest.raises(
        ContractError, match=r"pricing.json: \$.interactions\[0\].type: .*broker mode"
    ):
        check_inputs([_pact("kafka:a", "kafka:b")], None, None)
    config = _config()
    with pytest.raises(ContractError, match=r"\$.interactions\[0\].response: .*no response"):
        check_inputs([_pact("kafka:a", "kafka:b", responses=False)], None, lambda _n: config)
