"""payments and shipping as a FastStream user writes them: ``@broker.subscriber`` and
``@broker.publisher``, no correlation code at all — FastStream carries the ``correlation_id``
header (Kafka) and property (RabbitMQ) from a handler's input to the message it returns.

* payments: Kafka ``ORDERS_TOPIC`` → ``PaymentAuthorized`` on Kafka ``PAYMENTS_TOPIC``;
* shipping: Kafka ``PAYMENTS_TOPIC`` → ``ShipmentScheduled`` on the RabbitMQ topic exchange
  ``SHIPPING_EXCHANGE`` (routing key ``shipment.scheduled``).

``FAULT=drop-correlation`` makes payments publish its answer itself with a correlation id of
its own, as a service does that calls ``broker.publish`` without passing the context on.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ORDERS = os.environ.get("ORDERS_TOPIC", "orders")
PAYMENTS = os.environ.get("PAYMENTS_TOPIC", "payments")
EXCHANGE = os.environ.get("SHIPPING_EXCHANGE", "shipping")
FAULT = os.environ.get("FAULT", "")


async def create_topics(*topics: str) -> None:
    """The topics this service reads, made before it subscribes (a reader with no group
    sees a topic created later only at its next metadata refresh)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        for topic in topics:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


def payment_for(order: dict[str, Any]) -> dict[str, Any]:
    return {"type": "PaymentAuthorized", "order_id": order["order_id"], "amount": order["total"]}


def payments() -> FastStream:
    broker = KafkaBroker(BOOTSTRAP)
    if FAULT == "drop-correlation":

        @broker.subscriber(ORDERS, auto_offset_reset="earliest")
        async def pay_losing_the_correlation(order: dict[str, Any]) -> None:
            await broker.publish(payment_for(order), PAYMENTS, correlation_id=uuid.uuid4().hex)

    else:

        @broker.subscriber(ORDERS, auto_offset_reset="earliest")
        @broker.publisher(PAYMENTS)
        async def pay(order: dict[str, Any]) -> dict[str, Any]:
            return payment_for(order)

    app = FastStream(broker)
    app.on_startup(lambda: create_topics(ORDERS, PAYMENTS))
    app.after_startup(_ready("payments"))
    return app


def shipping() -> FastStream:
    kafka = KafkaBroker(BOOTSTRAP)
    rabbit = RabbitBroker(AMQP_URL)
    exchange = RabbitExchange(EXCHANGE, type=ExchangeType.TOPIC)

    @kafka.subscriber(PAYMENTS, auto_offset_reset="earliest")
    @rabbit.publisher(exchange=exchange, routing_key="shipment.scheduled")
    async def ship(payment: dict[str, Any]) -> dict[str, Any]:
        return {"type": "ShipmentScheduled", "order_id": payment["order_id"]}

    async def start_rabbit() -> None:
        await create_topics(PAYMENTS)
        await rabbit.start()
        await rabbit.declare_exchange(exchange)

    app = FastStream(kafka)
    app.on_startup(start_rabbit)
    app.after_startup(_ready("shipping"))
    app.after_shutdown(rabbit.stop)
    return app


def _ready(name: str) -> Callable[[], None]:
    def ready() -> None:
        print(f"{name} ready", flush=True)

    return ready


SERVICES: dict[str, Callable[[], FastStream]] = {"payments": payments, "shipping": shipping}
