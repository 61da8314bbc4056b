"""A small two-hop system on the memory broker: orders → payments → shipments.

``payments`` consumes the ``orders`` topic as a consumer group and publishes
``PaymentAuthorized`` to ``payments``; ``shipping`` consumes ``payments`` and publishes
``ShipmentScheduled`` to the ``shipping`` exchange (routing key ``shipment.scheduled``).
Each broken variant does one thing wrong, the way real services do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from eventharness.model.events import Record
from eventharness.transports.base import Subscription, Transport, open_transport

FAULTS = (
    "reordered",
    "dropped",
    "duplicated",
    "slow",
    "bad-schema",
    "lost-correlation",
    "inconsistent-amount",
)

PAYMENT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["type", "order_id", "amount"],
    "properties": {
        "type": {"const": "PaymentAuthorized"},
        "order_id": {"type": "string"},
        "amount": {"type": "number"},
    },
}


@dataclass(frozen=True)
class Shop:
    """Where the shop runs: its two brokers and the names of its topics and exchange."""

    kafka_url: str
    rabbit_url: str
    orders: str = "orders"
    payments: str = "payments"
    exchange: str = "shipping"

    @classmethod
    def unique(cls, kafka_url: str, rabbit_url: str) -> Shop:
        """Fresh names, so runs on shared real brokers never see each other's traffic."""
        tag = uuid.uuid4().hex[:8]
        return cls(kafka_url, rabbit_url, f"orders-{tag}", f"payments-{tag}", f"shipping-{tag}")

    @property
    def brokers(self) -> dict[str, str]:
        return {"kafka": self.kafka_url, "rabbit": self.rabbit_url}


async def _payments(shop: Shop, t: Transport, sub: Subscription, fault: str | None) -> None:
    async for rec in sub:
        order = json.loads(rec.value)
        if fault == "dropped":
            continue
        if fault == "slow":
            await asyncio.sleep(1.5)  # the system under test is slow, on purpose
        if fault == "reordered":
            await asyncio.sleep(0.05)  # shipping (which skips the payment) wins the race
        amount: Any = order["total"]
        if fault == "bad-schema":
            amount = str(amount)
        headers = {} if fault == "lost-correlation" else dict(rec.headers)
        payment = {
            "type": "PaymentAuthorized",
            "order_id": order["order_id"],
            "amount": amount,
            "seq": order.get("seq"),
        }
        await t.publish(shop.payments, Record(json.dumps(payment).encode(), rec.key, headers))


async def _shipping(shop: Shop, t: Transport, sub: Subscription, fault: str | None) -> None:
    async for rec in sub:
        payment = json.loads(rec.value)
        amount = payment.get("amount", payment.get("total"))
        if fault == "inconsistent-amount":
            amount = amount + 1
        shipment = {"type": "ShipmentScheduled", "order_id": payment["order_id"], "amount": amount}
        headers = {k: v for k, v in rec.headers.items() if k != "message-id"}
        out = Record(
            json.dumps(shipment).encode(), rec.key, headers, {"message_id": uuid.uuid4().hex}
        )
        route = f"{shop.exchange}/shipment.scheduled"
        await t.publish(route, out)
        if fault == "duplicated":
            await t.publish(route, out)


@contextlib.asynccontextmanager
async def running_shop(shop: Shop | str, fault: str | None = None) -> AsyncIterator[Shop]:
    """Run both services until the block ends. A plain URL means one memory broker for both."""
    if isinstance(shop, str):
        shop = Shop(shop, shop)
    kafka = await open_transport(shop.kafka_url)
    rabbit = await open_transport(shop.rabbit_url) if shop.rabbit_url != shop.kafka_url else kafka
    tasks: list[asyncio.Task[None]] = []
    try:
        await rabbit.create_channel(f"{shop.exchange}/")
        # Subscribed before the block runs: no record published inside it is missed.
        payments = await kafka.subscribe(shop.orders, group=f"payments-{shop.orders}")
        source = shop.orders if fault == "reordered" else shop.payments
        shipping = await kafka.subscribe(source, group=f"shipping-{shop.orders}")
        tasks = [
            asyncio.create_task(_payments(shop, kafka, payments, fault)),
            asyncio.create_task(_shipping(shop, rabbit, shipping, fault)),
        ]
        yield shop
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if rabbit is not kafka:
            with contextlib.suppress(Exception):
                await rabbit.delete_channel(f"{shop.exchange}/")
            await rabbit.aclose()
        await kafka.aclose()
