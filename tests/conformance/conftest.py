"""One suite, every broker: the ``broker`` fixture runs each conformance test once per broker.

Params (visible in test ids, e.g. ``test_headers_round_trip[kafka]``):

* ``memory-topic`` — the memory broker addressed as Kafka topics;
* ``memory-exchange`` — the memory broker addressed as AMQP exchange routes;
* ``kafka`` — embedded Kafka (Tansu), from the session fixture ``kafka_url``;
* ``amqp`` — the local RabbitMQ, from the session fixture ``amqp_url``.

A test asks the fixture for fresh channels (:meth:`BrokerUnderTest.channel`) and never names a
topic, exchange or queue itself, so the same test body runs on all of them. Everything created
is deleted when the test ends.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from eventharness.model.events import Record
from eventharness.transports.base import Subscription, Transport, open_transport
from tests.conftest import unique

BROKERS = [
    pytest.param("memory-topic", id="memory-topic"),
    pytest.param("memory-exchange", id="memory-exchange"),
    pytest.param("kafka", id="kafka", marks=pytest.mark.kafka),
    pytest.param("amqp", id="amqp", marks=pytest.mark.amqp),
]
ROUTED = [p for p in BROKERS if p.values[0] in ("memory-exchange", "amqp")]
URL_FIXTURES = {
    "memory-topic": "memory_url",
    "memory-exchange": "memory_url",
    "kafka": "kafka_url",
    "amqp": "amqp_url",
}
DEADLINE_S = 30.0  # Kafka group assignment alone can take ~5 s on Tansu


@dataclass(frozen=True)
class Channel:
    """Where a test publishes and what its observers subscribe to."""

    publish: str  # a topic, or "exchange/routing.key"
    observe: str  # the same topic, or "exchange/pattern" matching the routing key
    name: str  # the topic or exchange, for error messages

    def route(self, word: str) -> str:
        """Another publish address on the same channel (exchange mode: another routing key)."""
        if "/" not in self.publish:
            return self.publish
        return f"{self.name}/orders.{word}"


@dataclass
class BrokerUnderTest:
    kind: str  # the param: memory-topic, memory-exchange, kafka, amqp
    url: str
    transport: Transport
    routes: bool  # addresses are exchange routes, not topics
    _cleanup: list[str] = field(default_factory=list)

    @property
    def auto_creates(self) -> bool:
        """Publishing to an unknown topic or exchange creates it (all but RabbitMQ)."""
        return self.kind != "amqp"

    async def channel(self) -> Channel:
        """A fresh topic (4 partitions), or a fresh topic exchange with a route and pattern."""
        name = unique("eh-conf")
        if not self.routes:
            await self.transport.create_channel(name, partitions=4)
            self._cleanup.append(name)
            return Channel(publish=name, observe=name, name=name)
        await self.transport.create_channel(f"{name}/", exchange_type="topic")
        self._cleanup.append(f"{name}/")
        return Channel(publish=f"{name}/orders.created", observe=f"{name}/orders.*", name=name)

    async def queue(self) -> str:
        """A fresh queue on the default exchange: its ``/queue`` address."""
        address = f"/{unique('eh-queue')}"
        await self.transport.create_channel(address)
        self._cleanup.append(address)
        return address

    def unused_name(self) -> str:
        name = unique("eh-missing")
        self._cleanup.append(f"{name}/" if self.routes else name)
        return name

    async def observe(self, channel: Channel) -> Subscription:
        return await self.transport.subscribe(channel.observe)

    async def worker(self, channel: Channel, group: str | None = None) -> Subscription:
        """A member of a fresh consumer group (Kafka, memory topic) or named queue (exchanges)."""
        group = group or unique("eh-group")
        if self.routes:
            self._cleanup.append(f"/{group}")
        return await self.transport.subscribe(channel.observe, group=group)

    async def cleanup(self) -> None:
        for address in reversed(self._cleanup):
            await self.transport.delete_channel(address)


@pytest.fixture(params=BROKERS)
def broker_url(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(kind, URL) of the broker under test; real brokers come from tests/conftest.py."""
    kind: str = request.param
    url: str = request.getfixturevalue(URL_FIXTURES[kind])
    return kind, url


@pytest.fixture
async def broker(broker_url: tuple[str, str]) -> AsyncIterator[BrokerUnderTest]:
    async with _under_test(*broker_url) as under_test:
        yield under_test


@pytest.fixture(params=ROUTED)
async def routed_broker(request: pytest.FixtureRequest) -> AsyncIterator[BrokerUnderTest]:
    """Only the brokers with exchanges and queues (memory-exchange, RabbitMQ)."""
    kind: str = request.param
    async with _under_test(kind, request.getfixturevalue(URL_FIXTURES[kind])) as under_test:
        yield under_test


@contextlib.asynccontextmanager
async def _under_test(kind: str, url: str) -> AsyncIterator[BrokerUnderTest]:
    transport = await open_transport(url)
    under_test = BrokerUnderTest(kind, url, transport, routes=kind in ("memory-exchange", "amqp"))
    try:
        yield under_test
    finally:
        try:
            with anyio.fail_after(DEADLINE_S):
                await under_test.cleanup()
        finally:
            await transport.aclose()
    if kind.startswith("memory"):
        from eventharness.transports.memory import reset_broker

        reset_broker(transport.url.hosts[0][0])


def record(seq: int, *, key: str | None = None, **fields: Any) -> Record:
    """A JSON record carrying a sequence number (and ``fields``)."""
    value = json.dumps({"seq": seq, **fields}).encode()
    return Record(value, key=key.encode() if key is not None else None)


def payload(rec: Record) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(rec.value)
    return value


def seqs(records: list[Record]) -> list[int]:
    return [payload(r)["seq"] for r in records]


def describe(records: list[Record], limit: int = 5) -> str:
    shown = ", ".join(f"{r.position} {r.value[:60]!r}" for r in records[-limit:])
    return f"{len(records)} record(s)" + (f"; last: {shown}" if records else "")


async def collect(sub: Subscription, n: int, within: float = DEADLINE_S) -> list[Record]:
    """Exactly the next ``n`` records of ``sub``, or a test failure saying what did arrive."""
    got: list[Record] = []
    if n == 0:
        return got
    try:
        with anyio.fail_after(within):
            async for rec in sub:
                got.append(rec)
                if len(got) == n:
                    return got
    except TimeoutError:
        pytest.fail(f"expected {n} records within {within:g}s, got {describe(got)}")
    pytest.fail(f"subscription ended after {describe(got)}; expected {n}")


async def collect_until(
    sub: Subscription, done: Callable[[Record], bool], within: float = DEADLINE_S
) -> list[Record]:
    """Records up to and including the first for which ``done`` holds."""
    got: list[Record] = []
    try:
        with anyio.fail_after(within):
            async for rec in sub:
                got.append(rec)
                if done(rec):
                    return got
    except TimeoutError:
        pytest.fail(f"the closing record did not arrive within {within:g}s; got {describe(got)}")
    pytest.fail(f"subscription ended before the closing record; got {describe(got)}")
