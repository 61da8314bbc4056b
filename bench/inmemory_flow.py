"""In-memory two-hop flow: publish → payments → shipping → collected and matched.

Harness side: two services on the memory broker (consumer groups on ``orders`` and ``payments``,
each decoding JSON, building the next event and publishing it with the incoming headers) and,
per flow, one scenario::

    async with h.scenario("flow") as s:
        pay = s.expect("kafka:payments", type="PaymentAuthorized", match={"order_id": oid})
        s.expect("kafka:shipping", type="ShipmentScheduled",
                 match={"order_id": oid, "amount": 42}, after=pay)
        await s.publish("kafka:orders", {...}, key=oid)

Baseline: the same two services as FastStream ``KafkaBroker`` subscriber/publisher handlers plus
a subscriber on ``shipping``, under ``TestKafkaBroker``; per flow ``await br.publish(...)`` and
the usual FastStream assertions that each hop carried the expected message
(``shipping.mock.assert_called_with(payment)``, ``collect.mock.assert_called_with(shipment)``).

Both sides open their broker once and run the flows one after another; the figure is flows/s.

Second row, the floor Python allows: the same two services and the same test written on bare
asyncio — three ``asyncio.Queue`` topics, the services as two tasks (decode JSON, build the next
event, encode it, pass the headers on), and a collector that is one ``dict`` from correlation id
to the flow waiting for it (its events and a future). Per flow the driver stamps a fresh
correlation id, publishes, waits on the future (a timer, no task), and checks what a test checks:
the payment's type and order, the shipment's type, order and amount, the payment before the
shipment. The ratio is harness / bare: the target, "within 3x", is ≥ 0.333.

A third side, in that row's notes (``broker_floor_us_per_flow``): the same services on the
memory broker with a test that reads ``payments`` and ``shipping`` through raw subscriptions —
the floor of the harness side. Over the bare flow it costs the broker's work (partitions,
offsets, records); what the harness costs over it is the harness's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from bench.common import Context, Row, now

TIMEOUT_S = 120.0


async def run(ctx: Context) -> list[Row]:
    n = ctx.size(3_000, 200)
    trials = 1 if ctx.quick else 3
    harness_rates: list[float] = []
    baseline_rates: list[float] = []
    bare_rates: list[float] = []
    floor_rates: list[float] = []
    for _ in range(trials):
        gc.collect()
        baseline_rates.append(await asyncio.wait_for(_faststream(n), TIMEOUT_S))
        gc.collect()
        harness_rates.append(await asyncio.wait_for(_harness(n), TIMEOUT_S))
        gc.collect()
        bare_rates.append(await asyncio.wait_for(_bare(n), TIMEOUT_S))
        gc.collect()
        floor_rates.append(await asyncio.wait_for(_broker_floor(n), TIMEOUT_S))
    best_h, best_b, best_bare = max(harness_rates), max(baseline_rates), max(bare_rates)
    return [
        Row(
            name="in-memory two-hop flow vs bare asyncio",
            harness=best_h,
            unit="flows/s",
            baseline=best_bare,
            baseline_unit="flows/s",
            ratio=best_h / best_bare,
            measure=best_h / best_bare,
            target=0.333,
            sense=">=",
            notes={
                "flows": n,
                "trials": trials,
                "harness_us_per_flow": 1e6 / best_h,
                "bare_us_per_flow": 1e6 / best_bare,
                "bare_runs": bare_rates,
                "broker_floor_us_per_flow": 1e6 / max(floor_rates),
                "broker_floor_runs": floor_rates,
            },
        ),
        Row(
            name="in-memory two-hop flow",
            harness=best_h,
            unit="flows/s",
            baseline=best_b,
            baseline_unit="flows/s",
            ratio=best_h / best_b,
            measure=best_h / best_b,
            target=10.0,  # within 3x of bare asyncio puts it well past 10x FastStream
            sense=">=",
            notes={
                "flows": n,
                "trials": trials,
                "harness_runs": harness_rates,
                "faststream_runs": baseline_rates,
            },
        ),
    ]


def _order(i: int) -> dict[str, Any]:
    return {"type": "OrderPlaced", "order_id": f"o-{i}", "total": 42}


def _as_expected(oid: str, payment: dict[str, Any], shipment: dict[str, Any]) -> bool:
    """What the test of a flow checks, on the sides without the harness (the harness side's
    expectations check the same)."""
    return (
        payment["type"] == "PaymentAuthorized"
        and payment["order_id"] == oid
        and shipment["type"] == "ShipmentScheduled"
        and shipment["order_id"] == oid
        and shipment["amount"] == 42
    )


# -- harness ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _services(url: str) -> AsyncIterator[None]:
    from eventharness.model.events import Record
    from eventharness.transports.memory import MemoryTransport

    transport = MemoryTransport(url)
    await transport.connect()

    async def payments() -> None:
        async for rec in orders:
            order = json.loads(rec.value)
            payment = {
                "type": "PaymentAuthorized",
                "order_id": order["order_id"],
                "amount": order["total"],
            }
            await transport.publish(
                "payments", Record(json.dumps(payment).encode(), rec.key, rec.headers)
            )

    async def shipping() -> None:
        async for rec in paid:
            payment = json.loads(rec.value)
            shipment = {
                "type": "ShipmentScheduled",
                "order_id": payment["order_id"],
                "amount": payment["amount"],
            }
            await transport.publish(
                "shipping", Record(json.dumps(shipment).encode(), rec.key, rec.headers)
            )

    orders = await transport.subscribe("orders", group="payments")
    paid = await transport.subscribe("payments", group="shipping")
    tasks = [asyncio.create_task(payments()), asyncio.create_task(shipping())]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await transport.aclose()


async def _harness(n: int) -> float:
    import eventharness as eh

    url = f"memory://bench-{uuid.uuid4().hex[:8]}"
    async with _services(url), eh.Harness({"kafka": url}, within=5.0) as h:
        start = now()
        for i in range(n):
            order = _order(i)
            oid = order["order_id"]
            async with h.scenario("flow") as s:
                pay = s.expect("kafka:payments", type="PaymentAuthorized", match={"order_id": oid})
                s.expect(
                    "kafka:shipping",
                    type="ShipmentScheduled",
                    match={"order_id": oid, "amount": 42},
                    after=pay,
                )
                await s.publish("kafka:orders", order, key=oid)
        elapsed = now() - start
        if not all(r.passed for r in h.results) or len(h.results) != n:
            raise RuntimeError("a harness flow did not pass")
    return n / elapsed


# -- the memory broker without the harness -----------------------------------------------------


async def _broker_floor(n: int) -> float:
    """The harness side's floor: the same services on the memory broker, and in place of the
    harness a test that observes ``payments`` and ``shipping`` itself (raw subscriptions), waits
    for the flow's shipment and checks what the bare test checks. What this costs over the bare
    flow is the broker's (partitions, offsets, records); what the harness costs over this is
    its own."""
    from eventharness.model.events import Record
    from eventharness.transports.memory import MemoryTransport

    url = f"memory://bench-{uuid.uuid4().hex[:8]}"
    async with _services(url):
        transport = MemoryTransport(url)
        await transport.connect()
        paid = (await transport.subscribe("payments")).__aiter__()
        shipped = (await transport.subscribe("shipping")).__aiter__()
        try:
            start = now()
            for i in range(n):
                order = _order(i)
                oid = order["order_id"]
                cid = uuid.uuid4().hex.encode()
                record = Record(json.dumps(order).encode(), oid.encode(), {"correlation-id": cid})
                await transport.publish("orders", record)
                pay, ship = await paid.__anext__(), await shipped.__anext__()
                payment, shipment = json.loads(pay.value), json.loads(ship.value)
                if not (
                    pay.headers["correlation-id"] == cid == ship.headers["correlation-id"]
                    and _as_expected(oid, payment, shipment)
                    and pay.received <= ship.received
                ):
                    raise RuntimeError("a memory-broker flow did not pass")
            elapsed = now() - start
        finally:
            await transport.aclose()
    return n / elapsed


# -- bare asyncio ----------------------------------------------------------------------------


async def _bare(n: int) -> float:
    loop = asyncio.get_running_loop()
    Rec = tuple[bytes, bytes, dict[str, bytes]]
    orders: asyncio.Queue[Rec] = asyncio.Queue()
    paid: asyncio.Queue[Rec] = asyncio.Queue()
    flows: dict[bytes, tuple[list[tuple[str, Rec]], asyncio.Future[None]]] = {}

    def observe(topic: str, rec: Rec) -> None:  # the test's collector
        flow = flows.get(rec[2]["correlation-id"])
        if flow is not None:
            flow[0].append((topic, rec))
            if topic == "shipping" and not flow[1].done():
                flow[1].set_result(None)

    async def payments() -> None:
        while True:
            value, key, headers = await orders.get()
            order = json.loads(value)
            payment = {
                "type": "PaymentAuthorized",
                "order_id": order["order_id"],
                "amount": order["total"],
            }
            rec = (json.dumps(payment).encode(), key, headers)
            observe("payments", rec)
            paid.put_nowait(rec)

    async def shipping() -> None:
        while True:
            value, key, headers = await paid.get()
            payment = json.loads(value)
            shipment = {
                "type": "ShipmentScheduled",
                "order_id": payment["order_id"],
                "amount": payment["amount"],
            }
            observe("shipping", (json.dumps(shipment).encode(), key, headers))

    tasks = [asyncio.create_task(payments()), asyncio.create_task(shipping())]
    try:
        start = now()
        for i in range(n):
            order = _order(i)
            oid = order["order_id"]
            cid = uuid.uuid4().hex.encode()
            done: asyncio.Future[None] = loop.create_future()
            seen: list[tuple[str, Rec]] = []
            flows[cid] = (seen, done)
            timer = loop.call_later(5.0, done.cancel)
            orders.put_nowait((json.dumps(order).encode(), oid.encode(), {"correlation-id": cid}))
            await done
            timer.cancel()
            del flows[cid]
            (t1, pay), (t2, ship) = seen
            payment, shipment = json.loads(pay[0]), json.loads(ship[0])
            if not (t1 == "payments" and t2 == "shipping" and _as_expected(oid, payment, shipment)):
                raise RuntimeError("a bare-asyncio flow did not pass")
        elapsed = now() - start
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return n / elapsed


# -- FastStream ------------------------------------------------------------------------------


async def _faststream(n: int) -> float:
    from faststream.kafka import KafkaBroker, TestKafkaBroker

    broker = KafkaBroker()

    @broker.subscriber("orders")
    @broker.publisher("payments")
    async def payments(msg: dict[str, Any]) -> dict[str, Any]:
        return {"type": "PaymentAuthorized", "order_id": msg["order_id"], "amount": msg["total"]}

    @broker.subscriber("payments")
    @broker.publisher("shipping")
    async def shipping(msg: dict[str, Any]) -> dict[str, Any]:
        return {"type": "ShipmentScheduled", "order_id": msg["order_id"], "amount": msg["amount"]}

    @broker.subscriber("shipping")
    async def collect(msg: dict[str, Any]) -> None:
        return None

    async with TestKafkaBroker(broker) as br:
        start = now()
        for i in range(n):
            order = _order(i)
            oid = order["order_id"]
            await br.publish(order, "orders", key=oid.encode(), correlation_id=uuid.uuid4().hex)
            shipping.mock.assert_called_with(
                {"type": "PaymentAuthorized", "order_id": oid, "amount": 42}
            )
            collect.mock.assert_called_with(
                {"type": "ShipmentScheduled", "order_id": oid, "amount": 42}
            )
        elapsed = now() - start
    return n / elapsed
