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
from collections.abc import AsyncIterator
from typing import Any

from eventharness.events import Record
from eventharness.transports.base import Subscription
from eventharness.transports.memory import MemoryTransport

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


async def _payments(t: MemoryTransport, sub: Subscription, fault: str | None) -> None:
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
        payment = {"type": "PaymentAuthorized", "order_id": order["order_id"], "amount": amount,
                   "seq": order.get("seq")}
        await t.publish("payments", Record(json.dumps(payment).encode(), rec.key, headers))


async def _shipping(t: MemoryTransport, sub: Subscription, fault: str | None) -> None:
    async for rec in sub:
        payment = json.loads(rec.value)
        amount = payment.get("amount", payment.get("total"))
        if fault == "inconsistent-amount":
            amount = amount + 1
        shipment = {"type": "ShipmentScheduled", "order_id": payment["order_id"],
                    "amount": amount}
        out = Record(json.dumps(shipment).encode(), rec.key, dict(rec.headers))
        await t.publish("shipping/shipment.scheduled", out)
        if fault == "duplicated":
            await t.publish("shipping/shipment.scheduled", out)


@contextlib.asynccontextmanager
async def running_shop(url: str, fault: str | None = None) -> AsyncIterator[None]:
    """Run both services on the memory broker at ``url`` until the block ends."""
    transport = MemoryTransport(url)
    await transport.connect()
    # Subscribed before the block runs: the services are ready when it starts.
    payments = await transport.subscribe("orders", group="payments")
    source = "orders" if fault == "reordered" else "payments"
    shipping = await transport.subscribe(source, group="shipping")
    tasks = [
        asyncio.create_task(_payments(transport, payments, fault)),
        asyncio.create_task(_shipping(transport, shipping, fault)),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await transport.aclose()
