"""The example system (examples/shop) on the real brokers: embedded Kafka and the local RabbitMQ.

Every service runs as its own process, started here with its own topics, exchange and group
prefix. All of them are launched at once for the module (a consumer group's first assignment
takes ~5 s, so starting them one test at a time would cost that for each) and waited for by
their "ready" lines. The happy-path tests share one complete system; each FAULT test gets the
one service that acts on the fault, used by that test alone, and stops it at the end.

Negative observations are made deterministic instead of timed: orders that are compared share
a key, so payments handles them in order and their payments share a partition (offsets give the
order), and a later "sentinel" event proves that an earlier one was handled.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import jsonschema
import pika
import pytest
from aio_pika.abc import AbstractIncomingMessage
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from examples.shop.orders_view import ReadModel
from examples.shop.propagation import context_from_kafka
from tests.conftest import unique

pytestmark = [pytest.mark.kafka, pytest.mark.amqp]

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "examples" / "shop" / "schemas"
PARTITIONS = 4  # what the services create their topics with
READY_TIMEOUT = 45.0  # a dozen group joins at once on a small machine; ~5-6 s is typical
WITHIN = 15.0  # how long a flow's next event may take
STOP_TIMEOUT = 10.0


# --- processes -----------------------------------------------------------------------------


class Service:
    """One service process; its stdout+stderr lines are read by a thread, so waiting for a
    line is waiting on the line itself (a condition), not polling."""

    def __init__(self, module: str, env: dict[str, str]) -> None:
        self.module = module
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"examples.shop.{module}"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> str:
        """The first output line containing ``text``; fails with the output if it never comes."""

        def found() -> str | None:
            return next((line for line in self.lines if text in line), None)

        with self._changed:
            self._changed.wait_for(
                lambda: found() is not None or not self._reader.is_alive(), timeout
            )
            line = found()
        if line is None:
            code = self.proc.poll()
            state = "running" if code is None else f"exited {code}"
            raise AssertionError(
                f"{self.module} ({state}) printed no line containing {text!r} within "
                f"{timeout} s; its output:\n{self.output()}"
            )
        return line

    def stop(self) -> int | None:
        """SIGTERM by pid; the exit code, or None if it had to be killed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)
            return None
        self._reader.join(STOP_TIMEOUT)
        return code

    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines[-40:])


@dataclass
class Shop:
    """One running (part of the) system with its own names."""

    bootstrap: str
    amqp_url: str
    modules: tuple[str, ...]
    fault: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    prefix: str = field(default_factory=lambda: unique("shop"))
    port: int = field(default_factory=lambda: _free_port())
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def orders(self) -> str:
        return f"{self.prefix}-orders"

    @property
    def payments(self) -> str:
        return f"{self.prefix}-payments"

    @property
    def exchange(self) -> str:
        return f"{self.prefix}-shipping"

    @property
    def view(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "KAFKA_BOOTSTRAP": self.bootstrap,
            "AMQP_URL": self.amqp_url,
            "ORDERS_TOPIC": self.orders,
            "PAYMENTS_TOPIC": self.payments,
            "SHIPPING_EXCHANGE": self.exchange,
            "GROUP_PREFIX": self.prefix,
            "ORDERS_VIEW_PORT": str(self.port),
            "FAULT": self.fault,
            **self.extra_env,
        }

    def start(self) -> None:
        for module in self.modules:
            self.services[module] = Service(module, self.env())

    def wait_ready(self, deadline: float) -> None:
        for module, service in self.services.items():
            name = module.replace("_", "-")
            service.wait_for(f"{name} ready", max(0.1, deadline - time.monotonic()))

    def stop(self) -> dict[str, int | None]:
        return {module: service.stop() for module, service in self.services.items()}

    def delete_amqp_objects(self) -> None:
        params = pika.URLParameters(self.amqp_url)
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            if "orders_view" in self.modules:
                channel.queue_delete(f"{self.prefix}-orders-view")
            channel.exchange_delete(self.exchange)
        finally:
            connection.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


FAULT_SETS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "reorder": (("payments",), {"REORDER_WINDOW": "10"}),
    "drop": (("payments",), {"DROP_EVERY": "2"}),
    "slow": (("payments",), {"SLOW_SECONDS": "2"}),
    "bad-schema": (("payments",), {}),
    "lost-correlation": (("payments",), {}),
    "duplicate": (("shipping",), {}),
    "drop-trace": (("shipping",), {}),
    "stale-view": (("orders_view",), {}),
}


@dataclass
class Fleet:
    happy: Shop
    faulty: dict[str, Shop]


