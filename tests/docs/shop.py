"""The example shop (examples/shop) in one process, on a memory broker, for doc examples.

Doc examples written against the real system (``kafka:orders`` → ``payments`` →
``kafka:payments`` → ``shipping`` → ``rabbit:shipping/shipment.scheduled``, and the
``orders-view`` read model over HTTP) run against this stand-in: the same topics, exchange,
event shapes (examples/shop/README.md) and correlation propagation, with the view's HTTP server
on a free port of 127.0.0.1 (its address replaces the one the example names, visibly: see the
``rewrite=`` annotation of tests/test_docs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from eventharness.model.events import Record
from eventharness.transports.base import Subscription, Transport, open_transport

PROPAGATED = ("correlation-id", "traceparent")


@dataclass
class Shop:
    url: str
    exchange: str = "shipping"
    view: str = ""
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)

    def seen(self, order_id: str, status: str, **fields: Any) -> None:
        rank = ["placed", "paid", "shipped"]
        entry = self.orders.setdefault(
            order_id, {"order_id": order_id, "status": status, "total": None, "amount": None}
        )
        if rank.index(status) > rank.index(entry["status"]):
            entry["status"] = status
        entry.update({k: v for k, v in fields.items() if v is not None})


def _carried(rec: Record) -> dict[str, bytes]:
    return {k: v for k, v in rec.headers.items() if k in PROPAGATED}


async def _payments(t: Transport, sub: Subscription) -> None:
    async for rec in sub:
        order = json.loads(rec.value)
        payment = {
            "type": "PaymentAuthorized",
            "order_id": order["order_id"],
            "amount": order["total"],
            "payment_id": f"pay-{uuid.uuid4().hex[:12]}",
        }
        key = rec.key if rec.key is not None else order["order_id"].encode()
        await t.publish("payments", Record(json.dumps(payment).encode(), key, _carried(rec)))


async def _shipping(shop: Shop, t: Transport, sub: Subscription) -> None:
    async for rec in sub:
        payment = json.loads(rec.value)
        shipment = {
            "type": "ShipmentScheduled",
            "order_id": payment["order_id"],
            "shipment_id": f"shp-{uuid.uuid4().hex[:12]}",
            "amount": payment["amount"],
        }
        await t.publish(
            f"{shop.exchange}/shipment.scheduled",
            Record(
                json.dumps(shipment).encode(),
                rec.key,
                _carried(rec),
                {"message_id": uuid.uuid4().hex},
            ),
        )


async def _view(shop: Shop, sub: Subscription, status: str) -> None:
    async for rec in sub:
        event = json.loads(rec.value)
        shop.seen(event["order_id"], status, total=event.get("total"), amount=event.get("amount"))


async def _serve(shop: Shop, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = (await reader.readline()).decode().split()
    while (await reader.readline()).strip():
        pass
    path = request[1] if len(request) > 1 else "/"
    order = shop.orders.get(path.removeprefix("/orders/"))
    code, body = ("200 OK", order) if order is not None else ("404 Not Found", {})
    data = json.dumps(body).encode()
    writer.write(
        f"HTTP/1.1 {code}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\nconnection: close\r\n\r\n".encode()
        + data
    )
    await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def running_shop(url: str, port: int = 0) -> AsyncIterator[Shop]:
    """payments, shipping and orders-view on the memory broker ``url`` until the block ends;
    the view serves HTTP on 127.0.0.1:``port`` (0: any free port)."""
    shop = Shop(url)
    t = await open_transport(url)
    server = await asyncio.start_server(lambda r, w: _serve(shop, r, w), "127.0.0.1", port)
    shop.view = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    tasks: list[asyncio.Task[None]] = []
    try:
        await t.create_channel(f"{shop.exchange}/")
        # subscribed before the block runs: nothing published inside it is missed
        tasks = [
            asyncio.create_task(_payments(t, await t.subscribe("orders", group="payments"))),
            asyncio.create_task(
                _shipping(shop, t, await t.subscribe("payments", group="shipping"))
            ),
            asyncio.create_task(_view(shop, await t.subscribe("orders", group="view"), "placed")),
            asyncio.create_task(_view(shop, await t.subscribe("payments", group="view"), "paid")),
            asyncio.create_task(
                _view(shop, await t.subscribe(f"{shop.exchange}/shipment.#"), "shipped")
            ),
        ]
        yield shop
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        server.close()
        await server.wait_closed()
        await t.aclose()
