"""payments: authorises or declines each order.

Consumes ``OrderPlaced`` from the orders topic (consumer group ``<prefix>-payments``) and
publishes ``PaymentAuthorized`` when ``total <= 1000`` or ``PaymentDeclined``
(``reason: "limit exceeded"``) otherwise. A payment keeps its order's record key (the order id
when the order has none), so everything about one key stays in one partition, in order.
The ``correlation-id`` header is carried over; the trace context by OpenTelemetry's aiokafka
instrumentation (:mod:`examples.shop.telemetry`). An order's offset is committed once its
payment is sent; a payment the broker does not take (it is unreachable) is sent again until it
is. Faults (FAULT=...): reorder, drop, slow, bad-schema, lost-correlation (neither the
correlation id nor the trace context), big-total, commit-early — see README.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError, KafkaTimeoutError

from examples.shop import kafka_io, propagation, telemetry
from examples.shop.runner import announce_ready, main, until_stopped
from examples.shop.settings import Settings

log = logging.getLogger("payments")

# An order to pay: the event, the key and the headers its payment is sent with.
Order = tuple[dict[str, Any], bytes, list[tuple[str, bytes]]]


def decide(order: dict[str, Any], limit: float) -> dict[str, Any]:
    """The payment event for one order."""
    amount = order["total"]
    if amount <= limit:
        return {
            "type": "PaymentAuthorized",
            "order_id": order["order_id"],
            "amount": amount,
            "payment_id": f"pay-{uuid.uuid4().hex[:12]}",
        }
    return {
        "type": "PaymentDeclined",
        "order_id": order["order_id"],
        "amount": amount,
        "reason": "limit exceeded",
    }


def valid_order(order: dict[str, Any]) -> bool:
    total = order.get("total")
    return (
        isinstance(order.get("order_id"), str)
        and isinstance(total, int | float)
        and not isinstance(total, bool)
    )


@dataclass
class Payments:
    settings: Settings
    producer: AIOKafkaProducer
    seen: int = 0
    # key → the order held, its release timer, the trace context it was received in
    held: dict[bytes, tuple[Order, asyncio.Task[None], Any]] = field(default_factory=dict)

    @property
    def faults(self) -> frozenset[str]:
        return self.settings.faults

    async def handle(self, record: ConsumerRecord) -> None:
        order = kafka_io.decode(record.value)
        if order is None or order.get("type") != "OrderPlaced":
            return
        if not valid_order(order):
            log.warning("skipping OrderPlaced without order_id/numeric total: %r", order)
            return
        self.seen += 1
        if "drop" in self.faults and self.seen % self.settings.drop_every == 0:
            log.info("order %s dropped (FAULT=drop)", order["order_id"])
            return
        lost = "lost-correlation" in self.faults
        headers: list[tuple[str, bytes]] = []
        if not lost:
            headers = propagation.kafka_headers(propagation.context_from_kafka(record.headers))
        key = record.key or order["order_id"].encode()
        with telemetry.handling(record, drop=lost):
            if "reorder" in self.faults:
                await self._reorder(key, (order, key, headers))
            else:
                await self.pay((order, key, headers))

    async def pay(self, item: Order) -> None:
        order, key, headers = item
        if "slow" in self.faults:
            await asyncio.sleep(self.settings.slow_seconds)
        if self.settings.payment_seconds:
            await asyncio.sleep(self.settings.payment_seconds)  # the payment provider answers
        payment = decide(order, self.settings.payment_limit)
        if "big-total" in self.faults and order["total"] >= self.settings.payment_limit:
            payment["amount"] = round(order["total"] * 0.99, 2)
        if "bad-schema" in self.faults:
            payment["amount"] = str(payment["amount"])
        while True:
            try:
                await self.producer.send_and_wait(
                    self.settings.payments_topic, kafka_io.encode(payment), key=key, headers=headers
                )
                break
            except KafkaError as exc:
                if not (exc.retriable or isinstance(exc, KafkaTimeoutError)):
                    raise  # not a broker out of reach: the service fails, saying why
                if "commit-early" in self.faults:  # its offset is committed: nobody will retry
                    log.error("order %s lost: payment not sent (%r)", order["order_id"], exc)
                    return
                log.warning("payment for order %s not sent (%r); again", order["order_id"], exc)
                await asyncio.sleep(0.2)
        log.info("order %s -> %s", payment["order_id"], payment["type"])

    async def _reorder(self, key: bytes, item: Order) -> None:
        """FAULT=reorder: hold an order until the next order with the same key arrives,
        then pay the newer one first; an order left alone is paid after REORDER_WINDOW s."""
        pending = self.held.pop(key, None)
        if pending is None:
            timer = asyncio.create_task(self._release(key, item))  # in this order's trace
            self.held[key] = (item, timer, telemetry.current())
            return
        earlier, timer, context = pending
        timer.cancel()
        await self.pay(item)
        with telemetry.resumed(context):  # the earlier order's payment, in its own trace
            await self.pay(earlier)

    async def _release(self, key: bytes, item: Order) -> None:
        await asyncio.sleep(self.settings.reorder_window)
        if key in self.held and self.held[key][0] is item:
            del self.held[key]
            await self.pay(item)

    async def aclose(self) -> None:
        for _, timer, _context in self.held.values():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    group = settings.group("payments")
    await kafka_io.ensure_topics(
        settings.kafka_bootstrap, settings.orders_topic, settings.payments_topic
    )
    assignment = kafka_io.Assignment([settings.orders_topic])
    async with contextlib.AsyncExitStack() as stack:
        producer = kafka_io.producer(settings.kafka_bootstrap, "payments", settings.send_timeout)
        await producer.start()
        stack.push_async_callback(producer.stop)
        early = "commit-early" in settings.faults  # auto-commit: read is as good as paid
        consumer = kafka_io.consumer(settings.kafka_bootstrap, group, "payments", auto_commit=early)
        await consumer.start()
        stack.push_async_callback(consumer.stop)
        consumer.subscribe([settings.orders_topic], listener=assignment)
        payments = Payments(settings, producer)
        stack.push_async_callback(payments.aclose)

        async def consume() -> None:
            async for record in consumer:
                await payments.handle(record)
                if not early:
                    await _commit(consumer)

        async def ready() -> None:
            await assignment.ready.wait()
            announce_ready(
                f"payments ready group={group} "
                f"partitions={kafka_io.describe(assignment.partitions)}"
            )

        await until_stopped(stop, consume(), ready())


async def _commit(consumer: AIOKafkaConsumer) -> None:
    """Commit what was consumed, trying again while the broker cannot be reached."""
    while True:
        try:
            await consumer.commit()
            return
        except KafkaError as exc:
            if not exc.retriable:  # a rebalance took the partition: its new owner goes on
                log.warning("commit failed (%r)", exc)
                return
            log.warning("commit failed (%r); again", exc)
            await asyncio.sleep(0.2)


if __name__ == "__main__":
    main("payments", serve)
