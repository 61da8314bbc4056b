"""A two-hop service written with FastStream, on the embedded Kafka and RabbitMQ, tested with
no correlation settings at all: FastStream reads and propagates the Kafka header
``correlation_id`` and the AMQP ``correlation_id`` property, and eventharness stamps and reads
both. With the header dropped by the service, the nearest miss says how to claim the events
by the business key instead."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

import eventharness as eh
from tests.conftest import broker_missing

pytestmark = [pytest.mark.kafka, pytest.mark.amqp, pytest.mark.timeout(180)]


@contextlib.asynccontextmanager
async def faststream_shop(
    kafka_url: str, amqp_url: str, names: dict[str, str], *, drop_correlation: bool = False
) -> AsyncIterator[None]:
    """payments (Kafka orders → Kafka payments) and shipping (Kafka payments → a RabbitMQ
    topic exchange), with FastStream's decorators, as a FastStream user writes them."""
    try:
        from faststream.kafka import KafkaBroker
        from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange
    except ImportError as exc:  # pragma: no cover - depends on the install
        broker_missing("FastStream", f"pip install -e '.[dev]' ({exc})")
        raise
    kafka = KafkaBroker(kafka_url.removeprefix("kafka://"))
    rabbit = RabbitBroker(amqp_url)
    exchange = RabbitExchange(names["exchange"], type=ExchangeType.TOPIC, auto_delete=True)

    if drop_correlation:  # a service that starts a new correlation of its own

        @kafka.subscriber(names["orders"], auto_offset_reset="earliest")
        async def payments_losing_it(order: dict[str, Any]) -> None:
            payment = {"type": "PaymentAuthorized", "order_id": order["order_id"], "amount": 42}
            await kafka.publish(payment, names["payments"], correlation_id=uuid.uuid4().hex)

    else:

        @kafka.subscriber(names["orders"], auto_offset_reset="earliest")
        @kafka.publisher(names["payments"])
        async def payments(order: dict[str, Any]) -> dict[str, Any]:
            return {"type": "PaymentAuthorized", "order_id": order["order_id"], "amount": 42}

    @kafka.subscriber(names["payments"], auto_offset_reset="earliest")
    @rabbit.publisher(exchange=exchange, routing_key="shipment.scheduled")
    async def shipping(payment: dict[str, Any]) -> dict[str, Any]:
        return {"type": "ShipmentScheduled", "order_id": payment["order_id"]}

    async with kafka, rabbit:
        await rabbit.declare_exchange(exchange)
        await kafka.start()
        await rabbit.start()
        yield


def _names() -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    return {
        "orders": f"fs-orders-{run}",
        "payments": f"fs-payments-{run}",
        "exchange": f"fs-shipping-{run}",
    }


async def _create_topics(kafka_url: str, names: dict[str, str]) -> None:
    async with eh.Harness({"kafka": kafka_url}) as admin:
        for topic in (names["orders"], names["payments"]):
            await admin.transport("kafka").create_channel(topic, partitions=1)


async def test_a_faststream_flow_passes_with_no_correlation_settings(
    kafka_url: str, amqp_url: str
) -> None:
    names = _names()
    await _create_topics(kafka_url, names)
    async with (
        faststream_shop(kafka_url, amqp_url, names),
        eh.Harness({"kafka": kafka_url, "rabbit": amqp_url}, within=20) as h,
        h.scenario("faststream order ships") as s,
    ):
        pay = s.expect(f"kafka:{names['payments']}", type="PaymentAuthorized")
        s.expect(f"rabbit:{names['exchange']}/shipment.*", type="ShipmentScheduled", after=pay)
        await s.publish(
            f"kafka:{names['orders']}", {"type": "OrderPlaced", "order_id": "o-fs-1"}, key="o-1"
        )
    assert s.result is not None and s.result.passed
    received = [ev for ev in s.result.events if ev.direction == "in"]
    assert {ev.channel.partition(":")[0] for ev in received} == {"kafka", "rabbit"}
    assert all(ev.correlation_id == s.correlation_id for ev in received)


async def test_a_dropped_correlation_header_names_the_rule_that_would_claim_the_event(
    kafka_url: str, amqp_url: str
) -> None:
    names = _names()
    await _create_topics(kafka_url, names)
    payments = f"kafka:{names['payments']}"
    async with (
        faststream_shop(kafka_url, amqp_url, names, drop_correlation=True),
        eh.Harness({"kafka": kafka_url, "rabbit": amqp_url}, within=8) as h,
    ):
        with pytest.raises(eh.ScenarioFailed) as failed:
            async with h.scenario("faststream loses the correlation") as s:
                s.expect(payments, type="PaymentAuthorized")
                await s.publish(
                    f"kafka:{names['orders']}",
                    {"type": "OrderPlaced", "order_id": "o-fs-2"},
                    key="o-fs-2",
                )
    text = str(failed.value)
    assert "[timeout]" in text and "PaymentAuthorized" in text
    assert f"correlation: {{{payments}: value.order_id}}" in text, text
