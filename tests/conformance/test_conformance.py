"""The semantics every transport provides (eventharness.transports.base), on every broker.

Each test runs once per broker: ``[memory-topic]``, ``[memory-exchange]``, ``[kafka]``,
``[amqp]``. Observers are always subscribed before the publish they must see.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter

import anyio
import pytest

from eventharness.model.errors import ChannelNotFound, UsageError
from eventharness.model.events import CORRELATION_HEADER, Record, header_text
from tests.conformance.conftest import (
    DEADLINE_S,
    BrokerUnderTest,
    collect,
    collect_until,
    payload,
    record,
    seqs,
)


async def test_headers_keys_and_correlation_id_survive(broker: BrokerUnderTest) -> None:
    channel = await broker.channel()
    sub = await broker.observe(channel)
    correlation_id = uuid.uuid4().hex
    headers = {
        CORRELATION_HEADER: correlation_id.encode(),
        "x-plain": b"ascii value",
        "x-text": "Grüße, ключ, 鍵 ✓".encode(),
        "x-ünïcödé-nàme": "schlüssel".encode(),
        "x-binary": bytes(range(256)),
        "x-empty": b"",
    }
    key = "bestellung-ключ-1".encode()
    await broker.transport.publish(channel.publish, Record(b"{}", key=key, headers=headers))
    [got] = await collect(sub, 1)
    assert dict(got.headers) == headers
    assert header_text(got.headers, CORRELATION_HEADER) == correlation_id
    assert got.key == key
    assert got.value == b"{}"
    assert got.received > 0


async def test_per_key_order(broker: BrokerUnderTest) -> None:
    channel = await broker.channel()
    sub = await broker.observe(channel)
    keys = [f"key-{k}" for k in range(5)]
    for i in range(500):
        await broker.transport.publish(channel.publish, record(i, key=keys[i % 5]))
    got = await collect(sub, 500)
    by_key: dict[bytes | None, list[int]] = {}
    for rec in got:
        by_key.setdefault(rec.key, []).append(payload(rec)["seq"])
    assert sorted(by_key) == sorted(k.encode() for k in keys)
    for key, order in by_key.items():
        assert order == sorted(order), f"records of key {key!r} arrived out of order: {order}"
        assert len(order) == 100


async def test_subscription_is_armed_when_subscribe_returns(broker: BrokerUnderTest) -> None:
    channel = await broker.channel()
    sub = await broker.observe(channel)
    await broker.transport.publish(channel.publish, record(1))
    assert seqs(await collect(sub, 1)) == [1]


async def test_observer_never_steals_from_a_worker(broker: BrokerUnderTest) -> None:
    channel = await broker.channel()
    worker = await broker.worker(channel)
    observer = await broker.observe(channel)
    n = 200
    for i in range(n):
        await broker.transport.publish(channel.publish, record(i, key=f"k{i % 8}"))
    async with anyio.create_task_group() as tg:
        results: dict[str, list[Record]] = {}

        async def gather(name: str, sub: object) -> None:
            results[name] = await collect(sub, n)  # type: ignore[arg-type]

        tg.start_soon(gather, "worker", worker)
        tg.start_soon(gather, "observer", observer)
    assert sorted(seqs(results["worker"])) == list(range(n))
    assert sorted(seqs(results["observer"])) == list(range(n))


async def test_one_mebibyte_message(broker: BrokerUnderTest) -> None:
    channel = await broker.channel()
    sub = await broker.observe(channel)
    value = os.urandom(1024 * 1024)
    await broker.transport.publish(channel.publish, Record(value, key=b"big"))
    [got] = await collect(sub, 1)
    assert len(got.value) == len(value)
    assert got.value == value


async def test_burst_of_ten_thousand(
    broker: BrokerUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    n, publishers = 10_000, 50
    channel = await broker.channel()
    sub = await broker.observe(channel)
    got: list[Record] = []

    async def publish_share(first: int) -> None:
        for i in range(first, n, publishers):
            await broker.transport.publish(channel.publish, record(i, key=f"k{i % 16}"))

    async def observe_all() -> None:
        got.extend(await collect(sub, n, within=60))

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(observe_all)
        for first in range(publishers):
            tg.start_soon(publish_share, first)
    elapsed = time.perf_counter() - started
    counts = Counter(seqs(got))
    duplicated = sorted(s for s, c in counts.items() if c > 1)
    missing = sorted(set(range(n)) - set(counts))
    assert not duplicated, f"duplicated: {duplicated[:20]}"
    assert not missing, f"lost: {missing[:20]}"
    with capsys.disabled():
        print(
            f"\n[{broker.kind}] burst of {n} published and observed in {elapsed:.3f} s "
            f"({n / elapsed:,.0f} msg/s)"
        )


async def test_observers_of_different_channels_are_isolated(broker: BrokerUnderTest) -> None:
    first, second = await broker.channel(), await broker.channel()
    subs = {"first": await broker.observe(first), "second": await broker.observe(second)}
    channels = {"first": first, "second": second}
    for i in range(50):
        for name, channel in channels.items():
            await broker.transport.publish(channel.publish, record(i, key="k", on=name))
    for name, channel in channels.items():
        await broker.transport.publish(channel.publish, record(-1, key="k", on=name, end=True))
    for name, sub in subs.items():
        got = await collect_until(sub, lambda rec: bool(payload(rec).get("end")))
        assert {payload(r)["on"] for r in got} == {name}
        assert seqs(got) == [*range(50), -1]


async def test_unknown_channel(broker: BrokerUnderTest) -> None:
    name = broker.unused_name()
    address = f"{name}/orders.created" if broker.routes else name
    if not broker.auto_creates:
        with pytest.raises(ChannelNotFound, match=f"exchange '{name}' does not exist"):
            await broker.transport.publish(address, record(0))
        with pytest.raises(ChannelNotFound, match=f"exchange '{name}' does not exist"):
            await broker.transport.subscribe(f"{name}/#")
        return
    # Kafka (Tansu), the memory broker's topics and its exchanges: created on first publish.
    position = await broker.transport.publish(address, record(0))
    if not broker.routes:
        assert position.partition is not None and position.offset == 0
    sub = await broker.transport.subscribe(f"{name}/#" if broker.routes else name)
    await broker.transport.publish(address, record(1))
    assert seqs(await collect(sub, 1)) == [1]


async def test_queue_consumers_compete(routed_broker: BrokerUnderTest) -> None:
    broker = routed_broker  # queues exist only where exchanges route
    address = await broker.queue()
    consumers = [await broker.transport.subscribe(address, consume_queue=True) for _ in range(2)]
    n = 100
    for i in range(n):
        await broker.transport.publish(address, record(i))
    shares: list[list[int]] = [[], []]
    all_in = anyio.Event()

    async def consume(index: int) -> None:
        async for rec in consumers[index]:
            shares[index].append(payload(rec)["seq"])
            if sum(map(len, shares)) >= n:
                all_in.set()

    with anyio.fail_after(DEADLINE_S):
        async with anyio.create_task_group() as tg:
            for index in range(2):
                tg.start_soon(consume, index)
            await all_in.wait()
            tg.cancel_scope.cancel()
    assert sorted(shares[0] + shares[1]) == list(range(n)), "each record exactly once"
    assert all(shares), f"both consumers get records (round-robin): {list(map(len, shares))}"
    assert all(share == sorted(share) for share in shares), "a queue keeps publish order"


async def test_observing_a_queue_needs_consume_queue(routed_broker: BrokerUnderTest) -> None:
    broker = routed_broker  # queues exist only where exchanges route
    address = await broker.queue()
    with pytest.raises(UsageError, match="consume_queue=True"):
        await broker.transport.subscribe(address)
