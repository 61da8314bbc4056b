"""Kafka transport over aiokafka: ``kafka://host:port[,host:port]`` and ``kafkas://``.

Publishing waits for the broker's acknowledgement (``acks="all"``); the idempotent producer is
off because some Kafka-compatible brokers (Tansu) cannot grant producer ids.

Subscriptions come in two kinds (see :mod:`eventharness.transports.base`):

* **Observer** (``group=None``): a consumer with no group that ``assign()``s every partition of
  the topic and starts at the end offsets read inside :meth:`KafkaTransport.subscribe`; nothing
  is committed, no group exists, so services' consumer groups never notice it. A topic that
  does not exist yet is watched: when it appears, its partitions are read from their beginning
  (everything in a topic created after arming was published after arming). Partitions added to
  a watched topic later are picked up the same way, from their beginning. The topic list is
  refreshed every ``0.25 s`` while the topic is missing and every ``2 s`` once it exists.
* **Worker** (``group="name"``): a member of consumer group ``name`` with auto-commit. Where
  the group has no committed offset, a partition starts where an observer would: at the end
  offset read when ``subscribe`` was called, or at the beginning for partitions created later.
  So a worker receives everything published after ``subscribe`` returns, even though a group's
  first assignment may take seconds (Tansu: about 5 s). Committed offsets always win.

URL options (query parameters, or keyword options of :class:`KafkaTransport`): ``connect_timeout``
(seconds, default 10), ``acks``, ``linger_ms``, ``max_batch_size``, ``max_request_size`` (default
16 MiB), ``client_id``, ``cafile``, ``certfile``, ``keyfile``, ``sasl_mechanism`` (``PLAIN``,
``SCRAM-SHA-256``, ``SCRAM-SHA-512``; credentials from the URL's user and password);
:mod:`~eventharness.transports.kafka_config` maps them to aiokafka's settings.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    ConsumerStoppedError,
    KafkaError,
    UnknownTopicOrPartitionError,
)

from eventharness.model.channels import BrokerURL
from eventharness.model.errors import BrokerError, BrokerUnavailable, ChannelError, ChannelNotFound
from eventharness.model.events import Position, Record
from eventharness.transports.base import TransportBase
from eventharness.transports.kafka_clients import quietly, topic_errors
from eventharness.transports.kafka_config import client_config, producer_config
from eventharness.transports.kafka_publish import (
    PUBLISH_ERRORS,
    UNREACHABLE,
    acknowledgement,
    publish_error,
)
from eventharness.transports.kafka_records import records_of

__all__ = ["KafkaSubscription", "KafkaTransport"]

FETCH_MAX_BYTES = 64 * 1024 * 1024
MAX_PARTITION_FETCH_BYTES = 16 * 1024 * 1024
MISSING_TOPIC_REFRESH_S = 0.25
TOPIC_REFRESH_S = 2.0
_GETMANY_MAX_RECORDS = 10_000
_TOPIC_EXISTS = 36
_UNKNOWN_TOPIC = 3

T = TypeVar("T")


class KafkaTransport(TransportBase):
    """A connection to a Kafka cluster: one producer, a lazy admin client, subscriptions."""

    def __init__(self, url: BrokerURL | str, **options: Any) -> None:
        super().__init__(url, **options)
        self._client = client_config(self.url, options)
        self._producer_settings = producer_config(self.url, options)
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._subscriptions: set[KafkaSubscription] = set()
        self._admin_lock = asyncio.Lock()
        # A connection to the broker was lost: the producer's metadata may describe topics a
        # restarted broker no longer has (Tansu, in memory, acknowledges records sent to them
        # and keeps none), so the next publish renews the producer.
        self._lost = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def connect(self) -> None:
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(**self._client, **self._producer_settings)
        await self._start(producer, "connect")
        self._producer = producer

    async def aclose(self) -> None:
        """Close every client at once: the whole close takes at most one close timeout."""
        subscriptions, self._subscriptions = list(self._subscriptions), set()
        producer, self._producer = self._producer, None
        admin, self._admin = self._admin, None
        closing = [subscription.aclose() for subscription in subscriptions]
        if producer is not None:
            closing.append(quietly(producer.stop()))
        if admin is not None:
            closing.append(quietly(admin.close()))
        await asyncio.gather(*closing)

    async def _start(self, client: Any, doing: str) -> None:
        """Start an aiokafka client within the connect timeout; close it on any failure."""
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            async with asyncio.timeout(self.timeout):
                await client.start()
        except BaseException as exc:
            closing = client.close() if isinstance(client, AIOKafkaAdminClient) else client.stop()
            await quietly(closing)
            if isinstance(exc, (*UNREACHABLE, KafkaError)):
                raise self._unavailable(doing, exc) from exc
            raise

    def _unavailable(self, doing: str, exc: BaseException) -> BrokerUnavailable:
        if isinstance(exc, TimeoutError | asyncio.TimeoutError):
            why = f"no answer within connect_timeout = {self.timeout:g} s"
        else:
            text, kind = str(exc), type(exc).__name__
            why = text if text.startswith(kind) else f"{kind}: {text}"
        return BrokerUnavailable(
            f"cannot {doing} to Kafka at {self.url} ({why}). Start it (`docker compose -f compose/"
            "docker-compose.yml up -d --wait`, or `embedded` in the profile) or check the URL."
        )

    async def _renew_producer(self) -> None:
        """A new producer after a lost connection: it asks the broker for metadata afresh."""
        self._lost = False
        old = self._require_producer()
        fresh = AIOKafkaProducer(**self._client, **self._producer_settings)
        await self._start(fresh, "reconnect")
        self._producer = fresh
        await quietly(old.stop())

    def _require_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise BrokerError(f"Kafka transport for {self.url} is not connected; call connect()")
        return self._producer

    async def _admin_client(self) -> AIOKafkaAdminClient:
        async with self._admin_lock:
            if self._admin is None:
                admin = AIOKafkaAdminClient(**self._client)
                await self._start(admin, "connect an admin client")
                self._admin = admin
            return self._admin

    async def _call(self, what: str, operation: Awaitable[T], *, within: float | None = None) -> T:
        """Run a broker operation within ``within`` seconds (default: the connect timeout),
        mapping client exceptions to eventharness errors. A broker that accepts the request and
        never answers ends in :class:`BrokerUnavailable` naming the operation and the timeout.

        The deadline is ``asyncio.timeout``, never ``asyncio.wait_for``: on Python 3.11
        ``wait_for`` returns the result instead of raising when its task is cancelled just as
        the operation finishes, and a cancelled reader then reads on forever."""
        limit = self.timeout if within is None else within
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                return await operation
        except TimeoutError as exc:
            self._lost = True
            if not deadline.expired():
                raise self._no_answer(what, exc) from exc
            raise BrokerUnavailable(
                f"{what}: Kafka at {self.url} did not answer within {limit:g} s "
                f"(connect_timeout = {self.timeout:g} s). Check that the broker is running."
            ) from exc
        except UnknownTopicOrPartitionError as exc:
            raise ChannelNotFound(f"{what} on {self.url}: {exc}") from exc
        except UNREACHABLE as exc:
            self._lost = True
            raise self._no_answer(what, exc) from exc
        except KafkaError as exc:
            raise BrokerError(f"{what} on {self.url} failed: {type(exc).__name__}: {exc}") from exc

    def _no_answer(self, what: str, exc: BaseException) -> BrokerUnavailable:
        return BrokerUnavailable(
            f"{what}: Kafka at {self.url} did not answer ({type(exc).__name__}: {exc}). "
            "Check that the broker is running."
        )

    # -- publishing --------------------------------------------------------------------------

    async def publish(self, address: str, record: Record) -> Position:
        if self._lost:
            await self._renew_producer()
        producer = self._require_producer()
        try:
            metadata = await producer.send_and_wait(
                address,
                value=record.value,
                key=record.key,
                partition=record.partition,
                headers=list(record.headers.items()) or None,
            )
        except PUBLISH_ERRORS as exc:
            self._lost = self._lost or isinstance(exc, UNREACHABLE)
            raise self._publish_error(address, exc) from exc
        return Position(partition=metadata.partition, offset=metadata.offset)

    async def enqueue(self, address: str, record: Record) -> asyncio.Future[Position]:
        """Hand ``record`` to the producer's batch (what aiokafka's ``send()`` does: it returns
        once the record is buffered, waiting only when the buffer is full) and return a future
        of its position, resolved when the broker acknowledges the batch. With ``linger_ms``
        above 0 many records share one request: the throughput path."""
        if self._lost:
            await self._renew_producer()
        producer = self._require_producer()
        try:
            sent = await producer.send(
                address,
                value=record.value,
                key=record.key,
                partition=record.partition,
                headers=list(record.headers.items()) or None,
            )
        except PUBLISH_ERRORS as exc:
            raise self._publish_error(address, exc) from exc
        return acknowledgement(sent, lambda exc: self._publish_error(address, exc))

    def _publish_error(self, address: str, exc: BaseException) -> BrokerError:
        producer = self._producer

        def topics() -> set[str]:
            return set(producer.client.cluster.topics()) if producer is not None else set()

        return publish_error(self.url, address, exc, topics)

    # -- subscribing -------------------------------------------------------------------------

    async def subscribe(
        self, address: str, *, group: str | None = None, consume_queue: bool = False
    ) -> KafkaSubscription:
        if consume_queue:
            raise ChannelError(
                f"consume_queue is an AMQP option; Kafka topic {address!r} on {self.url} is "
                "read with an observer (no group) or a worker (group=...)"
            )
        admin = await self._admin_client()
        consumer = AIOKafkaConsumer(
            **self._client,
            group_id=group,
            enable_auto_commit=group is not None,
            auto_offset_reset="earliest",
            fetch_max_bytes=FETCH_MAX_BYTES,
            max_partition_fetch_bytes=MAX_PARTITION_FETCH_BYTES,
            fetch_max_wait_ms=100,
            metadata_max_age_ms=int(TOPIC_REFRESH_S * 1000),
        )
        await self._start(consumer, "subscribe")
        subscription = KafkaSubscription(
            self,
            address,
            consumer,
            group=group,
            partitions=lambda: self._partitions(admin, address),
        )
        try:
            await self._call(f"subscribe to topic {address!r}", subscription.arm())
        except BaseException:
            await subscription.aclose()
            raise
        self._subscriptions.add(subscription)
        return subscription

    async def _partitions(self, admin: AIOKafkaAdminClient, topic: str) -> set[int]:
        """The topic's partition ids; empty when it does not exist. Never creates it.
        Callers run it under :meth:`_call`, which bounds it."""
        topics = await admin.describe_topics()
        for entry in topics:
            if entry["topic"] == topic and entry["error_code"] == 0:
                return {p["partition"] for p in entry["partitions"]}
        return set()

    def _forget(self, subscription: KafkaSubscription) -> None:
        self._subscriptions.discard(subscription)

    # -- admin -------------------------------------------------------------------------------

    async def create_channel(self, address: str, *, partitions: int = 1) -> None:
        admin = await self._admin_client()
        replication = int(self.options.get("replication_factor") or 1)
        response = await self._call(
            f"create topic {address!r}",
            admin.create_topics([NewTopic(address, partitions, replication)]),
        )
        for topic, code, message in topic_errors(response):
            if topic == address and code not in (0, _TOPIC_EXISTS):
                raise BrokerError(
                    f"create topic {address!r} on {self.url} failed: error {code} {message or ''}"
                )
        # Topic creation is asynchronous on a cluster: wait until metadata shows it.
        deadline = time.monotonic() + self.timeout
        while not await self._call(f"describe topic {address!r}", self._partitions(admin, address)):
            if time.monotonic() >= deadline:
                raise BrokerError(
                    f"topic {address!r} on {self.url} was created but did not appear in "
                    f"metadata within {self.timeout:g} s"
                )
            await asyncio.sleep(0.05)

    async def delete_channel(self, address: str) -> None:
        admin = await self._admin_client()
        response = await self._call(f"delete topic {address!r}", admin.delete_topics([address]))
        for topic, code, _message in topic_errors(response):
            if topic == address and code not in (0, _UNKNOWN_TOPIC):
                raise BrokerError(f"delete topic {address!r} on {self.url} failed: error {code}")


class KafkaSubscription:
    """An armed stream of records from one topic; iterate it, then :meth:`aclose` it.

    One reader at a time: iterate it from a single task.
    """

    def __init__(
        self,
        transport: KafkaTransport,
        topic: str,
        consumer: AIOKafkaConsumer,
        *,
        group: str | None,
        partitions: Callable[[], Awaitable[set[int]]],
    ) -> None:
        self.topic = topic
        self.group = group
        self._transport = transport
        self._consumer = consumer
        self._partitions = partitions
        self._known: set[int] = set()
        self._anchors: dict[TopicPartition, int] = {}
        self._handed: dict[TopicPartition, int] = {}  # worker: next offset not yet handed out
        self._pending: deque[Record] = deque()
        self._next_refresh = 0.0
        self._closed = False

    async def arm(self) -> None:
        """Fix the starting offsets: the end of every partition that exists now."""
        self._known = await self._partitions()
        tps = [TopicPartition(self.topic, p) for p in sorted(self._known)]
        if tps:
            self._anchors = await self._consumer.end_offsets(tps)
        if self.group is None:
            self._consumer.assign(tps)
            for tp in tps:
                self._consumer.seek(tp, self._anchors[tp])
            for tp in tps:
                position = await self._consumer.position(tp)
                if position != self._anchors[tp]:  # pragma: no cover - a broken client
                    raise BrokerError(f"observer of {self.topic!r}: {tp} is at {position}")
        else:
            self._consumer.subscribe([self.topic], listener=_AnchoredStart(self))
        self._schedule_refresh()

    def _schedule_refresh(self) -> None:
        delay = TOPIC_REFRESH_S if self._known else MISSING_TOPIC_REFRESH_S
        self._next_refresh = time.monotonic() + delay

    async def _refresh(self) -> None:
        """Observer: assign partitions that appeared since arming, from their beginning."""
        current = await self._partitions()
        new = current - self._known
        if new:
            consumer = self._consumer
            kept = {tp: await consumer.position(tp) for tp in consumer.assignment()}
            added = [TopicPartition(self.topic, p) for p in sorted(new)]
            beginnings = await consumer.beginning_offsets(added)
            consumer.assign([*kept, *added])
            for tp, offset in [*kept.items(), *beginnings.items()]:
                consumer.seek(tp, offset)
            self._known |= new
        self._schedule_refresh()

    async def start_offset(self, tp: TopicPartition) -> int:
        """Worker: where a partition without a committed offset starts."""
        if tp in self._handed:  # reassigned before auto-commit ran: never hand a record twice
            return self._handed[tp]
        if tp in self._anchors:
            return self._anchors[tp]
        beginnings = await self._consumer.beginning_offsets([tp])
        return int(beginnings[tp])

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Record:
        if not self._pending:
            await self._wait()
        return self._pending.popleft()

    async def next_batch(self) -> deque[Record]:
        """Every record fetched and not yet read, at least one, in order (what one
        ``getmany`` returned): the collector takes a batch in one pass instead of a call per
        record. StopAsyncIteration once closed, as iterating does."""
        if not self._pending:
            await self._wait()
        batch, self._pending = self._pending, deque()
        return batch

    async def _wait(self) -> None:
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            try:
                await self._fill()
            except (ConsumerStoppedError, asyncio.InvalidStateError) as exc:
                if self._closed:
                    raise StopAsyncIteration from exc
                raise BrokerError(f"subscription to {self.topic!r} stopped: {exc}") from exc

    async def _fill(self) -> None:
        now = time.monotonic()
        if self.group is None and now >= self._next_refresh:
            await self._transport._call(f"watch topic {self.topic!r}", self._refresh())
        wait_s = max(0.0, self._next_refresh - time.monotonic()) if self.group is None else 1.0
        if self.group is None and not self._consumer.assignment():
            # An observer of a topic that does not exist yet: nothing to read until it appears.
            await asyncio.sleep(wait_s)
            return
        batches = await self._transport._call(
            f"read topic {self.topic!r}",
            self._consumer.getmany(
                timeout_ms=max(1, int(wait_s * 1000)), max_records=_GETMANY_MAX_RECORDS
            ),
            within=wait_s + self._transport.timeout,
        )
        if batches:
            received = time.monotonic()
            if self.group is not None:
                batches = self._unseen(batches)
            self._pending.extend(records_of(batches.values(), received))

    def _unseen(self, batches: dict[TopicPartition, list[Any]]) -> dict[TopicPartition, list[Any]]:
        """Worker: drop records this subscription already handed out. A rebalance racing the
        fetcher (Tansu reassigns right after the first join) can return a batch twice."""
        fresh: dict[TopicPartition, list[Any]] = {}
        for tp, batch in batches.items():
            handed = self._handed.get(tp, -1)
            kept = [m for m in batch if m.offset >= handed] if handed >= 0 else batch
            if kept:
                fresh[tp] = kept
                self._handed[tp] = kept[-1].offset + 1
        return fresh

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pending.clear()
        self._transport._forget(self)
        await quietly(self._consumer.stop())


class _AnchoredStart(ConsumerRebalanceListener):  # type: ignore[misc]
    """Worker partitions without a committed offset start where an observer would."""

    def __init__(self, subscription: KafkaSubscription) -> None:
        self._subscription = subscription

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self._subscription._consumer
        for tp in assigned:
            committed = await consumer.committed(tp)
            handed = self._subscription._handed.get(tp)
            if committed is None or (handed is not None and handed > committed):
                consumer.seek(tp, await self._subscription.start_offset(tp))