@pytest.fixture(scope="module")
def fleet(kafka_url: str, amqp_url: str) -> Iterator[Fleet]:
    bootstrap = kafka_url.removeprefix("kafka://")
    happy = Shop(bootstrap, amqp_url, ("payments", "shipping", "orders_view"))
    faulty = {
        fault: Shop(bootstrap, amqp_url, modules, fault=fault, extra_env=env)
        for fault, (modules, env) in FAULT_SETS.items()
    }
    shops = [happy, *faulty.values()]
    started = time.monotonic()
    try:
        for shop in shops:
            shop.start()
        deadline = started + READY_TIMEOUT
        for shop in shops:
            shop.wait_ready(deadline)
        print(
            f"\n{sum(len(s.services) for s in shops)} shop services ready in "
            f"{time.monotonic() - started:.1f} s"
        )
        yield Fleet(happy, faulty)
    finally:
        codes = {shop.prefix: shop.stop() for shop in shops}
        for shop in shops:
            shop.delete_amqp_objects()
    unclean = {prefix: c for prefix, c in codes.items() if any(v != 0 for v in c.values())}
    assert not unclean, f"services did not exit 0 on SIGTERM: {unclean}"


def stop_cleanly(shop: Shop) -> None:
    codes = shop.stop()
    assert codes == dict.fromkeys(shop.modules, 0), (
        f"expected every service to exit 0 on SIGTERM within {STOP_TIMEOUT} s, got {codes}"
    )


# --- observing the brokers directly --------------------------------------------------------


def new_ids(count: int) -> list[str]:
    return [f"o-{uuid.uuid4().hex[:10]}" for _ in range(count)]


def customer() -> str:
    """A key for several orders: their payments share it, so one partition holds them in order."""
    return f"cust-{uuid.uuid4().hex[:8]}"


def order(order_id: str, total: float) -> dict[str, Any]:
    return {"type": "OrderPlaced", "order_id": order_id, "customer_id": "c-1", "total": total}


def trace_context() -> tuple[str, str]:
    correlation_id = f"corr-{uuid.uuid4().hex}"
    traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    return correlation_id, traceparent


def headers_of(record: ConsumerRecord) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


async def publish(
    bootstrap: str,
    topic: str,
    events: list[dict[str, Any]],
    key: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Publish ``events`` in order (keyed by ``key``, else by their order id)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic,
                json.dumps(event).encode(),
                key=(key or event["order_id"]).encode(),
                headers=[(k, v.encode()) for k, v in (headers or {}).items()],
            )
    finally:
        await producer.stop()


