"""Claims of the README and the docs, each proved on a real broker and read back with an
independent client where the harness's own reading could hide a mistake:

* an unreachable Kafka makes the CLI exit 2 with a one-line cause, within the connect timeout;
* a recording replayed onto Kafka arrives as recorded (values, keys, headers, per-key order),
  as confluent-kafka sees it;
* the pytest plugin runs against RabbitMQ: a user's test passes, another fails with a timeout
  that names the channel;
* observing never disturbs (DESIGN §6): a service's consumer group on the same topic keeps
  every message and exactly the offsets it committed itself, and no group is added;
* concurrent first publishes of one scenario arm each channel once and meet every expectation
  (the race fixed in c79b0ae).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

import eventharness as eh
from eventharness.engine.recording import Recorded, Recording, replay
from eventharness.transports.kafka import KafkaSubscription, KafkaTransport
from tests.conftest import unique

pytest_plugins = ["pytester"]

EXE = str(Path(sys.executable).parent / "eventharness")
T = TypeVar("T")

# librdkafka settings for a consumer group on Tansu: with the default session timeout the
# first assignment takes about 23 s; with these it takes about 3 s.
FAST_GROUP = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}


def bootstrap(kafka_url: str) -> str:
    return kafka_url.removeprefix("kafka://")


# -- 1. the CLI and an unreachable Kafka -------------------------------------------------


SCENARIO = """\
name: echo on kafka
steps:
  - publish: {channel: kafka:orders, value: {type: OrderPlaced}}
  - expect: {channel: kafka:orders, type: OrderPlaced, within: 500ms}
"""


@pytest.fixture
def kafka_project(tmp_path: Path) -> Path:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "a.yaml").write_text(SCENARIO)
    return tmp_path


def run_cli(cwd: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    done = subprocess.run(
        [EXE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "COLUMNS": "120"},
    )
    return done, time.monotonic() - began


def one_line_cause(done: subprocess.CompletedProcess[str]) -> str:
    """The run exited 2 with exactly one ``error:`` line, the last one, and no traceback."""
    everything = done.stdout + done.stderr
    assert done.returncode == 2, everything
    assert "Traceback" not in everything, everything
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, done.stderr
    assert done.stderr.strip() == lines[0], done.stderr  # nothing but the cause on stderr
    return lines[0]


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: only a timeout ends a wait."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield int(s.getsockname()[1])


def test_cli_exits_2_on_a_refused_kafka(kafka_project: Path, free_port: int) -> None:
    done, took = run_cli(
        kafka_project, "run", "scenarios", "--broker", f"kafka=kafka://127.0.0.1:{free_port}"
    )
    cause = one_line_cause(done)
    assert cause.startswith(f"error: cannot connect to Kafka at kafka://127.0.0.1:{free_port} ("), (
        cause
    )
    assert "docker compose -f compose/docker-compose.yml up" in cause  # the remedy
    assert "`embedded` in the profile" in cause
    assert took < 15


def test_cli_exits_2_on_a_silent_kafka_within_the_connect_timeout(
    kafka_project: Path, silent_port: int
) -> None:
    done, took = run_cli(
        kafka_project,
        "run",
        "scenarios",
        "--connect-timeout",
        "1",
        "--broker",
        f"kafka=kafka://127.0.0.1:{silent_port}",
    )
    cause = one_line_cause(done)
    assert cause.startswith(
        f"error: cannot connect to Kafka at kafka://127.0.0.1:{silent_port} "
        "(no answer within connect_timeout = 1 s)"
    ), cause
    assert took < 8  # the default timeout is 10 s: the option is what ended the wait


def test_cli_honours_the_urls_connect_timeout(kafka_project: Path, silent_port: int) -> None:
    done, took = run_cli(
        kafka_project,
        "run",
        "scenarios",
        "--broker",
        f"kafka=kafka://127.0.0.1:{silent_port}?connect_timeout=1",
    )
    cause = one_line_cause(done)
    assert "(no answer within connect_timeout = 1 s)" in cause, cause
    assert took < 8


# -- 2. a recording replayed onto Kafka, read back by confluent-kafka ----------------------


def read_topic(
    kafka_url: str, topic: str, partitions: int, n: int, within: float = 20.0
) -> list[Any]:
    """``n`` messages of ``topic`` from the beginning of every partition (assign, no group)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap(kafka_url),
            "group.id": unique("read"),
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    got: list[Any] = []
    deadline = time.monotonic() + within
    try:
        while len(got) < n and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None:
                assert message.error() is None, message.error()
                got.append(message)
    finally:
        consumer.close()
    assert len(got) == n, f"{len(got)} of {n} messages of {topic} within {within} s"
    return got


