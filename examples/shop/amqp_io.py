"""RabbitMQ plumbing shared by the services: connection and the shipping exchange."""

from __future__ import annotations

import json
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

SHIPMENT_ROUTING_KEY = "shipment.scheduled"


async def connect(url: str) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(url, client_properties={"connection_name": "shop"})


async def shipping_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    """The topic exchange shipments are published to (declared by whoever starts first)."""
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


def json_message(
    event: dict[str, Any], context: dict[str, str], message_id: str | None = None
) -> aio_pika.Message:
    """A persistent JSON message carrying the correlation id as header and as property."""
    return aio_pika.Message(
        json.dumps(event, separators=(",", ":")).encode(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        correlation_id=context.get("correlation-id"),
        message_id=message_id,
        type=event.get("type"),
        headers=dict(context),
    )