@asynccontextmanager
async def kafka_reader(bootstrap: str, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    """Reads every partition of ``topic`` from the beginning, without a consumer group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    try:
        yield consumer
    finally:
        await consumer.stop()


async def records(
    consumer: AIOKafkaConsumer, order_ids: set[str], count: int, within: float = WITHIN
) -> list[ConsumerRecord]:
    """The first ``count`` records about ``order_ids``, in the order they were read."""
    found: list[ConsumerRecord] = []
    try:
        async with asyncio.timeout(within):
            async for record in consumer:
                if json.loads(record.value).get("order_id") in order_ids:
                    found.append(record)
                    if len(found) == count:
                        return found
    except TimeoutError:
        pass
    raise AssertionError(
        f"expected {count} records about {sorted(order_ids)} within {within} s, got "
        f"{[(r.partition, r.offset, r.value) for r in found]}"
    )


@asynccontextmanager
async def shipments(amqp_url: str, exchange: str) -> AsyncIterator[asyncio.Queue[Any]]:
    """Every message published to ``exchange`` from now on, via a private queue."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(ex, "shipment.#")
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

        async def deliver(message: AbstractIncomingMessage) -> None:
            await inbox.put(message)

        await queue.consume(deliver, no_ack=True)
        yield inbox
    finally:
        await connection.close()


async def messages(
    inbox: asyncio.Queue[AbstractIncomingMessage],
    order_ids: set[str],
    count: int,
    within: float = WITHIN,
) -> list[AbstractIncomingMessage]:
    found: list[AbstractIncomingMessage] = []
    try:
        async with asyncio.timeout(within):
            while len(found) < count:
                message = await inbox.get()
                if json.loads(message.body).get("order_id") in order_ids:
                    found.append(message)
            return found
    except TimeoutError:
        raise AssertionError(
            f"expected {count} shipments about {sorted(order_ids)} within {within} s, got "
            f"{[m.body for m in found]}"
        ) from None


async def view_until(
    shop: Shop, order_id: str, done: Callable[[httpx.Response], bool], within: float = WITHIN
) -> httpx.Response:
    """Poll ``GET /orders/{id}`` (a probe: polling is the point) until ``done`` or the window."""
    last: httpx.Response | None = None
    async with httpx.AsyncClient(base_url=shop.view, timeout=5) as client:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            last = await client.get(f"/orders/{order_id}")
            if done(last):
                return last
            await asyncio.sleep(0.05)
    raise AssertionError(
        f"GET /orders/{order_id} never satisfied the check within {within} s; last answer: "
        f"{last.status_code if last else None} {last.text if last else ''}"
    )


def status_is(status: str) -> Callable[[httpx.Response], bool]:
    return lambda r: r.status_code == 200 and r.json()["status"] == status


def schema_errors(event: dict[str, Any]) -> list[str]:
    schema = json.loads((SCHEMAS / f"shop.{event['type']}.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(event)]


# --- the correct system --------------------------------------------------------------------


async def test_authorized_order_is_paid_shipped_and_shown(fleet: Fleet, amqp_url: str) -> None:
    shop = fleet.happy
    order_id = f"o-{uuid.uuid4().hex[:10]}"
    correlation_id, traceparent = trace_context()
    trace_id = traceparent.split("-")[1]
    async with (
        kafka_reader(shop.bootstrap, shop.payments) as payments,
        shipments(amqp_url, shop.exchange) as shipped,
    ):
        await publish(
            shop.bootstrap,
            shop.orders,
            [order(order_id, 42)],
            headers={"correlation-id": correlation_id, "traceparent": traceparent},
        )

        [payment] = await records(payments, {order_id}, 1)
        value = json.loads(payment.value)
        assert value["type"] == "PaymentAuthorized"
        assert value["amount"] == 42
        assert payment.key == order_id.encode()
        assert schema_errors(value) == []
        headers = headers_of(payment)
        assert headers["correlation-id"] == correlation_id
        assert headers["traceparent"].split("-")[1] == trace_id  # same trace, a child span
        assert headers["traceparent"] != traceparent

        [shipment] = await messages(shipped, {order_id}, 1)
        body = json.loads(shipment.body)
        assert body["type"] == "ShipmentScheduled"
        assert body["amount"] == 42
        assert schema_errors(body) == []
        assert shipment.routing_key == "shipment.scheduled"
        assert shipment.correlation_id == correlation_id
        assert shipment.headers["correlation-id"] == correlation_id
        assert str(shipment.headers["traceparent"]).split("-")[1] == trace_id
        assert shipment.delivery_mode == aio_pika.DeliveryMode.PERSISTENT

    answer = await view_until(shop, order_id, status_is("shipped"))
    assert answer.json() == {
        "order_id": order_id,
        "status": "shipped",
        "total": 42,
        "amount": 42,
    }


async def test_order_over_the_limit_is_declined_and_never_shipped(
    fleet: Fleet, amqp_url: str
) -> None:
    shop = fleet.happy
    # Both orders share a key, so payments and then shipping handle the declined one first:
    # the sentinel's shipment proves the declined order produced none.
    declined, sentinel = new_ids(2)
    key = customer()
    async with (
        kafka_reader(shop.bootstrap, shop.payments) as payments,
        shipments(amqp_url, shop.exchange) as shipped,
    ):
        await publish(
            shop.bootstrap,
            shop.orders,
            [order(declined, 5000), order(sentinel, 10)],
            key=key,
            headers={"correlation-id": "c-declined"},
        )
        first, second = await records(payments, {declined, sentinel}, 2)
        assert json.loads(first.value) == {
            "type": "PaymentDeclined",
            "order_id": declined,
            "amount": 5000,
            "reason": "limit exceeded",
        }
        assert headers_of(first)["correlation-id"] == "c-declined"
        assert first.key == second.key == key.encode()
        assert (first.partition, first.offset) < (second.partition, second.offset)
        assert json.loads(second.value)["type"] == "PaymentAuthorized"

        [shipment] = await messages(shipped, {declined, sentinel}, 1)
        assert json.loads(shipment.body)["order_id"] == sentinel

    answer = await view_until(shop, declined, status_is("declined"))
    assert answer.json()["total"] == 5000


async def test_orders_with_one_key_are_paid_in_publish_order(fleet: Fleet) -> None:
    shop = fleet.happy
    ids, key = new_ids(5), customer()
    async with kafka_reader(shop.bootstrap, shop.payments) as payments:
        await publish(shop.bootstrap, shop.orders, [order(i, 1) for i in ids], key=key)
        got = await records(payments, set(ids), len(ids))
    assert [json.loads(r.value)["order_id"] for r in got] == ids
    assert {(r.key, r.partition) for r in got} == {(key.encode(), got[0].partition)}


async def test_view_health_and_unknown_order(fleet: Fleet) -> None:
    async with httpx.AsyncClient(base_url=fleet.happy.view, timeout=5) as client:
        health = await client.get("/health")
        missing = await client.get(f"/orders/o-{uuid.uuid4().hex}")
        nowhere = await client.get("/nowhere")
    assert (health.status_code, health.json()) == (200, {"ready": True})
    assert missing.status_code == 404
    assert nowhere.status_code == 404


@pytest.mark.parametrize("module", ["payments", "shipping", "orders_view"])
def test_unknown_fault_exits_2_naming_the_valid_values(module: str) -> None:
    env = {**os.environ, "FAULT": "reorder,explode", "KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    result = subprocess.run(
        [sys.executable, "-m", f"examples.shop.{module}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    assert "'explode'" in result.stderr
    assert "valid values" in result.stderr and "stale-view" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_kafka_exits_1_with_a_one_line_cause() -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP": f"127.0.0.1:{_free_port()}", "FAULT": ""}
    result = subprocess.run(
        [sys.executable, "-m", "examples.shop.payments"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "payments failed:" in result.stderr and env["KAFKA_BOOTSTRAP"] in result.stderr
    assert "Traceback" not in result.stderr


def test_read_model_status_only_moves_forward() -> None:
    model = ReadModel()
    for event in [
        {"type": "ShipmentScheduled", "order_id": "o-1", "shipment_id": "s", "amount": 3},
        {"type": "OrderPlaced", "order_id": "o-1", "total": 3},
        {"type": "PaymentAuthorized", "order_id": "o-1", "amount": 3, "payment_id": "p"},
    ]:
        assert model.apply(event)
    assert model.orders["o-1"] == {"order_id": "o-1", "status": "shipped", "total": 3, "amount": 3}
    assert not model.apply({"type": "Refunded", "order_id": "o-1"})
    assert not model.apply({"type": "OrderPlaced", "total": 1})


def test_only_the_correlation_id_is_copied_by_hand() -> None:
    # the trace context is the OpenTelemetry instrumentations' (examples/shop/telemetry.py)
    parent = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    headers = [("Correlation-Id", b"c-1"), ("traceparent", parent), ("x", b"y")]
    assert context_from_kafka(headers) == {"correlation-id": "c-1"}
    assert context_from_kafka(None) == {}


# --- each FAULT, seen on the wire ----------------------------------------------------------


async def test_fault_reorder_swaps_two_orders_with_the_same_key(fleet: Fleet) -> None:
    shop = fleet.faulty["reorder"]
    first, second = new_ids(2)
    key = customer()
    async with kafka_reader(shop.bootstrap, shop.payments) as payments:
        await publish(shop.bootstrap, shop.orders, [order(first, 1), order(second, 2)], key=key)
        a, b = await records(payments, {first, second}, 2)
    assert [json.loads(r.value)["order_id"] for r in (a, b)] == [second, first]
    assert a.key == b.key == key.encode() and a.partition == b.partition
    assert a.offset < b.offset
    stop_cleanly(shop)


async def test_fault_drop_drops_every_nth_order(fleet: Fleet) -> None:
    shop = fleet.faulty["drop"]  # DROP_EVERY=2: the 2nd order it sees is dropped
    ids = new_ids(3)
    async with kafka_reader(shop.bootstrap, shop.payments) as payments:
        await publish(shop.bootstrap, shop.orders, [order(i, 5) for i in ids], key=customer())
        got = await records(payments, set(ids), 2)
    assert [json.loads(r.value)["order_id"] for r in got] == [ids[0], ids[2]]
    assert "dropped (FAULT=drop)" in shop.services["payments"].wait_for(ids[1], 5)
    stop_cleanly(shop)


async def test_fault_slow_delays_each_payment(fleet: Fleet) -> None:
    shop = fleet.faulty["slow"]  # SLOW_SECONDS=2
    order_id = f"o-{uuid.uuid4().hex[:10]}"
    async with kafka_reader(shop.bootstrap, shop.payments) as payments:
        started = time.monotonic()
        await publish(shop.bootstrap, shop.orders, [order(order_id, 5)])
        [payment] = await records(payments, {order_id}, 1)
        elapsed = time.monotonic() - started
    assert json.loads(payment.value)["type"] == "PaymentAuthorized"
    assert elapsed >= 2.0, f"payment came after {elapsed:.2f} s, SLOW_SECONDS is 2"
    stop_cleanly(shop)


async def test_fault_bad_schema_sends_amount_as_a_string(fleet: Fleet) -> None:
    shop = fleet.faulty["bad-schema"]
    order_id = f"o-{uuid.uuid4().hex[:10]}"
    async with kafka_reader(shop.bootstrap, shop.payments) as payments:
        await publish(shop.bootstrap, shop.orders, [order(order_id, 42)])
        [payment] = await records(payments, {order_id}, 1)
    value = json.loads(payment.value)
    assert value["amount"] == "42"
    assert schema_errors(value) == ["['amount']: '42' is not of type 'number'"]
    stop_cleanly(shop)


async def test_fault_lost_correlation_drops_the_headers(fleet: Fleet) -> None:
    shop = fleet.faulty["lost-correlation"]
    order_id = f"o-{uuid.uuid4().hex[:10]}"
    correlation_id, traceparent = trace_context()
    async with kafka_reader(shop.bootstrap, shop.payments) as payments:
        await publish(
            shop.bootstrap,
            shop.orders,
            [order(order_id, 42)],
            headers={"correlation-id": correlation_id, "traceparent": traceparent},
        )
        [payment] = await records(payments, {order_id}, 1)
    assert json.loads(payment.value)["type"] == "PaymentAuthorized"
    headers = headers_of(payment)
    assert "correlation-id" not in headers
    # the instrumentation still stamps a traceparent: of a trace of its own
    assert headers["traceparent"].split("-")[1] != traceparent.split("-")[1]
    stop_cleanly(shop)


async def test_fault_duplicate_ships_every_payment_twice(fleet: Fleet, amqp_url: str) -> None:
    shop = fleet.faulty["duplicate"]
    order_id = f"o-{uuid.uuid4().hex[:10]}"
    payment = {"type": "PaymentAuthorized", "order_id": order_id, "amount": 7, "payment_id": "p"}
    async with shipments(amqp_url, shop.exchange) as shipped:
        await publish(shop.bootstrap, shop.payments, [payment], headers={"correlation-id": "c-d"})
        one, two = await messages(shipped, {order_id}, 2)
    assert one.body == two.body
    assert one.message_id == two.message_id == json.loads(one.body)["shipment_id"]
    assert one.correlation_id == two.correlation_id == "c-d"
    stop_cleanly(shop)


async def test_fault_drop_trace_ships_in_a_trace_of_its_own(fleet: Fleet, amqp_url: str) -> None:
    shop = fleet.faulty["drop-trace"]
    order_id = f"o-{uuid.uuid4().hex[:10]}"
    correlation_id, traceparent = trace_context()
    payment = {"type": "PaymentAuthorized", "order_id": order_id, "amount": 7, "payment_id": "p"}
    async with shipments(amqp_url, shop.exchange) as shipped:
        headers = {"correlation-id": correlation_id, "traceparent": traceparent}
        await publish(shop.bootstrap, shop.payments, [payment], headers=headers)
        [shipment] = await messages(shipped, {order_id}, 1)
    assert shipment.correlation_id == correlation_id  # the correlation id survives
    sent_in = str(shipment.headers["traceparent"]).split("-")[1]
    assert sent_in != traceparent.split("-")[1]  # the trace does not
    stop_cleanly(shop)


async def test_fault_stale_view_never_shows_shipped(fleet: Fleet, amqp_url: str) -> None:
    shop = fleet.faulty["stale-view"]
    order_id = f"o-{uuid.uuid4().hex[:10]}"
    paid = {"type": "PaymentAuthorized", "order_id": order_id, "amount": 9, "payment_id": "p"}
    await publish(shop.bootstrap, shop.orders, [order(order_id, 9)])
    await publish(shop.bootstrap, shop.payments, [paid])
    await view_until(shop, order_id, status_is("paid"))

    shipment = {"type": "ShipmentScheduled", "order_id": order_id, "shipment_id": "s", "amount": 9}
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(shop.exchange)
        await exchange.publish(
            aio_pika.Message(json.dumps(shipment).encode()), routing_key="shipment.scheduled"
        )
    # the view logs each shipment it consumed; after that line its answer is final
    view = shop.services["orders_view"]
    await asyncio.to_thread(view.wait_for, f"ShipmentScheduled {order_id} ignored", WITHIN)
    answer = await view_until(shop, order_id, lambda r: r.status_code == 200)
    assert answer.json()["status"] == "paid"
    stop_cleanly(shop)