async def test_replay_onto_kafka_keeps_values_keys_headers_and_per_key_order(
    kafka_url: str,
) -> None:
    topic = unique("replayed")
    keys = ["o-1", "o-2", "o-3"]
    items = [
        Recorded(
            t=i * 0.001,
            channel=f"k:{topic}",
            key=keys[i % 3],
            value={"type": "OrderPlaced", "seq": i, "order_id": keys[i % 3]},
            headers={"correlation-id": f"c-{i}", "x-seq": str(i), "authorization": "***"},
        )
        for i in range(12)
    ]
    items.append(
        Recorded(
            t=0.02, channel=f"k:{topic}", key="o-1", raw=b"\xff\x00raw", headers={"x-seq": "12"}
        )
    )
    items.append(Recorded(t=0.03, channel=f"k:{topic}", key=None, value="plain text"))
    async with KafkaTransport(kafka_url) as kafka:
        await kafka.create_channel(topic, partitions=4)
        assert await replay({"k": kafka}, Recording(items), speed=None) == len(items)
        messages = await asyncio.to_thread(read_topic, kafka_url, topic, 4, len(items))
        await kafka.delete_channel(topic)

    def key_of(message: Any) -> str | None:
        return None if message.key() is None else message.key().decode()

    by_seq: dict[int, Any] = {}
    for message in messages:
        headers = dict(message.headers() or [])
        assert "authorization" not in headers  # redacted in the recording: left out
        if "x-seq" in headers:
            by_seq[int(headers["x-seq"])] = message
    assert sorted(by_seq) == list(range(13))
    for i in range(12):
        message = by_seq[i]
        assert json.loads(message.value()) == items[i].value
        assert key_of(message) == items[i].key
        assert dict(message.headers()) == {
            "correlation-id": f"c-{i}".encode(),
            "x-seq": str(i).encode(),
        }
    assert by_seq[12].value() == b"\xff\x00raw" and key_of(by_seq[12]) == "o-1"
    (plain,) = (m for m in messages if key_of(m) is None)
    assert plain.value() == b"plain text" and not plain.headers()  # text goes out as text
    # per key: one partition, and offsets in the recorded order
    for key in keys:
        recorded = [
            int(dict(m.headers())["x-seq"])
            for m in sorted(
                (m for m in messages if key_of(m) == key and m.headers()), key=lambda m: m.offset()
            )
        ]
        assert recorded == [i for i, item in enumerate(items[:13]) if item.key == key]
        assert len({m.partition() for m in messages if key_of(m) == key}) == 1


# -- 3. the pytest plugin against RabbitMQ -------------------------------------------------


USER_TESTS = """
async def test_order_is_routed(harness):
    async with harness.scenario("routed") as s:
        s.expect("rabbit:{ex}/orders.*", type="OrderPlaced", match={{"order_id": "o-1"}},
                 within=5, name="routed")
        await s.publish("rabbit:{ex}/orders.placed", {{"type": "OrderPlaced", "order_id": "o-1"}})
    assert s.result is not None and [e.channel for e in s.result.events] == [
        "rabbit:{ex}/orders.placed", "rabbit:{ex}/orders.*"]

async def test_payment_never_comes(harness):
    async with harness.scenario("unpaid") as s:
        s.expect("rabbit:{ex}/payments.*", type="PaymentAuthorized", within=0.3, name="pay")
        await s.publish("rabbit:{ex}/orders.placed", {{"type": "OrderPlaced", "order_id": "o-2"}})
"""


