"""The RabbitMQ transport against the local broker: mapping, routing, observation, errors."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator

import aio_pika
import aiormq
import anyio
import pytest

from eventharness.model.errors import BrokerUnavailable, ChannelNotFound, UsageError
from eventharness.model.events import Record
from eventharness.transports.amqp import AmqpSubscription, AmqpTransport
from eventharness.transports.base import Subscription, Transport, make_transport
from tests.conftest import unique

pytestmark = pytest.mark.amqp


@pytest.fixture
async def transport(amqp_url: str) -> AsyncIterator[AmqpTransport]:
    async with AmqpTransport(amqp_url) as t:
        yield t


@pytest.fixture
async def exchange(transport: AmqpTransport) -> AsyncIterator[str]:
    name = unique("eh-ex")
    await transport.create_channel(name)
    yield name
    await transport.delete_channel(name)


@pytest.fixture
async def raw(amqp_url: str) -> AsyncIterator[aio_pika.abc.AbstractConnection]:
    """A plain aio-pika connection, for looking at the broker from outside the transport."""
    connection = await aio_pika.connect(amqp_url)
    yield connection
    await connection.close()


async def take(sub: Subscription, n: int, within: float = 5.0) -> list[Record]:
    records: list[Record] = []
    with anyio.fail_after(within):
        async for record in sub:
            records.append(record)
            if len(records) == n:
                break
    return records


async def queue_state(connection: aio_pika.abc.AbstractConnection, name: str) -> str | int:
    """'missing', 'locked' (exclusive to another connection) or the message count."""
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity:
        return "missing"
    except aiormq.exceptions.ChannelLockedResource:
        return "locked"
    count = queue.declaration_result.message_count
    await channel.close()
    return int(count)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_is_a_transport_and_loads_by_scheme(amqp_url: str) -> None:
    t = make_transport(amqp_url)
    assert isinstance(t, AmqpTransport)
    assert isinstance(t, Transport)


async def test_round_trip_keeps_key_headers_and_properties(
    transport: AmqpTransport, exchange: str
) -> None:
    sub = await transport.subscribe(f"{exchange}/orders.created")
    assert isinstance(sub, Subscription)
    sent = Record(
        b'{"order_id": "o-1"}',
        key=b"o-1",
        headers={"correlation-id": b"c-42", "blob": b"\xff\x00\xfe", "note": "zürich".encode()},
        properties={
            "correlation_id": "c-42",
            "message_id": "m-7",
            "content_type": "application/json",
            "type": "OrderCreated",
        },
    )
    before = time.monotonic()
    position = await transport.publish(f"{exchange}/orders.created", sent)
    assert position.delivery_tag is not None and position.delivery_tag >= 1
    [got] = await take(sub, 1)
    assert got.value == sent.value
    assert got.key == b"o-1"
    assert got.headers == sent.headers
    assert dict(got.properties) == {
        "exchange": exchange,
        "routing_key": "orders.created",
        "correlation_id": "c-42",
        "message_id": "m-7",
        "content_type": "application/json",
        "type": "OrderCreated",
    }
    assert got.position.delivery_tag == 1
    assert before <= got.received <= time.monotonic()


async def test_unkeyed_record_has_no_key(transport: AmqpTransport, exchange: str) -> None:
    sub = await transport.subscribe(f"{exchange}/#")
    await transport.publish(f"{exchange}/x", Record(b"plain"))
    [got] = await take(sub, 1)
    assert got.key is None
    assert got.headers == {}


async def test_topic_patterns(transport: AmqpTransport, exchange: str) -> None:
    one_word = await transport.subscribe(f"{exchange}/order.*")
    any_words = await transport.subscribe(f"{exchange}/order.#")
    everything = await transport.subscribe(exchange)
    for key in ("order.created", "order.created.eu", "payment.taken", "order.end"):
        await transport.publish(f"{exchange}/{key}", Record(key.encode()))
    assert [r.value for r in await take(one_word, 2)] == [b"order.created", b"order.end"]
    assert [r.value for r in await take(any_words, 3)] == [
        b"order.created",
        b"order.created.eu",
        b"order.end",
    ]
    assert len(await take(everything, 4)) == 4


async def test_observer_is_armed_when_subscribe_returns(
    transport: AmqpTransport, exchange: str
) -> None:
    for i in range(20):
        sub = await transport.subscribe(f"{exchange}/armed.{i}")
        await transport.publish(f"{exchange}/armed.{i}", Record(str(i).encode()))
        [got] = await take(sub, 1)
        assert got.value == str(i).encode()
        await sub.aclose()


async def test_observer_queue_is_exclusive_and_removed(
    amqp_url: str, raw: aio_pika.abc.AbstractConnection
) -> None:
    name = unique("eh-ex")
    async with AmqpTransport(amqp_url) as t:
        await t.create_channel(name)
        sub = await t.subscribe(f"{name}/#")
        assert isinstance(sub, AmqpSubscription)
        assert await queue_state(raw, sub.queue) == "locked"
        await t.delete_channel(name)
    # the broker drops the queue as the connection closes; look until it has (bounded)
    with anyio.fail_after(5):
        while (state := await queue_state(raw, sub.queue)) != "missing":
            assert state == "locked"
            await anyio.sleep(0.02)


async def test_observer_does_not_steal_from_a_service_queue(
    transport: AmqpTransport, exchange: str, raw: aio_pika.abc.AbstractConnection
) -> None:
    service_queue = unique("eh-service")
    channel = await raw.channel()
    queue = await channel.declare_queue(service_queue)
    await queue.bind(exchange, routing_key="job.*")
    try:
        sub = await transport.subscribe(f"{exchange}/job.*")
        n = 200
        for i in range(n):
            await transport.publish(f"{exchange}/job.run", Record(str(i).encode()))
        seen = await take(sub, n)
        assert [r.value for r in seen] == [str(i).encode() for i in range(n)]
        assert await queue_state(raw, service_queue) == n
    finally:
        await queue.delete(if_unused=False, if_empty=False)


async def test_group_members_share_and_groups_each_get_all(
    transport: AmqpTransport, exchange: str
) -> None:
    group_a, group_b = unique("eh-grp"), unique("eh-grp")
    a1 = await transport.subscribe(f"{exchange}/work.#", group=group_a)
    a2 = await transport.subscribe(f"{exchange}/work.#", group=group_a)
    b = await transport.subscribe(f"{exchange}/work.#", group=group_b)
    try:
        n = 100
        for i in range(n):
            await transport.publish(f"{exchange}/work.item", Record(str(i).encode()))
        assert len(await take(b, n)) == n
        seen: list[bytes] = []

        async def drain(sub: Subscription) -> None:
            async for record in sub:
                seen.append(record.value)
                if len(seen) == n:
                    tg.cancel_scope.cancel()

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(drain, a1)
                tg.start_soon(drain, a2)
        assert sorted(seen) == sorted(str(i).encode() for i in range(n))
    finally:
        for sub in (a1, a2, b):
            await sub.aclose()
        await transport.delete_channel(f"/{group_a}")
        await transport.delete_channel(f"/{group_b}")


async def test_worker_queue_keeps_records_while_no_member_runs(
    transport: AmqpTransport, exchange: str
) -> None:
    group = unique("eh-grp")
    first = await transport.subscribe(f"{exchange}/k", group=group)
    await first.aclose()
    try:
        await transport.publish(f"{exchange}/k", Record(b"kept"))
        second = await transport.subscribe(f"{exchange}/k", group=group)
        assert [r.value for r in await take(second, 1)] == [b"kept"]
        await second.aclose()
    finally:
        await transport.delete_channel(f"/{group}")


async def test_deleting_a_worker_queue_ends_its_subscription(
    transport: AmqpTransport, exchange: str
) -> None:
    group = unique("eh-grp")
    sub = await transport.subscribe(f"{exchange}/k", group=group)
    await transport.delete_channel(f"/{group}")
    with anyio.fail_after(5), pytest.raises(ChannelNotFound, match=group):
        await take(sub, 1)


async def test_queue_address_needs_consume_queue(
    transport: AmqpTransport, raw: aio_pika.abc.AbstractConnection
) -> None:
    queue = unique("eh-q")
    await transport.create_channel(f"/{queue}")
    try:
        with pytest.raises(UsageError, match="consume_queue=True") as info:
            await transport.subscribe(f"/{queue}")
        assert "collect_queue: true" in str(info.value)
        for i in range(3):
            await transport.publish(f"/{queue}", Record(str(i).encode(), key=b"k"))
        sub = await transport.subscribe(f"/{queue}", consume_queue=True)
        got = await take(sub, 3)
        assert [r.value for r in got] == [b"0", b"1", b"2"]
        assert {r.properties["routing_key"] for r in got} == {queue}
        assert got[0].key == b"k"
        await sub.aclose()
        assert await queue_state(raw, queue) == 0  # acked: taken off the queue
    finally:
        await transport.delete_channel(f"/{queue}")


async def test_consume_queue_on_a_route_is_a_usage_error(
    transport: AmqpTransport, exchange: str
) -> None:
    with pytest.raises(UsageError, match="group="):
        await transport.subscribe(f"{exchange}/x", consume_queue=True)


async def test_publish_to_missing_queue_is_channel_not_found(transport: AmqpTransport) -> None:
    queue = unique("eh-noq")
    with pytest.raises(ChannelNotFound, match=queue):
        await transport.publish(f"/{queue}", Record(b"x"))


async def test_publish_to_missing_exchange_then_keep_working(
    transport: AmqpTransport, exchange: str
) -> None:
    missing = unique("eh-missing")
    with pytest.raises(ChannelNotFound) as info:
        await transport.publish(f"{missing}/k", Record(b"x"))
    message = str(info.value)
    assert missing in message and "create_channel" in message and str(transport.url) in message
    sub = await transport.subscribe(f"{exchange}/k")
    await transport.publish(f"{exchange}/k", Record(b"after"))
    assert [r.value for r in await take(sub, 1)] == [b"after"]


async def test_exchange_deleted_under_the_publisher_then_keep_working(
    transport: AmqpTransport, exchange: str, raw: aio_pika.abc.AbstractConnection
) -> None:
    doomed = unique("eh-doomed")
    await transport.create_channel(doomed)
    await transport.publish(f"{doomed}/k", Record(b"ok"))  # known to the transport now
    channel = await raw.channel()
    await channel.exchange_delete(doomed)  # behind the transport's back
    await channel.close()
    with pytest.raises(ChannelNotFound, match=doomed):
        await transport.publish(f"{doomed}/k", Record(b"lost"))
    sub = await transport.subscribe(f"{exchange}/k")
    await transport.publish(f"{exchange}/k", Record(b"recovered"))
    assert [r.value for r in await take(sub, 1)] == [b"recovered"]


async def test_declare_exchanges_option(amqp_url: str) -> None:
    name = unique("eh-auto")
    other = unique("eh-auto")
    async with AmqpTransport(amqp_url, declare_exchanges=True) as t:
        try:
            sub = await t.subscribe(f"{name}/a.*")  # declares the exchange, then binds
            await t.publish(f"{name}/a.c", Record(b"seen"))
            assert [r.value for r in await take(sub, 1)] == [b"seen"]
            await t.publish(f"{other}/a.b", Record(b"declared on publish"))
            await (await t.subscribe(f"{other}/#")).aclose()  # exists now
        finally:
            await t.delete_channel(name)
            await t.delete_channel(other)
    async with AmqpTransport(amqp_url + "?declare_exchanges=false") as t:
        with pytest.raises(ChannelNotFound):
            await t.subscribe(f"{unique('eh-missing')}/#")


async def test_subscribe_to_missing_exchange(transport: AmqpTransport) -> None:
    missing = unique("eh-missing")
    with pytest.raises(ChannelNotFound, match=missing):
        await transport.subscribe(f"{missing}/#")
    doomed = unique("eh-doomed")
    await transport.create_channel(doomed)  # known to the transport ...
    await transport.subscribe(f"{doomed}/#")
    other = AmqpTransport(transport.url)
    async with other:
        await other.delete_channel(doomed)  # ... and deleted by someone else
    with pytest.raises(ChannelNotFound, match=doomed):
        await transport.subscribe(f"{doomed}/#")


async def test_other_exchange_types_and_headers_binding(transport: AmqpTransport) -> None:
    fan, hdr = unique("eh-fan"), unique("eh-hdr")
    await transport.create_channel(fan, exchange_type="fanout")
    await transport.create_channel(hdr, exchange_type="headers")
    try:
        fan_sub = await transport.subscribe(fan)
        await transport.publish(f"{fan}/ignored", Record(b"to-all"))
        assert [r.value for r in await take(fan_sub, 1)] == [b"to-all"]

        pdf = await transport.subscribe(f"{hdr}/format=pdf&type=report")
        either = await transport.subscribe(f"{hdr}/format=pdf&type=report&x-match=any")
        await transport.publish(hdr + "/", Record(b"csv", headers={"format": b"csv"}))
        await transport.publish(hdr + "/", Record(b"pdf", headers={"format": b"pdf"}))
        both = {"format": b"pdf", "type": b"report"}
        await transport.publish(hdr + "/", Record(b"both", headers=both))
        assert [r.value for r in await take(pdf, 1)] == [b"both"]
        assert [r.value for r in await take(either, 2)] == [b"pdf", b"both"]
    finally:
        await transport.delete_channel(fan)
        await transport.delete_channel(hdr)


async def exchange_exists(connection: aio_pika.abc.AbstractConnection, name: str) -> bool:
    channel = await connection.channel()
    try:
        await channel.declare_exchange(name, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity:
        return False
    await channel.close()
    return True


async def test_delete_missing_channel_is_ignored(
    transport: AmqpTransport, raw: aio_pika.abc.AbstractConnection
) -> None:
    exchange, queue = unique("eh-none"), unique("eh-none")
    await transport.delete_channel(exchange)
    await transport.delete_channel(f"/{queue}")
    # nothing was created by deleting, and the transport still works: routes, then deletes
    assert not await exchange_exists(raw, exchange)
    assert await queue_state(raw, queue) == "missing"
    await transport.create_channel(exchange)
    sub = await transport.subscribe(f"{exchange}/#")
    await transport.publish(f"{exchange}/x", Record(b"after"))
    assert [r.value for r in await take(sub, 1)] == [b"after"]
    await sub.aclose()
    assert await exchange_exists(raw, exchange)
    await transport.delete_channel(exchange)
    assert not await exchange_exists(raw, exchange)


async def test_aclose_is_idempotent_and_ends_subscriptions(amqp_url: str) -> None:
    name = unique("eh-ex")
    t = AmqpTransport(amqp_url)
    await t.connect()
    await t.create_channel(name)
    sub = await t.subscribe(f"{name}/#")
    await t.delete_channel(name)
    await t.aclose()
    await t.aclose()
    with anyio.fail_after(2):
        assert [r async for r in sub] == []
    with pytest.raises(UsageError, match="closed"):
        await t.publish(f"{name}/k", Record(b"x"))


async def test_missing_vhost_is_a_clear_error(amqp_url: str) -> None:
    vhost = unique("eh-vhost")
    url = amqp_url.rstrip("/") + "/" + vhost
    with pytest.raises(BrokerUnavailable) as info:
        await AmqpTransport(url, connect_timeout=5).connect()
    message = str(info.value)
    assert f"virtual host {vhost!r}" in message
    assert f"rabbitmqctl add_vhost {vhost}" in message


async def test_refused_port_fails_fast_without_the_password() -> None:
    url = f"amqp://guest:s3cret-pw@127.0.0.1:{free_port()}/"
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as info:
        await AmqpTransport(url, connect_timeout=2).connect()
    assert time.monotonic() - started < 2.5
    message = str(info.value)
    assert "s3cret-pw" not in message
    assert "amqp://guest:***@127.0.0.1" in message
    assert "rabbitmq-server -detached" in message


async def test_silent_server_times_out_within_connect_timeout() -> None:
    with socket.socket() as server:  # accepts TCP connections but never speaks AMQP
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        url = f"amqp://guest:s3cret-pw@127.0.0.1:{port}/?connect_timeout=2"
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable, match="did not answer within 2s") as info:
            await AmqpTransport(url).connect()
        elapsed = time.monotonic() - started
    assert 1.9 <= elapsed < 3.5
    assert "s3cret-pw" not in str(info.value)


async def test_wrong_password_is_a_clear_error(amqp_url: str) -> None:
    url = amqp_url.replace("guest:guest@", "guest:not-the-password@")
    with pytest.raises(BrokerUnavailable) as info:
        await AmqpTransport(url, connect_timeout=5).connect()
    message = str(info.value)
    assert "refused the login of user 'guest'" in message
    assert "not-the-password" not in message


async def test_tls_against_a_plain_port_is_a_clear_error(amqp_url: str) -> None:
    url = amqp_url.replace("amqp://", "amqps://", 1)
    with pytest.raises(BrokerUnavailable, match="TLS settings") as info:
        await AmqpTransport(url, connect_timeout=5).connect()
    assert "amqps://guest:***@" in str(info.value)


async def test_publishing_without_confirms_delivers_and_does_not_wait_for_the_broker(
    amqp_url: str, transport: AmqpTransport, exchange: str
) -> None:
    """``publisher_confirms=false``: every record still arrives, in order; what only a confirm
    could tell (a message returned for a missing queue) is no longer reported, as documented."""
    sep = "&" if "?" in amqp_url else "?"
    async with AmqpTransport(f"{amqp_url}{sep}publisher_confirms=false") as fast:
        assert fast.confirms is False and transport.confirms is True
        sub = await transport.subscribe(f"{exchange}/k")
        for i in range(200):
            await fast.publish(f"{exchange}/k", Record(str(i).encode()))
        assert [r.value for r in await take(sub, 200)] == [str(i).encode() for i in range(200)]
        await fast.publish(f"/{unique('eh-noq')}", Record(b"x"))  # with confirms: ChannelNotFound


async def test_publishes_without_confirms_reach_the_broker_when_the_transport_closes_at_once(
    amqp_url: str, transport: AmqpTransport, exchange: str
) -> None:
    """Without confirms a publish may return with its frame still queued on the connection;
    closing the transport right after the last one returns still delivers every one."""
    sep = "&" if "?" in amqp_url else "?"
    sub = await transport.subscribe(f"{exchange}/k")
    fast = AmqpTransport(f"{amqp_url}{sep}publisher_confirms=false")
    await fast.connect()
    await fast.publish(f"{exchange}/k", Record(b"first"))  # the exchange is known from here
    try:
        for i in range(3):
            await fast.publish(f"{exchange}/k", Record(str(i).encode()))
    finally:
        await fast.aclose()
    assert [r.value for r in await take(sub, 4)] == [b"first", b"0", b"1", b"2"]


async def test_next_batch_hands_out_every_record_in_order_then_ends_when_closed(
    transport: AmqpTransport, exchange: str
) -> None:
    sub = await transport.subscribe(f"{exchange}/k")
    n = 300
    for i in range(n):
        await transport.publish(f"{exchange}/k", Record(str(i).encode()))
    values: list[bytes] = []
    with anyio.fail_after(5):
        while len(values) < n:
            values.extend(r.value for r in await sub.next_batch())
    assert values == [str(i).encode() for i in range(n)]
    await sub.aclose()
    with anyio.fail_after(2), pytest.raises(StopAsyncIteration):
        await sub.next_batch()


async def test_a_worker_batch_is_acknowledged(
    transport: AmqpTransport, exchange: str, raw: aio_pika.abc.AbstractConnection
) -> None:
    """Records handed out in a batch are acked: a member that closes after taking them leaves
    none of them behind in the group's queue."""
    group = unique("eh-grp")
    sub = await transport.subscribe(f"{exchange}/k", group=group)
    try:
        for i in range(20):
            await transport.publish(f"{exchange}/k", Record(str(i).encode()))
        taken: list[Record] = []
        with anyio.fail_after(5):
            while len(taken) < 20:
                taken.extend(await sub.next_batch())
        await sub.aclose()
        assert await queue_state(raw, group) == 0
    finally:
        await transport.delete_channel(f"/{group}")
