"""The Kafka transport against the embedded Kafka broker (Tansu), plus its URL-to-config mapping."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from eventharness.model.channels import parse_broker_url
from eventharness.model.errors import BrokerUnavailable, ChannelError
from eventharness.model.events import Record
from eventharness.transports import kafka_clients
from eventharness.transports.base import Subscription, Transport, make_transport
from eventharness.transports.kafka import KafkaSubscription, KafkaTransport
from eventharness.transports.kafka_config import (
    DEFAULT_MAX_REQUEST_SIZE,
    client_config,
    producer_config,
)
from tests.conftest import unique

# Tansu hands a consumer-group member its first partitions only after ~5 s.
GROUP_DEADLINE_S = 20.0
DEADLINE_S = 5.0


async def take(sub: Subscription, n: int, deadline: float = DEADLINE_S) -> list[Record]:
    """The next ``n`` records of ``sub``, or a failure naming what did arrive."""
    got: list[Record] = []

    async def collect() -> None:
        async for record in sub:
            got.append(record)
            if len(got) >= n:
                return

    try:
        await asyncio.wait_for(collect(), deadline)
    except TimeoutError:
        pytest.fail(f"expected {n} records within {deadline} s, got {len(got)}: {got[:5]}")
    return got


# -- URL -> client configuration (no broker needed) ------------------------------------------


def test_plain_url_maps_to_plaintext_bootstrap() -> None:
    config = client_config(parse_broker_url("kafka://a:9092,b:9093"))
    assert config == {"bootstrap_servers": "a:9092,b:9093", "security_protocol": "PLAINTEXT"}


def test_kafkas_url_uses_ssl_with_a_verifying_context() -> None:
    config = client_config(parse_broker_url("kafkas://broker.example:9093"))
    assert config["security_protocol"] == "SSL"
    context = config["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_cafile_param_is_loaded() -> None:
    with pytest.raises(FileNotFoundError):  # proves the cafile reaches the SSL context
        client_config(parse_broker_url("kafkas://h:9093?cafile=/nonexistent/ca.pem"))


@pytest.mark.parametrize(
    ("url", "protocol", "mechanism"),
    [
        ("kafka://user:pw@h:9092?sasl_mechanism=PLAIN", "SASL_PLAINTEXT", "PLAIN"),
        ("kafka://user:pw@h:9092?sasl_mechanism=scram-sha-256", "SASL_PLAINTEXT", "SCRAM-SHA-256"),
        ("kafkas://user:pw@h:9093?sasl_mechanism=SCRAM-SHA-512", "SASL_SSL", "SCRAM-SHA-512"),
    ],
)
def test_sasl_url_maps_credentials(url: str, protocol: str, mechanism: str) -> None:
    config = client_config(parse_broker_url(url))
    assert config["security_protocol"] == protocol
    assert config["sasl_mechanism"] == mechanism
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("user", "pw")


def test_unknown_sasl_mechanism_names_the_valid_ones_without_the_password() -> None:
    with pytest.raises(ChannelError) as caught:
        client_config(parse_broker_url("kafka://user:hunter2@h:9092?sasl_mechanism=GSSAPI"))
    message = str(caught.value)
    assert "GSSAPI" in message and "SCRAM-SHA-256" in message
    assert "hunter2" not in message and "user:***@" in message


def test_sasl_without_credentials_is_rejected() -> None:
    with pytest.raises(ChannelError, match="user and password"):
        client_config(parse_broker_url("kafka://h:9092?sasl_mechanism=PLAIN"))


def test_producer_defaults_and_url_overrides() -> None:
    defaults = producer_config(parse_broker_url("kafka://h:9092"))
    assert defaults["acks"] == "all"
    assert defaults["enable_idempotence"] is False
    assert defaults["max_request_size"] == DEFAULT_MAX_REQUEST_SIZE
    tuned = producer_config(
        parse_broker_url("kafka://h:9092?linger_ms=5&max_batch_size=65536&acks=1")
    )
    assert (tuned["linger_ms"], tuned["max_batch_size"], tuned["acks"]) == (5, 65536, 1)
    assert producer_config(parse_broker_url("kafka://h:9092"), {"linger_ms": 7})["linger_ms"] == 7
    with pytest.raises(ChannelError, match="acks"):
        producer_config(parse_broker_url("kafka://h:9092?acks=most"))


def test_kafka_urls_resolve_to_this_transport() -> None:
    transport = make_transport("kafka://127.0.0.1:9092")
    assert isinstance(transport, KafkaTransport)
    assert isinstance(transport, Transport)


# -- unreachable brokers -----------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers a Kafka request."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.mark.parametrize("port_fixture", ["closed_port", "silent_port"])
async def test_unreachable_broker_fails_within_the_connect_timeout(
    port_fixture: str, request: pytest.FixtureRequest
) -> None:
    port = request.getfixturevalue(port_fixture)
    transport = KafkaTransport(f"kafka://alice:s3cret-pw@127.0.0.1:{port}?connect_timeout=2")
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as caught:
        await transport.connect()
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"connect took {elapsed:.1f} s with connect_timeout=2"
    message = str(caught.value)
    assert f"kafka://alice:***@127.0.0.1:{port}" in message
    assert "s3cret-pw" not in message
    assert "docker compose" in message and "embedded" in message  # the remedy
    await transport.aclose()  # nothing left to close, and still harmless


class SilentAdminKafka(KafkaTransport):
    """A Kafka transport whose admin client is connected to a port that accepts requests and
    never answers: a broker that went silent after the admin client started (injected)."""

    def __init__(self, url: str, silent: int) -> None:
        super().__init__(url)
        self.silent = AIOKafkaAdminClient(bootstrap_servers=f"127.0.0.1:{silent}")

    async def _admin_client(self) -> AIOKafkaAdminClient:
        return self.silent


@pytest.mark.parametrize(
    ("operation", "what"),
    [("create_channel", "create topic 'orders'"), ("delete_channel", "delete topic 'orders'")],
)
async def test_an_admin_operation_nobody_answers_fails_within_the_connect_timeout(
    operation: str, what: str, silent_port: int
) -> None:
    url = f"kafka://127.0.0.1:{silent_port}?connect_timeout=1"
    transport = SilentAdminKafka(url, silent_port)
    started = time.monotonic()
    try:
        async with asyncio.timeout(15):  # the old transport waited here forever
            with pytest.raises(BrokerUnavailable) as caught:
                await getattr(transport, operation)("orders")
    except TimeoutError:
        pytest.fail(f"{operation} on a silent broker hung (no answer after 15 s)")
    finally:
        await transport.silent.close()
    elapsed = time.monotonic() - started
    assert elapsed < 3, f"{operation} took {elapsed:.1f} s with connect_timeout=1"
    assert str(caught.value) == (
        f"{what}: Kafka at {url} did not answer within 1 s (connect_timeout = 1 s). "
        "Check that the broker is running."
    )


async def test_a_client_close_that_ignores_its_cancel_is_abandoned_at_the_close_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kafka_clients, "CLOSE_TIMEOUT_S", 0.2)
    release = asyncio.Event()

    async def stubborn_close() -> None:  # aiokafka's fetcher close suppresses CancelledError
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await release.wait()

    started = time.monotonic()
    closing = asyncio.ensure_future(kafka_clients.quietly(stubborn_close()))
    try:  # waited for, not cancelled: the old close swallowed a cancel too
        done, _ = await asyncio.wait([closing], timeout=5)
        elapsed = time.monotonic() - started
    finally:
        release.set()
        await closing
    assert done, "the close hung: not done after 5 s with a 0.2 s close timeout"
    assert 0.2 <= elapsed < 1, f"the close took {elapsed:.2f} s with a 0.2 s close timeout"


# -- against the embedded broker ----------------------------------------------------------------


@pytest.fixture
async def kafka(kafka_url: str) -> AsyncIterator[KafkaTransport]:
    async with KafkaTransport(kafka_url) as transport:
        yield transport


@pytest.mark.kafka
async def test_round_trip_keeps_key_headers_and_position(kafka: KafkaTransport) -> None:
    topic = unique("rt")
    await kafka.create_channel(topic, partitions=2)
    sub = await kafka.subscribe(topic)
    sent = Record(
        value=b'{"n": 1}',
        key=b"order-1",
        headers={"correlation-id": b"c-1", "note": "größe".encode(), "raw": b"\x00\xff"},
    )
    before = time.monotonic()
    position = await kafka.publish(topic, sent)
    (got,) = await take(sub, 1)
    assert (got.value, got.key) == (sent.value, sent.key)
    assert dict(got.headers) == dict(sent.headers)
    assert got.properties == {"topic": topic}
    assert got.position == position and got.partition == position.partition
    assert got.broker_time is not None and abs(got.broker_time - time.time()) < 60
    assert before <= got.received <= time.monotonic()


@pytest.mark.kafka
async def test_explicit_partition_is_honoured(kafka: KafkaTransport) -> None:
    topic = unique("part")
    await kafka.create_channel(topic, partitions=3)
    sub = await kafka.subscribe(topic)
    position = await kafka.publish(topic, Record(value=b"x", partition=2))
    assert position.partition == 2
    (got,) = await take(sub, 1)
    assert got.partition == 2


@pytest.mark.kafka
async def test_observer_starts_at_the_end(kafka: KafkaTransport) -> None:
    topic = unique("end")
    await kafka.create_channel(topic, partitions=3)
    for i in range(5):
        await kafka.publish(topic, Record(value=f"old-{i}".encode(), key=str(i).encode()))
    sub = await kafka.subscribe(topic)
    for i in range(5):
        await kafka.publish(topic, Record(value=f"new-{i}".encode(), key=str(i).encode()))
    got = await take(sub, 5)
    assert sorted(r.value for r in got) == [f"new-{i}".encode() for i in range(5)]
    # and nothing old trails behind
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(sub), 0.5)


@pytest.mark.kafka
async def test_observer_sees_a_topic_created_after_arming(kafka: KafkaTransport) -> None:
    topic = unique("late")
    sub = await kafka.subscribe(topic)  # the topic does not exist yet
    position = await kafka.publish(topic, Record(value=b"first ever"))  # auto-creates it
    (got,) = await take(sub, 1)
    assert got.value == b"first ever" and got.position == position


@pytest.mark.kafka
async def test_large_messages_round_trip(kafka: KafkaTransport) -> None:
    topic = unique("big")
    await kafka.create_channel(topic)
    sub = await kafka.subscribe(topic)
    payload = bytes(range(256)) * (6 * 1024)  # 1.5 MiB
    await kafka.publish(topic, Record(value=payload))
    (got,) = await take(sub, 1)
    assert got.value == payload


@pytest.mark.kafka
async def test_null_value_and_odd_bytes_come_out_as_bytes(kafka: KafkaTransport) -> None:
    from aiokafka import AIOKafkaProducer

    topic = unique("odd")
    await kafka.create_channel(topic)
    sub = await kafka.subscribe(topic)
    producer = AIOKafkaProducer(bootstrap_servers=kafka.url.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=None, key=b"tombstone")
        await producer.send_and_wait(topic, value=b"\xff\xfe not utf-8", headers=[("h", None)])
    finally:
        await producer.stop()
    tomb, odd = await take(sub, 2)
    assert (tomb.value, tomb.key) == (b"", b"tombstone")
    assert odd.value == b"\xff\xfe not utf-8" and odd.headers == {"h": b""}


@pytest.mark.kafka
async def test_worker_group_gets_every_record(kafka: KafkaTransport) -> None:
    topic = unique("work")
    await kafka.create_channel(topic, partitions=2)
    await kafka.publish(topic, Record(value=b"before"))
    worker = await kafka.subscribe(topic, group=unique("grp"))
    # Published right after subscribe returns, long before Tansu assigns partitions.
    for i in range(10):
        await kafka.publish(topic, Record(value=str(i).encode(), key=str(i).encode()))
    got = await take(worker, 10, GROUP_DEADLINE_S)
    assert sorted(int(r.value) for r in got) == list(range(10))


@pytest.mark.kafka
async def test_observer_does_not_disturb_a_consumer_group(kafka: KafkaTransport) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    topic = unique("calm")
    group = unique("svc")
    await kafka.create_channel(topic, partitions=3)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.url.bootstrap)
    await admin.start()
    try:
        groups_before = {g[0] for g in await admin.list_consumer_groups()}
        service = await kafka.subscribe(topic, group=group)
        observer = await kafka.subscribe(topic)
        sent = {f"m{i}".encode() for i in range(30)}
        for value in sorted(sent):
            await kafka.publish(topic, Record(value=value, key=value))
        seen = await take(observer, len(sent))
        served = await take(service, len(sent), GROUP_DEADLINE_S)
        assert {r.value for r in seen} == sent
        assert {r.value for r in served} == sent
        groups_after = {g[0] for g in await admin.list_consumer_groups()}
        # The only new group is the service's: the observer has none and commits nothing.
        assert groups_after - groups_before == {group}
    finally:
        await admin.close()


@pytest.mark.kafka
async def test_create_and_delete_are_idempotent(kafka: KafkaTransport) -> None:
    topic = unique("admin")
    await kafka.create_channel(topic, partitions=3)
    await kafka.create_channel(topic, partitions=3)
    sub = await kafka.subscribe(topic)
    assert isinstance(sub, KafkaSubscription)
    assert sub._known == {0, 1, 2}  # the observer was armed on all three partitions
    await sub.aclose()
    await kafka.delete_channel(topic)
    await kafka.delete_channel(topic)
    late = await kafka.subscribe(topic)
    assert late._known == set()  # gone: the observer now waits for it to appear


@pytest.mark.kafka
async def test_aclose_ends_iteration_and_is_idempotent(kafka_url: str) -> None:
    transport = KafkaTransport(kafka_url)
    await transport.connect()
    topic = unique("close")
    await transport.create_channel(topic)
    sub = await transport.subscribe(topic)

    async def drain() -> list[Record]:
        return [record async for record in sub]

    reader = asyncio.create_task(drain())
    await transport.aclose()
    await transport.aclose()
    # Closing the transport closed the subscription: a reader ends instead of hanging.
    assert await asyncio.wait_for(reader, DEADLINE_S) == []
    with pytest.raises(StopAsyncIteration):
        await anext(sub)


@pytest.mark.kafka
async def test_worker_of_a_topic_created_later_reads_it_from_the_start(
    kafka: KafkaTransport,
) -> None:
    topic = unique("late-work")
    worker = await kafka.subscribe(topic, group=unique("grp"))  # the topic does not exist yet
    for i in range(3):
        await kafka.publish(topic, Record(value=str(i).encode()))  # the first auto-creates it
    got = await take(worker, 3, GROUP_DEADLINE_S)
    assert sorted(r.value for r in got) == [b"0", b"1", b"2"]


@pytest.mark.kafka
async def test_two_workers_of_one_group_share_each_record_once(kafka: KafkaTransport) -> None:
    topic = unique("share")
    group = unique("grp")
    await kafka.create_channel(topic, partitions=4)
    first = await kafka.subscribe(topic, group=group)
    second = await kafka.subscribe(topic, group=group)
    n = 40
    for i in range(n):
        await kafka.publish(topic, Record(value=str(i).encode(), key=f"k{i}".encode()))
    shares: dict[str, list[int]] = {"first": [], "second": []}
    everything = asyncio.Event()

    async def consume(name: str, sub: KafkaSubscription) -> None:
        async for record in sub:
            shares[name].append(int(record.value))
            if sum(map(len, shares.values())) >= n:
                everything.set()

    tasks = [
        asyncio.create_task(consume("first", first)),
        asyncio.create_task(consume("second", second)),
    ]
    try:
        await asyncio.wait_for(everything.wait(), GROUP_DEADLINE_S * 2)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert sorted(shares["first"] + shares["second"]) == list(range(n)), shares