@pytest.mark.amqp
def test_pytest_plugin_against_rabbitmq(pytester: pytest.Pytester, amqp_url: str) -> None:
    exchange = unique("eh-plugin")
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_rabbit=USER_TESTS.format(ex=exchange))
    try:
        result = pytester.runpytest(
            "-p", "no:cacheprovider", "--eh-broker", f"rabbit={amqp_url}?declare_exchanges=true"
        )
    finally:
        asyncio.run(_delete_exchange(amqp_url, exchange))
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert (
        "test_rabbit.py::test_payment_never_comes FAILED" in out
        or "FAILED test_rabbit.py::test_payment_never_comes" in out
    )
    assert (
        f"✗ [timeout] pay: rabbit:{exchange}/payments.* [type=PaymentAuthorized]: expected "
        "an event within 0.3s, nothing matched"
    ) in out
    assert "Traceback" not in out


async def _delete_exchange(amqp_url: str, exchange: str) -> None:
    async with eh.Harness({"rabbit": amqp_url}) as h:
        await h.transport("rabbit").delete_channel(f"{exchange}/")


# -- 4. observing never disturbs a service's consumer group ---------------------------------


class GroupMember(threading.Thread):
    """A service's consumer (confluent-kafka, its own group) that commits what it processed."""

    def __init__(self, kafka_url: str, topic: str, group: str) -> None:
        super().__init__(daemon=True)
        from confluent_kafka import Consumer

        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap(kafka_url),
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                **FAST_GROUP,
            }
        )
        self.consumer.subscribe([topic])
        self.topic = topic
        self.values: list[bytes] = []
        self.committed: dict[int, int] = {}  # partition → the offset this member committed
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.serve()
        finally:
            self.consumer.close()  # in this thread: the consumer is never shared across threads

    def serve(self) -> None:
        try:
            while not self.stopping.is_set():
                message = self.consumer.poll(0.1)
                if message is None:
                    continue
                assert message.error() is None, message.error()
                done = self.consumer.commit(message=message, asynchronous=False)
                with self.changed:
                    self.values.append(message.value() or b"")
                    for tp in done or ():
                        self.committed[tp.partition] = tp.offset
                    self.changed.notify_all()
        except BaseException as exc:  # reported by the test
            with self.changed:
                self.error = exc
                self.changed.notify_all()

    def seen(self) -> list[bytes]:
        with self.changed:
            return list(self.values)

    async def wait_for(self, n: int, within: float) -> None:
        """Until the member has processed ``n`` messages (or failed), at most ``within`` s."""

        def wait() -> bool:
            with self.changed:
                return self.changed.wait_for(
                    lambda: len(self.values) >= n or self.error is not None, within
                )

        done = await asyncio.to_thread(wait)
        assert self.error is None, self.error
        assert done, f"the group member processed {len(self.seen())} of {n} within {within} s"

    async def aclose(self, within: float) -> None:
        """Stop the member and wait, at most ``within`` s, until it has left its group."""
        self.stopping.set()
        await asyncio.to_thread(self.join, within)
        assert not self.is_alive(), f"the group member did not stop within {within} s"


async def blocking(doing: str, within: float, call: Callable[..., T], *args: Any) -> T:
    """A blocking (confluent-kafka) call, run off the event loop with a deadline."""
    try:
        async with asyncio.timeout(within):
            return await asyncio.to_thread(call, *args)
    except TimeoutError:
        pytest.fail(f"{doing} took longer than {within} s")


def group_ids(admin: Any) -> set[str]:
    listing = admin.list_consumer_groups(request_timeout=10).result(timeout=15)
    assert not listing.errors, listing.errors
    return {g.group_id for g in listing.valid}


def committed_and_ends(
    kafka_url: str, topic: str, group: str, partitions: int
) -> tuple[dict[int, int], dict[int, int]]:
    """The group's committed offset and the end offset of each partition, as the broker says."""
    from confluent_kafka import Consumer, TopicPartition

    probe = Consumer(
        {"bootstrap.servers": bootstrap(kafka_url), "group.id": group, "enable.auto.commit": False}
    )
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        committed = {tp.partition: tp.offset for tp in probe.committed(tps, timeout=10)}
        ends = {tp.partition: probe.get_watermark_offsets(tp, timeout=10)[1] for tp in tps}
    finally:
        probe.close()
    return committed, ends


