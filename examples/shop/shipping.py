"""shipping: schedules a shipment for each authorised payment.

Consumes the payments topic (consumer group ``<prefix>-shipping``); for each
``PaymentAuthorized`` publishes ``ShipmentScheduled`` to the RabbitMQ topic exchange
``shipping`` with routing key ``shipment.scheduled`` (persistent, publisher confirms), with the
correlation id (header and ``correlation_id`` property) carried over, and the trace context by
OpenTelemetry's instrumentations (:mod:`examples.shop.telemetry`). While RabbitMQ cannot be
reached a shipment is published again until it is confirmed (the connection is robust: it comes
back by itself). FAULT=duplicate publishes every shipment twice; FAULT=drop-trace handles each
payment in a trace of its own (the context is lost here, the correlation id is not).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from aio_pika.abc import AbstractExchange
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError
from aiokafka import ConsumerRecord

from examples.shop import amqp_io, kafka_io, propagation, telemetry
from examples.shop.runner import announce_ready, main, until_stopped
from examples.shop.settings import Settings

log = logging.getLogger("shipping")


def schedule(payment: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "ShipmentScheduled",
        "order_id": payment["order_id"],
        "shipment_id": f"shp-{uuid.uuid4().hex[:12]}",
        "amount": payment.get("amount"),
    }


async def handle(record: ConsumerRecord, exchange: AbstractExchange, settings: Settings) -> None:
    payment = kafka_io.decode(record.value)
    if payment is None or payment.get("type") != "PaymentAuthorized":
        return
    if not isinstance(payment.get("order_id"), str):
        log.warning("skipping PaymentAuthorized without order_id: %r", payment)
        return
    shipment = schedule(payment)
    context = propagation.context_from_kafka(record.headers)
    copies = 2 if "duplicate" in settings.faults else 1
    with telemetry.handling(record, drop="drop-trace" in settings.faults):
        for _ in range(copies):
            await _publish(exchange, shipment, context)
    log.info("order %s -> ShipmentScheduled x%d", shipment["order_id"], copies)


async def _publish(exchange: AbstractExchange, shipment: dict[str, Any], context: Any) -> None:
    """Publish (confirmed); while RabbitMQ cannot be reached, again until the robust
    connection is back: the payment's offset is committed only after that."""
    while True:
        try:
            await exchange.publish(
                amqp_io.json_message(shipment, context, message_id=shipment["shipment_id"]),
                routing_key=amqp_io.SHIPMENT_ROUTING_KEY,
            )
            return
        except (AMQPError, ChannelInvalidStateError, ConnectionError) as exc:
            log.warning(
                "shipment for order %s not published (%r); again", shipment["order_id"], exc
            )
            await asyncio.sleep(0.2)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    group = settings.group("shipping")
    await kafka_io.ensure_topics(settings.kafka_bootstrap, settings.payments_topic)
    assignment = kafka_io.Assignment([settings.payments_topic])
    async with contextlib.AsyncExitStack() as stack:
        connection = await amqp_io.connect(settings.amqp_url)
        stack.push_async_callback(connection.close)
        channel = await connection.channel(publisher_confirms=True)
        exchange = await amqp_io.shipping_exchange(channel, settings.shipping_exchange)
        consumer = kafka_io.consumer(settings.kafka_bootstrap, group, "shipping")
        await consumer.start()
        stack.push_async_callback(consumer.stop)
        consumer.subscribe([settings.payments_topic], listener=assignment)

        async def consume() -> None:
            async for record in consumer:
                await handle(record, exchange, settings)
                await consumer.commit()

        async def ready() -> None:
            await assignment.ready.wait()
            announce_ready(
                f"shipping ready group={group} "
                f"partitions={kafka_io.describe(assignment.partitions)} "
                f"exchange={settings.shipping_exchange}"
            )

        await until_stopped(stop, consume(), ready())


if __name__ == "__main__":
    main("shipping", serve)
