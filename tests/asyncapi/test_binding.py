"""A profile's ``asyncapi = "..."``: channels bound to the document's schemas, correlation ids
as rules, channel ids usable in scenarios — through ``eventharness run`` on the memory broker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eventharness.asyncapi.binding import bind_profile, broker_names
from eventharness.asyncapi.reader import load_document
from eventharness.env.config import Profile

FIXTURES = Path(__file__).parent / "fixtures"
EXE = str(Path(sys.executable).parent / "eventharness")
pytest_plugins = ["pytester"]

DOC = """\
asyncapi: 3.0.0
info: {title: shop, version: 1.0.0}
channels:
  orderPlaced:
    address: orders
    messages:
      OrderPlaced:
        correlationId: {location: '$message.payload#/order_id'}
        payload:
          type: object
          required: [order_id]
          properties: {order_id: {type: string}, total: {type: number}}
operations:
  placeOrder: {action: send, channel: {$ref: '#/channels/orderPlaced'}}
"""


def test_binding_schemas_rules_and_aliases() -> None:
    doc = load_document(FIXTURES / "shop-2.6.yaml")
    profile = Profile("p", brokers={"k": "embedded"}, channel_schemas={"k:orders": "mine"})
    bound = bind_profile(profile, doc)
    assert bound.profile.channel_schemas == {
        "k:orders": "mine",  # the profile's own binding wins
        "k:payments": {
            "PaymentAuthorized": "asyncapi:payments/PaymentAuthorized",
            "PaymentDeclined": "asyncapi:payments/PaymentDeclined",
        },
    }
    assert bound.profile.correlation == {"k:orders": "headers.correlation-id"}
    store = bound.store(None)
    avro = store.validator("asyncapi:payments/PaymentDeclined")
    assert avro.validate({"type": "PaymentDeclined", "reason": "no"}) == []
    assert avro.validate({"type": "PaymentDeclined"}) != []
    assert broker_names({"a": "amqp://x/", "b": "amqp://y/"})["amqp"] == "rabbit"  # ambiguous


def test_channel_ids_resolve_to_addresses() -> None:
    doc = load_document(FIXTURES / "sum-server.yaml")
    bound = bind_profile(Profile("p", brokers={"mq": "amqp://guest:guest@h:5672/"}), doc)
    assert bound.aliases == {"mq:replies": "mq:/{queue}", "mq:sum_queue": "mq:/sum_queue"}
    assert "mq:/{queue}" not in bound.profile.channel_schemas  # a parameter: not one channel


def test_run_uses_the_document(tmp_path: Path) -> None:
    (tmp_path / "asyncapi.yaml").write_text(DOC)
    (tmp_path / "eventharness.toml").write_text(
        '[profiles.default]\nbrokers = { kafka = "memory://binding" }\nasyncapi = "asyncapi.yaml"\n'
    )
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "a.yaml").write_text(
        "name: by channel id\nsteps:\n"
        "  - expect: {channel: kafka:orderPlaced, match: {order_id: o-1}, within: 2s}\n"
        "  - publish: {channel: kafka:orders, value: {order_id: o-1, total: 3}}\n"
    )
    (scenarios / "b.yaml").write_text(
        "name: bad total\nsteps:\n"
        '  - publish: {channel: kafka:orderPlaced, value: {order_id: o-2, total: "x"}}\n'
    )
    done = subprocess.run(
        [EXE, "run", "scenarios"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "✓ by channel id" in done.stdout
    assert "✗ bad total" in done.stdout and "$.total: 'x' is not of type 'number'" in done.stdout


PLUGIN_TEST = """\
import pytest
from eventharness.model.errors import ScenarioFailed


async def test_channel_id_and_schema(harness):
    async with harness.scenario("by id") as s:
        s.expect("kafka:orderPlaced", match={"order_id": "o-1"}, within=2)
        await s.publish("kafka:orders", {"order_id": "o-1", "total": 3})


async def test_bad_total_is_refused(harness):
    with pytest.raises(ScenarioFailed, match="is not of type 'number'"):
        async with harness.scenario("bad") as s:
            await s.publish("kafka:orderPlaced", {"order_id": "o-2", "total": "x"})
"""


def test_pytest_plugin_profile_uses_the_document(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", asyncapi=DOC)
    pytester.makefile(
        ".toml",
        eventharness='[profiles.doc]\nbrokers = { kafka = "memory://plugin-doc" }\n'
        'asyncapi = "asyncapi.yaml"\n',
    )
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "eventharness_profile = doc\n"
    )
    pytester.makepyfile(test_doc=PLUGIN_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