@pytest.mark.kafka
async def test_observing_never_disturbs_a_consumer_group(kafka_url: str) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient

    topic, group = unique("observed"), unique("service")
    admin = AdminClient({"bootstrap.servers": bootstrap(kafka_url)})
    async with eh.Harness({"k": kafka_url}) as h:
        await h.transport("k").create_channel(topic, partitions=2)
        producer = Producer(
            {"bootstrap.servers": bootstrap(kafka_url), "enable.idempotence": False}
        )
        for i in range(6):
            producer.produce(topic, key=f"k{i}".encode(), value=f"before-{i}".encode())
        assert await blocking("flushing the producer", 15, producer.flush, 10) == 0
        member = GroupMember(kafka_url, topic, group)
        member.start()
        try:
            await member.wait_for(6, within=30)  # the group has its assignment and works
            groups_before = await blocking("listing groups", 20, group_ids, admin)
            assert group in groups_before
            async with h.scenario("observer") as s:
                s.expect(f"k:{topic}", type="OrderPlaced", count=4, within=10, name="seen")
                for i in range(4):
                    await s.publish(f"k:{topic}", {"type": "OrderPlaced", "seq": i}, key=f"o{i}")
            assert s.result is not None and s.result.passed
            await member.wait_for(10, within=20)  # the service got the scenario's messages too
            groups_after = await blocking("listing groups", 20, group_ids, admin)
        finally:
            await member.aclose(within=15)  # the member has left its group before the delete
        committed, ends = await blocking(
            "reading offsets", 25, committed_and_ends, kafka_url, topic, group, 2
        )
        await h.transport("k").delete_channel(topic)
    assert member.error is None, member.error
    seen = member.seen()
    assert sorted(seen[:6]) == sorted(f"before-{i}".encode() for i in range(6))
    assert sorted(json.loads(v)["seq"] for v in seen[6:]) == [0, 1, 2, 3]  # nothing taken
    assert len(seen) == 10
    # the group's committed offsets are exactly what its member committed: the end of each
    # partition (the harness committed nothing, moved nothing)
    assert committed == member.committed == ends
    # observing joined no group (Tansu's DescribeGroups lists no members, so the group's
    # membership cannot be read; the list of groups can)
    assert groups_after == groups_before


# -- 5. concurrent first publishes arm each channel once -----------------------------------


class CountingKafka(KafkaTransport):
    """The Kafka transport, counting subscriptions per topic (injected, not patched)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.subscribed: dict[str, int] = {}

    async def subscribe(self, address: str, **options: Any) -> KafkaSubscription:
        self.subscribed[address] = self.subscribed.get(address, 0) + 1
        return await super().subscribe(address, **options)


@pytest.mark.kafka
async def test_concurrent_first_publishes_arm_each_channel_once(kafka_url: str) -> None:
    topics = [unique(f"first-{i}") for i in range(4)]
    kafka = CountingKafka(kafka_url)
    async with eh.Harness({"k": kafka}) as h:
        for topic in topics:
            await kafka.create_channel(topic, partitions=1)
        async with h.scenario("first publishes at once") as s:
            for i, topic in enumerate(topics):
                s.expect(f"k:{topic}", match={"i": i}, within=10, name=f"e{i}")
            await asyncio.gather(
                *(
                    s.publish(f"k:{topic}", {"type": "Ping", "i": i})
                    for i, topic in enumerate(topics)
                )
            )
        assert s.result is not None and s.result.failures == []
        assert sorted(
            (e.channel, e.value["i"]) for e in s.result.events if e.direction == "in"
        ) == sorted((f"k:{topic}", i) for i, topic in enumerate(topics))
        for topic in topics:
            await kafka.delete_channel(topic)
    assert kafka.subscribed == {topic: 1 for topic in topics}
