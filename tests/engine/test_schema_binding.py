"""Schemas in scenarios: channels bound to subjects, Avro on publish, schema= on steps."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import fastavro
import pytest

import eventharness as eh
from eventharness.transports.memory import MemoryTransport

PAYMENT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["type", "order_id", "amount"],
    "properties": {
        "type": {"const": "PaymentAuthorized"},
        "order_id": {"type": "string"},
        "amount": {"type": "number"},
    },
}
ORDER_AVRO = {
    "type": "record",
    "name": "OrderPlaced",
    "namespace": "shop",
    "fields": [{"name": "order_id", "type": "string"}, {"name": "total", "type": "int"}],
}


@pytest.fixture
def schemas(tmp_path: Path) -> Path:
    (tmp_path / "shop.PaymentAuthorized.json").write_text(json.dumps(PAYMENT))
    (tmp_path / "shop.OrderPlaced.avsc").write_text(json.dumps(ORDER_AVRO))
    return tmp_path


@pytest.fixture
async def system(memory_url: str) -> AsyncIterator[MemoryTransport]:
    async with MemoryTransport(memory_url) as transport:
        yield transport


def bound(memory_url: str, schemas: Path) -> eh.Harness:
    return eh.Harness(
        {"k": memory_url},
        schemas=schemas,
        channel_schemas={"k:payments": {"PaymentAuthorized": "shop.PaymentAuthorized"}},
    )


async def test_a_bound_channel_checks_every_event_of_the_scenario(
    memory_url: str, schemas: Path, system: MemoryTransport
) -> None:
    async with bound(memory_url, schemas) as h:
        with pytest.raises(eh.ScenarioFailed) as caught:
            async with h.scenario("bad payment") as s:
                s.expect("k:payments", type="PaymentAuthorized", within=2)
                await s.publish("k:orders", {"type": "OrderPlaced"})
                bad = {"type": "PaymentAuthorized", "order_id": "o-1", "amount": "42"}
                await system.publish(
                    "payments",
                    eh.Record(
                        json.dumps(bad).encode(),
                        headers={"correlation-id": s.correlation_id.encode()},
                    ),
                )
    (failure,) = caught.value.result.failures
    assert (failure.kind, failure.step) == ("schema", "k:payments")
    assert (
        "violate 'shop.PaymentAuthorized@1' (bound to the channel); "
        "first: PaymentAuthorized key=- at"
    ) in failure.message
    assert any("$.amount" in line for line in failure.details)


async def test_publishing_on_a_bound_channel_validates_first(
    memory_url: str, schemas: Path
) -> None:
    async with bound(memory_url, schemas) as h:
        with pytest.raises(eh.ScenarioFailed) as caught:
            async with h.scenario("bad publish") as s:
                await s.publish(
                    "k:payments", {"type": "PaymentAuthorized", "order_id": 1, "amount": 2}
                )
    assert [(f.kind, f.step) for f in caught.value.result.failures] == [
        ("schema", "publish k:payments")
    ]


async def test_an_unknown_bound_subject_fails_before_connecting(
    memory_url: str, schemas: Path
) -> None:
    harness = eh.Harness(
        {"k": memory_url}, schemas=schemas, channel_schemas={"k:payments": "shop.Nope"}
    )
    with pytest.raises(eh.ConfigError, match=r"shop\.Nope"):
        await harness.connect()


async def test_avro_schema_on_publish_sends_avro_binary(
    memory_url: str, schemas: Path, system: MemoryTransport
) -> None:
    observer = await system.subscribe("orders")
    async with eh.Harness({"k": memory_url}, schemas=schemas) as h, h.scenario("avro") as s:
        sent = await s.publish(
            "k:orders", {"order_id": "o-1", "total": 42}, schema="shop.OrderPlaced"
        )
    record = await observer.__aiter__().__anext__()
    await observer.aclose()
    decoded = fastavro.schemaless_reader(
        io.BytesIO(record.value), fastavro.parse_schema(ORDER_AVRO), None
    )
    assert decoded == {"order_id": "o-1", "total": 42}
    assert sent.raw == record.value


async def test_registry_avro_round_trip_in_the_wire_format(memory_url: str) -> None:
    """Publish with a registry subject: Confluent wire format out; collect decodes it back."""
    from eventharness.schemas import RegistryClient
    from tests.schemas.registry_server import RegistryServer

    with RegistryServer() as registry:
        schema_id = RegistryClient(registry.url).register("orders-value", ORDER_AVRO, "avro")
        harness = eh.Harness({"k": memory_url}, schemas=registry.url)
        async with harness as h, h.scenario("avro over the wire") as s:
            s.expect("k:orders", match={"order_id": "o-7", "total": 7}, within=2)
            sent = await s.publish(
                "k:orders", {"order_id": "o-7", "total": 7}, schema="orders-value"
            )
    assert sent.raw[:5] == b"\x00" + int(schema_id).to_bytes(4, "big")
    assert s.result is not None and s.result.passed
    collected = [e for e in s.result.events if e.direction == "in"]
    assert collected[0].value == {"order_id": "o-7", "total": 7}
