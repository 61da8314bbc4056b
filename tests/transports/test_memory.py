"""What the in-process broker promises beyond the conformance suite: partitions and consumer
groups, exchange types, queues with competing consumers, isolation by name, clean closing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator

import anyio
import pytest

from eventharness.model.errors import BrokerError, ChannelNotFound, UsageError
from eventharness.model.events import Position, Record
from eventharness.transports.base import Transport, make_transport
from eventharness.transports.memory import (
    MemorySubscription,
    MemoryTransport,
    get_broker,
    murmur2,
    reset_broker,
)
from tests.conftest import unique


@pytest.fixture
async def transport(memory_url: str) -> AsyncIterator[MemoryTransport]:
    async with MemoryTransport(memory_url) as t:
        yield t
    reset_broker(t.url.hosts[0][0])


def rec(seq: int, key: str | None = None, **headers: str) -> Record:
    return Record(
        json.dumps({"seq": seq}).encode(),
        key=key.encode() if key is not None else None,
        headers={k: v.encode() for k, v in headers.items()},
    )


def seq(record: Record) -> int:
    value: int = json.loads(record.value)["seq"]
    return value


def drain(sub: MemorySubscription) -> list[Record]:
    """Everything already delivered to ``sub``: memory delivery is synchronous with publish."""
    out = list(sub._buffer)
    sub._buffer.clear()
    return out


async def take(sub: MemorySubscription, n: int) -> list[Record]:
    got: list[Record] = []
    with anyio.fail_after(5):
        async for record in sub:
            got.append(record)
            if len(got) == n:
                break
    return got


# -- the transport contract -------------------------------------------------------------------


def test_memory_urls_load_the_memory_transport(memory_url: str) -> None:
    transport = make_transport(memory_url)
    assert isinstance(transport, MemoryTransport)
    assert isinstance(transport, Transport)


async def test_transports_with_one_name_share_a_broker_and_names_isolate(memory_url: str) -> None:
    other = memory_url + "-other"
    async with (
        MemoryTransport(memory_url) as a,
        MemoryTransport(memory_url) as b,
        MemoryTransport(other) as c,
    ):
        assert a.broker is b.broker is get_broker(a.url.hosts[0][0])
        assert c.broker is not a.broker
        seen_b = await b.subscribe("t")
        seen_c = await c.subscribe("t")
        await a.publish("t", rec(1))
        assert [seq(r) for r in drain(seen_b)] == [1]
        assert drain(seen_c) == []
    assert MemoryTransport("memory://").broker is get_broker("default")


async def test_records_carry_position_times_and_unchanged_headers(
    transport: MemoryTransport,
) -> None:
    sub = await transport.subscribe("t")
    before = anyio.current_time()
    headers = {"correlation-id": b"c-1", "h\u00e9": "v\u00e9".encode()}
    position = await transport.publish(
        "t", Record(b"v", key=b"k", headers=headers, properties={"p": "1"})
    )
    [got] = await take(sub, 1)
    assert got.position == position and position.offset == 0
    assert got.partition == position.partition
    assert got.headers == headers and got.key == b"k" and got.value == b"v"
    assert got.properties == {"p": "1", "topic": "t"}
    assert got.received >= before and got.broker_time is not None


async def test_aclose_is_idempotent_ends_iteration_and_detaches(transport: MemoryTransport) -> None:
    sub = await transport.subscribe("t")
    waiting: list[Record] = []

    async def reader() -> None:
        waiting.extend([r async for r in sub])

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            await anyio.wait_all_tasks_blocked()
            await sub.aclose()
            await sub.aclose()
    assert waiting == [] and sub.closed
    await transport.publish("t", rec(1))
    assert sub.pending == 0  # nothing is delivered to a closed subscription


async def test_transport_aclose_closes_its_subscriptions(memory_url: str) -> None:
    transport = MemoryTransport(memory_url)
    await transport.connect()
    subs = [await transport.subscribe("t"), await transport.subscribe("ex/#")]
    await transport.aclose()
    await transport.aclose()
    assert all(s.closed for s in subs)
    with pytest.raises(UsageError, match="closed"):
        await transport.publish("t", rec(1))


# -- topics: partitions and groups ------------------------------------------------------------


def test_murmur2_matches_kafka() -> None:
    # Vectors from Apache Kafka's UtilsTest (signed Java ints).
    vectors = {b"21": -973932308, b"foobar": -790332482, b"abc": 479470107}
    vectors[b"a-little-bit-longer-string"] = -1486304829
    vectors[b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"] = -58897971
    for data, expected in vectors.items():
        assert murmur2(data) == expected & 0xFFFFFFFF, data


async def test_key_hash_partitioning_is_stable_and_kafka_compatible(
    transport: MemoryTransport,
) -> None:
    await transport.create_channel("t", partitions=6)
    first = [await transport.publish("t", rec(i, key=f"k{i % 10}")) for i in range(40)]
    for i, position in enumerate(first):
        assert position.partition == (murmur2(f"k{i % 10}".encode()) & 0x7FFFFFFF) % 6
    again = [await transport.publish("t", rec(i, key=f"k{i % 10}")) for i in range(10)]
    assert [p.partition for p in again] == [p.partition for p in first[:10]]
    assert len({p.partition for p in first}) > 1


async def test_explicit_partition_offsets_and_default_partition_count(
    transport: MemoryTransport,
) -> None:
    positions = [
        await transport.publish("t", Record(b"x", key=b"ignored", partition=2)) for _ in range(3)
    ]
    assert positions == [Position(2, 0), Position(2, 1), Position(2, 2)]
    assert transport.broker.partitions("t") == 4
    with pytest.raises(BrokerError, match=r"partitions 0\.\.3"):
        await transport.publish("t", Record(b"x", partition=4))


async def test_each_record_reaches_one_member_of_each_group(transport: MemoryTransport) -> None:
    members = [await transport.subscribe("t", group="g1") for _ in range(2)]
    other = await transport.subscribe("t", group="g2")
    for i in range(100):
        await transport.publish("t", rec(i, key=f"k{i % 7}"))
    per_member = [[seq(r) for r in drain(m)] for m in members]
    assert sorted(per_member[0] + per_member[1]) == list(range(100))
    assert all(per_member), "members of a group share partitions: both get records"
    assert [seq(r) for r in drain(other)] == list(range(100))


async def test_group_keeps_key_order_through_rebalances(transport: MemoryTransport) -> None:
    first = await transport.subscribe("t", group="g")
    for i in range(40):
        await transport.publish("t", rec(i, key=f"k{i % 5}"))
    second = await transport.subscribe("t", group="g")  # takes partitions and their unread records
    for i in range(40, 80):
        await transport.publish("t", rec(i, key=f"k{i % 5}"))
    await first.aclose()  # unread records go to the remaining member
    for i in range(80, 100):
        await transport.publish("t", rec(i, key=f"k{i % 5}"))
    got = drain(second)
    assert sorted(seq(r) for r in got) == list(range(100))
    by_key: dict[bytes | None, list[int]] = {}
    for record in got:
        by_key.setdefault(record.key, []).append(seq(record))
    assert all(s == sorted(s) for s in by_key.values())


async def test_group_starts_at_end_and_keeps_its_place_without_members(
    transport: MemoryTransport,
) -> None:
    await transport.publish("t", rec(0))
    member = await transport.subscribe("t", group="g")
    await transport.publish("t", rec(1))
    await transport.publish("t", rec(2))
    assert [seq(r) for r in await take(member, 1)] == [1]
    await member.aclose()  # record 2 was delivered but never read: the group gets it back
    await transport.publish("t", rec(3))  # no member: the group keeps it
    late = await transport.subscribe("t", group="g")
    assert [seq(r) for r in drain(late)] == [2, 3]


async def test_observer_starts_at_end_and_never_takes_from_groups(
    transport: MemoryTransport,
) -> None:
    await transport.publish("t", rec(0))
    worker = await transport.subscribe("t", group="g")
    observer = await transport.subscribe("t")
    for i in range(1, 11):
        await transport.publish("t", rec(i))
    assert sorted(seq(r) for r in drain(observer)) == list(range(1, 11))
    assert sorted(seq(r) for r in drain(worker)) == list(range(1, 11))


# -- exchanges and queues ---------------------------------------------------------------------


async def routed(transport: MemoryTransport, patterns: list[str], publishes: list[str]) -> list:
    """For each binding pattern, the routing keys of ``publishes`` it received."""
    subs = [await transport.subscribe(f"ex/{p}") for p in patterns]
    for i, key in enumerate(publishes):
        await transport.publish(f"ex/{key}", rec(i))
    return [[r.properties["routing_key"] for r in drain(s)] for s in subs]


async def test_topic_exchange_wildcards(transport: MemoryTransport) -> None:
    keys = ["a", "a.b", "a.b.c", "x.b", "a.x.y.c"]
    result = await routed(transport, ["a.*", "a.#", "#", "*.b", "a.#.c", "a"], keys)
    assert result == [
        ["a.b"],
        ["a", "a.b", "a.b.c", "a.x.y.c"],
        keys,
        ["a.b", "x.b"],
        ["a.b.c", "a.x.y.c"],
        ["a"],
    ]


async def test_undeclared_exchange_is_a_topic_exchange(transport: MemoryTransport) -> None:
    assert await transport.publish("fresh/a.b", rec(1)) == Position(delivery_tag=1)
    assert await transport.publish("fresh/a.b", rec(2)) == Position(delivery_tag=2)
    assert transport.broker.exchange_type("fresh") == "topic"


async def test_direct_and_fanout_exchanges(transport: MemoryTransport, memory_url: str) -> None:
    await transport.create_channel("ex/", exchange_type="direct")
    assert await routed(transport, ["a", "a.*"], ["a", "a.b"]) == [["a"], []]
    reset_broker(transport.broker.name)
    async with MemoryTransport(memory_url) as fresh:
        await fresh.create_channel("ex/", exchange_type="fanout")
        assert await routed(fresh, ["x", ""], ["a", "b"]) == [["a", "b"], ["a", "b"]]


async def test_headers_exchange_all_and_any(transport: MemoryTransport) -> None:
    await transport.create_channel("hx/", exchange_type="headers")
    all_sub = await transport.subscribe("hx/format=pdf&type=report")
    any_sub = await transport.subscribe("hx/format=pdf&type=report&x-match=any")
    await transport.publish("hx/", rec(1, format="pdf", type="report"))
    await transport.publish("hx/", rec(2, format="pdf", type="log"))
    await transport.publish("hx/", rec(3, format="zip"))
    assert [seq(r) for r in drain(all_sub)] == [1]
    assert [seq(r) for r in drain(any_sub)] == [1, 2]


async def test_redeclaring_with_another_type_is_refused(transport: MemoryTransport) -> None:
    await transport.create_channel("ex/", exchange_type="fanout")
    with pytest.raises(BrokerError, match="already exists as a 'fanout' exchange"):
        await transport.create_channel("ex/", exchange_type="direct")
    with pytest.raises(UsageError, match="not one of"):
        await transport.create_channel("other/", exchange_type="bogus")


async def test_strict_broker_refuses_undeclared_exchanges(memory_url: str) -> None:
    async with MemoryTransport(memory_url + "?declare_exchanges=false") as strict:
        with pytest.raises(ChannelNotFound, match="no exchange 'nope'"):
            await strict.publish("nope/a", rec(1))
        await strict.create_channel("yes/")
        await strict.publish("yes/a", rec(1))
        with pytest.raises(ChannelNotFound, match="no queue 'jobs'"):
            await strict.publish("/jobs", rec(1))
        with pytest.raises(ChannelNotFound, match="no queue 'jobs'"):
            await strict.subscribe("/jobs", consume_queue=True)
        await strict.create_channel("/jobs")
        await strict.publish("/jobs", rec(1))
    reset_broker(strict.broker.name)


async def test_workers_of_one_queue_compete_and_observers_see_all(
    transport: MemoryTransport,
) -> None:
    workers = [await transport.subscribe("ex/order.*", group="q") for _ in range(3)]
    observer = await transport.subscribe("ex/#")
    for i in range(30):
        await transport.publish("ex/order.created", rec(i))
    shares = [[seq(r) for r in drain(w)] for w in workers]
    assert [len(s) for s in shares] == [10, 10, 10]  # round-robin
    assert sorted(s for share in shares for s in share) == list(range(30))
    seen = drain(observer)
    assert [seq(r) for r in seen] == list(range(30))
    assert [r.position.delivery_tag for r in seen] == list(range(1, 31))


async def test_named_queue_collects_without_consumers_and_requeues_unread(
    transport: MemoryTransport,
) -> None:
    first = await transport.subscribe("ex/a", group="q")
    await transport.publish("ex/a", rec(1))
    await first.aclose()  # record 1 was never read: back to the queue
    await transport.publish("ex/a", rec(2))
    assert transport.broker.queue_depth("q") == 2
    second = await transport.subscribe("ex/a", group="q")
    assert [seq(r) for r in await take(second, 2)] == [1, 2]


async def test_default_exchange_queue_consumption(transport: MemoryTransport) -> None:
    await transport.publish("/jobs", rec(1))
    consumers = [await transport.subscribe("/jobs", consume_queue=True) for _ in range(2)]
    for i in range(2, 6):
        await transport.publish("/jobs", rec(i))
    got = Counter(seq(r) for c in consumers for r in drain(c))
    assert got == Counter(range(1, 6))


async def test_subscribing_to_a_queue_needs_consume_queue(transport: MemoryTransport) -> None:
    with pytest.raises(UsageError, match=r"consume_queue=True") as info:
        await transport.subscribe("/jobs")
    assert "take messages off queue 'jobs'" in str(info.value)
    with pytest.raises(UsageError, match="applies to '/queue' addresses"):
        await transport.subscribe("orders", consume_queue=True)


async def test_observer_queue_is_removed_when_closed(transport: MemoryTransport) -> None:
    sub = await transport.subscribe("ex/#")
    queues_before = len(transport.broker._queues)
    await sub.aclose()
    assert len(transport.broker._queues) == queues_before - 1
    await transport.publish("ex/a", rec(1))  # routes nowhere, keeps nothing


async def test_delete_channel_ends_subscriptions(transport: MemoryTransport) -> None:
    topic_sub = await transport.subscribe("t")
    queue_sub = await transport.subscribe("/jobs", consume_queue=True)
    await transport.delete_channel("t")
    await transport.delete_channel("/jobs")
    await transport.delete_channel("never-existed")
    assert topic_sub.closed and queue_sub.closed
    assert "t" not in transport.broker.topics


async def test_waiting_reader_wakes_on_publish(transport: MemoryTransport) -> None:
    sub = await transport.subscribe(unique("t"))
    got: list[Record] = []

    async def reader() -> None:
        got.extend(await take(sub, 1))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            await anyio.wait_all_tasks_blocked()
            await transport.publish(sub.address, rec(7))
    assert [seq(r) for r in got] == [7]


async def test_deliver_to_hands_records_over_inside_the_publish(transport: MemoryTransport) -> None:
    topic = unique("t")
    sub = await transport.subscribe(topic)
    await transport.publish(topic, rec(1))  # buffered before the sink exists: handed over first
    got: list[int] = []

    async def deliver() -> None:
        await sub.deliver_to(lambda record: got.append(seq(record)))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(deliver)
            await anyio.wait_all_tasks_blocked()
            assert got == [1]
            await transport.publish(topic, rec(2))
            assert got == [1, 2]  # no task switch between the publish and the sink
            await sub.aclose()  # ends deliver_to
    assert sub.pending == 0


async def test_a_failing_sink_stops_its_subscription_not_the_publisher(
    transport: MemoryTransport,
) -> None:
    topic = unique("t")
    sub = await transport.subscribe(topic)
    other = await transport.subscribe(topic)

    def sink(record: Record) -> None:
        raise ValueError(f"cannot take {seq(record)}")

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            failed: list[BaseException] = []

            async def deliver() -> None:
                try:
                    await sub.deliver_to(sink)
                except ValueError as exc:
                    failed.append(exc)

            tg.start_soon(deliver)
            await anyio.wait_all_tasks_blocked()
            await transport.publish(topic, rec(3))  # does not raise
            await transport.publish(topic, rec(4))
    assert [str(e) for e in failed] == ["cannot take 3"]
    assert sub.closed
    assert [seq(r) for r in drain(other)] == [3, 4]  # the other reader got everything


async def test_a_sink_failing_on_a_buffered_record_closes_the_subscription(
    transport: MemoryTransport,
) -> None:
    topic = unique("t")
    sub = await transport.subscribe(topic)
    await transport.publish(topic, rec(5))

    def sink(record: Record) -> None:
        raise ValueError(f"cannot take {seq(record)}")

    with anyio.fail_after(5), pytest.raises(ValueError, match="cannot take 5"):
        await sub.deliver_to(sink)
    assert sub.closed
