"""orders-view: a read model of every order, served over HTTP.

Consumes the orders and payments topics (consumer group ``<prefix>-view``) and the shipping
exchange (its own durable queue ``<prefix>-orders-view`` bound with ``shipment.#``), and answers
on 127.0.0.1:ORDERS_VIEW_PORT:

* ``GET /orders/{id}`` → 200 ``{"order_id", "status", "total", "amount"}`` or 404; ``status``
  is ``placed``, ``paid``, ``declined`` or ``shipped``;
* ``GET /health`` → 200 ``{"ready": true}`` once the group has its partitions and the queue is
  bound, 503 ``{"ready": false}`` before.

Events of one order can arrive in any order (three sources), so a status only moves forward:
placed → paid/declined → shipped. FAULT=stale-view ignores shipments (status stays "paid").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from aio_pika.abc import AbstractIncomingMessage

from examples.shop import amqp_io, http_server, kafka_io, telemetry
from examples.shop.runner import announce_ready, main, until_stopped
from examples.shop.settings import Settings

log = logging.getLogger("orders-view")

_STATUS = {
    "OrderPlaced": "placed",
    "PaymentAuthorized": "paid",
    "PaymentDeclined": "declined",
    "ShipmentScheduled": "shipped",
}
_RANK = {"placed": 0, "paid": 1, "declined": 1, "shipped": 2}


@dataclass
class ReadModel:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, event: dict[str, Any]) -> bool:
        """Fold one event in; False when it is not an order event."""
        status = _STATUS.get(event.get("type", ""))
        order_id = event.get("order_id")
        if status is None or not isinstance(order_id, str):
            return False
        view = self.orders.setdefault(
            order_id, {"order_id": order_id, "status": status, "total": None}
        )
        if _RANK[status] > _RANK[view["status"]]:
            view["status"] = status
        if event["type"] == "OrderPlaced":
            view["total"] = event.get("total")
        elif "amount" in event:
            view["amount"] = event["amount"]
        return True


@dataclass
class View:
    settings: Settings
    model: ReadModel = field(default_factory=ReadModel)
    kafka_ready: bool = False
    amqp_ready: bool = False

    def http(self, path: str) -> tuple[int, Any]:
        if path == "/health":
            ready = self.kafka_ready and self.amqp_ready
            return (200 if ready else 503), {"ready": ready}
        prefix = "/orders/"
        if path.startswith(prefix) and len(path) > len(prefix):
            order = self.model.orders.get(path[len(prefix) :])
            if order is None:
                return 404, {"error": f"no order {path[len(prefix) :]!r}"}
            return 200, order
        return 404, {"error": f"no route {path}; try /orders/{{id}} or /health"}

    async def on_shipment(self, message: AbstractIncomingMessage) -> None:
        async with message.process(requeue=False):
            event = kafka_io.decode(message.body)
            if event is None:
                return
            if "stale-view" in self.settings.faults:
                log.info(
                    "%s %s ignored (FAULT=stale-view)", event.get("type"), event.get("order_id")
                )
                return
            if self.model.apply(event):
                log.info("%s %s applied", event.get("type"), event.get("order_id"))


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    group = settings.group("view")
    queue_name = f"{settings.group_prefix}-orders-view"
    topics = [settings.orders_topic, settings.payments_topic]
    view = View(settings)
    async with contextlib.AsyncExitStack() as stack:
        server = await http_server.serve("127.0.0.1", settings.orders_view_port, view.http)
        stack.push_async_callback(server.wait_closed)
        stack.callback(server.close)

        await kafka_io.ensure_topics(settings.kafka_bootstrap, *topics)
        connection = await amqp_io.connect(settings.amqp_url)
        stack.push_async_callback(connection.close)
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=50)
        exchange = await amqp_io.shipping_exchange(channel, settings.shipping_exchange)
        queue = await channel.declare_queue(queue_name, durable=True)
        await queue.bind(exchange, "shipment.#")
        tag = await queue.consume(view.on_shipment)
        stack.push_async_callback(queue.cancel, tag)
        view.amqp_ready = True

        consumer = kafka_io.consumer(settings.kafka_bootstrap, group, "orders-view")
        assignment = kafka_io.Assignment(topics)
        await consumer.start()
        stack.push_async_callback(consumer.stop)
        consumer.subscribe(topics, listener=assignment)

        async def consume() -> None:
            async for record in consumer:
                with telemetry.handling(record):
                    event = kafka_io.decode(record.value)
                    if event is not None and view.model.apply(event):
                        log.info("%s %s applied", event.get("type"), event.get("order_id"))
                await consumer.commit()

        async def ready() -> None:
            await assignment.ready.wait()
            view.kafka_ready = True
            announce_ready(
                f"orders-view ready group={group} "
                f"partitions={kafka_io.describe(assignment.partitions)} queue={queue_name} "
                f"http=http://127.0.0.1:{settings.orders_view_port}"
            )

        await until_stopped(stop, consume(), ready())


if __name__ == "__main__":
    main("orders-view", serve)
