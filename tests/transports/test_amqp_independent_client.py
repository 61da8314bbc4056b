"""A second opinion on the AMQP mapping: pika (not our client) on the other end of the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pika
import pytest

from eventharness.model.events import Record
from eventharness.transports.amqp import AmqpTransport
from eventharness.transports.amqp_mapping import KEY_HEADER
from tests.conftest import unique

pytestmark = pytest.mark.amqp


@pytest.fixture
async def transport(amqp_url: str) -> AsyncIterator[AmqpTransport]:
    async with AmqpTransport(amqp_url) as t:
        yield t


@pytest.fixture
async def exchange(transport: AmqpTransport) -> AsyncIterator[str]:
    name = unique("eh-pika")
    await transport.create_channel(name)
    yield name
    await transport.delete_channel(name)


def pika_publish(amqp_url: str, exchange: str, routing_key: str, body: bytes, **props: Any) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(exchange, routing_key, body, pika.BasicProperties(**props))
    finally:
        connection.close()


async def test_pika_publishes_our_observer_collects(
    amqp_url: str, transport: AmqpTransport, exchange: str
) -> None:
    sub = await transport.subscribe(f"{exchange}/shipment.*")
    headers = {"correlation-id": "c-ü-1", "city": "Zürich 東京", "attempt": 3}
    await anyio.to_thread.run_sync(
        lambda: pika_publish(
            amqp_url,
            exchange,
            "shipment.sent",
            b'{"order_id": "o-9"}',
            headers=headers,
            correlation_id="c-ü-1",
            message_id="m-1",
            content_type="application/json",
            type="ShipmentSent",
            timestamp=1_700_000_000,
        )
    )
    with anyio.fail_after(5):
        got = await anext(aiter(sub))
    assert got.value == b'{"order_id": "o-9"}'
    assert got.headers == {
        "correlation-id": "c-ü-1".encode(),
        "city": "Zürich 東京".encode(),
        "attempt": b"3",
    }
    assert got.key is None
    assert dict(got.properties) == {
        "exchange": exchange,
        "routing_key": "shipment.sent",
        "correlation_id": "c-ü-1",
        "message_id": "m-1",
        "content_type": "application/json",
        "type": "ShipmentSent",
    }
    assert got.broker_time == 1_700_000_000


async def test_we_publish_a_pika_consumer_reads(
    amqp_url: str, transport: AmqpTransport, exchange: str
) -> None:
    queue = unique("eh-pika-q")

    def declare() -> None:
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        try:
            channel = connection.channel()
            channel.queue_declare(queue)
            channel.queue_bind(queue, exchange, routing_key="invoice.#")
        finally:
            connection.close()

    def read() -> tuple[Any, Any, bytes]:
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        try:
            channel = connection.channel()
            for method, props, body in channel.consume(queue, auto_ack=True, inactivity_timeout=5):
                channel.cancel()
                return method, props, body
            raise AssertionError("unreachable")
        finally:
            connection.channel().queue_delete(queue)
            connection.close()

    await anyio.to_thread.run_sync(declare)
    sent = Record(
        b"\x00\x01binary",
        key=b"inv-1",
        headers={"correlation-id": "c-ü-2".encode(), "raw": b"\xff\xfe"},
        properties={"correlation_id": "c-ü-2", "message_id": "m-2", "type": "InvoiceIssued"},
    )
    await transport.publish(f"{exchange}/invoice.issued.eu", sent)
    with anyio.fail_after(10):
        method, props, body = await anyio.to_thread.run_sync(read)
    assert method is not None, "pika saw no message within 5 s"
    assert body == b"\x00\x01binary"
    assert method.exchange == exchange
    assert method.routing_key == "invoice.issued.eu"
    assert props.correlation_id == "c-ü-2"
    assert props.message_id == "m-2"
    assert props.type == "InvoiceIssued"
    assert props.delivery_mode == 2
    assert props.headers == {
        "correlation-id": "c-ü-2",
        "raw": b"\xff\xfe",
        KEY_HEADER: "inv-1",
    }
