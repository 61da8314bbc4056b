"""The in-process broker: Kafka-like topics and AMQP-like exchanges, in one Python process.

``memory://NAME`` names a broker; every transport in the process that uses the same name talks to
the same :class:`MemoryBroker` (``memory://`` is ``default``). Stubs, example services and tests
run against it with no server at all. It is deterministic and fast: publishing hands the record to
each subscription's buffer and wakes its reader; nothing sleeps, nothing polls, no task is started
per record.

Addresses without ``/`` are **topics**:

* ``partitions`` partitions (4 unless ``create_channel(topic, partitions=n)`` said otherwise);
  publishing to or subscribing to an unknown topic creates it, as Tansu and Kafka's
  ``auto.create.topics.enable`` do.
* A keyed record goes to ``murmur2(key) & 0x7fffffff % partitions`` — the Java and aiokafka
  default partitioner, so a key lands on the same partition number as on a real Kafka topic with
  the same partition count. Unkeyed records go round-robin; ``Record.partition`` is honoured.
* Observers (``group=None``) see every record published after ``subscribe`` returns.
* Consumer groups (``group=name``) get each record once per group. Partitions are assigned
  round-robin over the members (partition ``p`` to member ``p % members``) and reassigned when a
  member joins or leaves; records a member had not yet read move with their partition, in order,
  so per-key order holds and nothing is lost. A group starts at the end of the topic when it is
  first created and keeps its place while it has no members.

Addresses with ``/`` are **exchange routes**, ``exchange/routing-key``:

* Exchange types ``direct``, ``topic`` (``*`` one word, ``#`` zero or more), ``fanout`` and
  ``headers``. An exchange used before it was declared is declared as a ``topic`` exchange;
  declare others first with ``create_channel("name/", exchange_type="fanout")`` or
  :meth:`MemoryBroker.declare_exchange`. With ``?declare_exchanges=false`` in the URL (or the
  option ``declare_exchanges=False``, named as in the AMQP transport) publishing to an undeclared
  exchange raises ChannelNotFound instead, as RabbitMQ does.
* A headers exchange binds with a query string: ``subscribe("ex/format=pdf&type=report")``;
  ``x-match=any`` in it matches any one header instead of all of them.
* An observer gets its own queue bound with the pattern, removed when it closes. A worker
  (``group="q"``) consumes from the shared named queue ``q`` bound with the pattern: consumers of
  one queue compete (round-robin). A queue keeps collecting while it has no consumer; records a
  closing consumer had not read go back to the queue.
* ``/queue`` is the default exchange: publishing puts the record in queue ``queue`` (declared on
  first use; with ``declare_exchanges=false`` a missing queue raises ChannelNotFound, as a
  mandatory publish to RabbitMQ does); ``subscribe("/queue", consume_queue=True)`` takes
  records off it.

Delivered records carry ``received=time.monotonic()`` of their delivery, ``broker_time`` of their
publication, the publisher's headers and properties unchanged, plus ``topic`` or ``exchange`` and
``routing_key`` properties; positions are ``Position(partition, offset)`` for topics and
``Position(delivery_tag=n)`` (counted per subscription) for queues. Publishing through an
exchange returns ``Position(delivery_tag=n)`` too, n counting the broker's exchange publishes
(like a publisher-confirm sequence number).
"""

from __future__ import annotations

import functools
import itertools
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

import anyio

from eventharness.model.channels import BrokerURL
from eventharness.model.errors import BrokerError, ChannelError, ChannelNotFound, UsageError
from eventharness.model.events import Position, Record
from eventharness.transports.base import TransportBase

__all__ = [
    "DEFAULT_PARTITIONS",
    "ExchangeType",
    "MemoryBroker",
    "MemorySubscription",
    "MemoryTransport",
    "get_broker",
    "murmur2",
    "reset_broker",
]

DEFAULT_PARTITIONS = 4
ExchangeType = Literal["direct", "topic", "fanout", "headers"]
EXCHANGE_TYPES: tuple[str, ...] = ("direct", "topic", "fanout", "headers")
_ROUTE_CACHE_LIMIT = 4096


# -- subscriptions ---------------------------------------------------------------------------


class MemorySubscription:
    """An armed stream of records from a memory broker. Iterate it; ``aclose()`` ends it.

    Records wait in an unbounded buffer until read. Closing removes the subscription from the
    broker at once (a group member's or queue consumer's unread records go back to its group or
    queue) and ends iteration.
    """

    __slots__ = ("_buffer", "_closed", "_on_close", "_tags", "_waiter", "address")

    def __init__(self, address: str) -> None:
        self.address = address
        self._buffer: deque[Record] = deque()
        self._waiter: anyio.Event | None = None
        self._closed = False
        self._on_close: list[Callable[[MemorySubscription], None]] = []
        self._tags = 0  # delivery tags handed out, for queue consumers

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Records delivered to this subscription and not yet read."""
        return len(self._buffer)

    def _push(self, record: Record) -> None:
        self._buffer.append(record)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    def _push_tagged(self, record: Record) -> None:
        """Deliver a queued record with this consumer's next delivery tag."""
        self._tags += 1
        self._push(
            Record(
                record.value,
                record.key,
                record.headers,
                record.properties,
                None,
                Position(delivery_tag=self._tags),
                record.broker_time,
                time.monotonic(),
            )
        )

    def __aiter__(self) -> AsyncIterator[Record]:
        return self

    async def __anext__(self) -> Record:
        while True:
            if self._buffer:
                return self._buffer.popleft()
            if self._closed:
                raise StopAsyncIteration
            waiter = self._waiter
            if waiter is None:
                waiter = self._waiter = anyio.Event()
            await waiter.wait()

    def close(self) -> None:
        """Detach from the broker and end iteration. Idempotent; also what ``aclose`` does."""
        if self._closed:
            return
        self._closed = True
        callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            callback(self)
        self._buffer.clear()
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.set()

    async def aclose(self) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._buffer)} pending"
        return f"<MemorySubscription {self.address!r} {state}>"


# -- topics ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash (``org.apache.kafka.common.utils.Utils.murmur2``), unsigned 32-bit."""
    length = len(data)
    m = 0x5BD1E995
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    end = length & ~3
    for i in range(0, end, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    extra = length & 3
    if extra >= 3:
        h ^= data[end + 2] << 16
    if extra >= 2:
        h ^= data[end + 1] << 8
    if extra >= 1:
        h ^= data[end]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


class _Group:
    """A consumer group on one topic: members, partition owners, records waiting for a member."""

    __slots__ = ("backlog", "members", "name", "owners")

    def __init__(self, name: str, partitions: int) -> None:
        self.name = name
        self.members: list[MemorySubscription] = []
        self.owners: list[MemorySubscription | None] = [None] * partitions
        self.backlog: list[deque[Record]] = [deque() for _ in range(partitions)]

    def rebalance(self, leaving: MemorySubscription | None = None) -> None:
        """Assign partition p to member p % len(members); unread records follow their partition."""
        members = self.members
        new = [members[p % len(members)] if members else None for p in range(len(self.owners))]
        previous = {id(s): s for s in self.owners if s is not None}
        if leaving is not None:
            previous[id(leaving)] = leaving
        moved: dict[int, list[Record]] = {}
        for sub in previous.values():
            kept: deque[Record] = deque()
            for record in sub._buffer:
                p = record.partition if record.partition is not None else 0
                if new[p] is sub:
                    kept.append(record)
                else:
                    moved.setdefault(p, []).append(record)
            sub._buffer = kept
        self.owners = new
        for p, owner in enumerate(new):
            waiting = self.backlog[p]
            waiting.extend(moved.get(p, ()))
            if owner is not None and waiting:
                now = time.monotonic()
                while waiting:
                    owner._push(_received_at(waiting.popleft(), now))


def _received_at(record: Record, now: float) -> Record:
    return Record(
        record.value,
        record.key,
        record.headers,
        record.properties,
        record.partition,
        record.position,
        record.broker_time,
        now,
    )


class _Topic:
    __slots__ = ("groups", "name", "next_offset", "observers", "partitions", "round_robin")

    def __init__(self, name: str, partitions: int) -> None:
        self.name = name
        self.partitions = partitions
        self.next_offset = [0] * partitions
        self.observers: list[MemorySubscription] = []
        self.groups: dict[str, _Group] = {}
        self.round_robin = itertools.cycle(range(partitions))

    def partition_for(self, record: Record) -> int:
        if record.partition is not None:
            if not 0 <= record.partition < self.partitions:
                raise BrokerError(
                    f"topic {self.name!r} has partitions 0..{self.partitions - 1}; "
                    f"record asked for partition {record.partition}"
                )
            return record.partition
        if record.key is not None:
            return (murmur2(bytes(record.key)) & 0x7FFFFFFF) % self.partitions
        return next(self.round_robin)

    def publish(self, record: Record) -> Position:
        p = self.partition_for(record)
        offset = self.next_offset[p]
        self.next_offset[p] = offset + 1
        position = Position(p, offset)
        properties = record.properties
        if "topic" not in properties:
            properties = {**properties, "topic": self.name}
        stored = Record(
            record.value,
            record.key,
            dict(record.headers),
            properties,
            p,
            position,
            time.time(),
            time.monotonic(),
        )
        for sub in self.observers:
            sub._push(stored)
        for group in self.groups.values():
            owner = group.owners[p]
            if owner is None:
                group.backlog[p].append(stored)
            else:
                owner._push(stored)
        return position

    def observe(self, sub: MemorySubscription) -> None:
        self.observers.append(sub)
        sub._on_close.append(self.observers.remove)

    def join(self, sub: MemorySubscription, group_name: str) -> None:
        group = self.groups.get(group_name)
        if group is None:
            group = self.groups[group_name] = _Group(group_name, self.partitions)
        group.members.append(sub)
        group.rebalance()

        def leave(member: MemorySubscription) -> None:
            group.members.remove(member)
            group.rebalance(leaving=member)

        sub._on_close.append(leave)

    def close(self) -> None:
        for sub in list(self.observers):
            sub.close()
        for group in self.groups.values():
            for sub in list(group.members):
                sub.close()


# -- exchanges and queues --------------------------------------------------------------------


class _Queue:
    __slots__ = ("auto_delete", "backlog", "bindings", "consumers", "name", "turn")

    def __init__(self, name: str, *, auto_delete: bool = False) -> None:
        self.name = name
        self.auto_delete = auto_delete
        self.consumers: list[MemorySubscription] = []
        self.backlog: deque[Record] = deque()
        self.turn = 0
        self.bindings: list[tuple[_Exchange, _Binding]] = []

    def put(self, record: Record) -> None:
        consumers = self.consumers
        if not consumers:
            self.backlog.append(record)
            return
        if len(consumers) == 1:
            consumers[0]._push_tagged(record)
            return
        index = self.turn % len(consumers)
        self.turn = index + 1
        consumers[index]._push_tagged(record)

    def attach(self, sub: MemorySubscription) -> None:
        self.consumers.append(sub)
        while self.backlog:
            self.put(self.backlog.popleft())


@dataclass(slots=True)
class _Binding:
    queue: _Queue
    pattern: str
    words: tuple[str, ...] = ()
    match_headers: tuple[tuple[str, str], ...] = ()
    match_any: bool = False


@dataclass(slots=True)
class _Exchange:
    name: str
    type: str
    bindings: list[_Binding] = field(default_factory=list)
    cache: dict[str, tuple[_Queue, ...]] = field(default_factory=dict)

    def bind(self, queue: _Queue, pattern: str) -> None:
        for binding in self.bindings:
            if binding.queue is queue and binding.pattern == pattern:
                return
        binding = _Binding(queue, pattern)
        if self.type == "topic":
            binding.words = tuple(pattern.split("."))
        elif self.type == "headers":
            pairs = parse_qsl(pattern, keep_blank_values=True)
            modes = {v for k, v in pairs if k == "x-match"}
            if not modes <= {"all", "any"}:
                raise ChannelError(
                    f"headers exchange {self.name!r}: x-match must be 'all' or 'any', "
                    f"got {sorted(modes)} in {pattern!r}"
                )
            binding.match_any = "any" in modes
            binding.match_headers = tuple((k, v) for k, v in pairs if k != "x-match")
        self.bindings.append(binding)
        queue.bindings.append((self, binding))
        self.cache.clear()

    def unbind(self, queue: _Queue) -> None:
        self.bindings = [b for b in self.bindings if b.queue is not queue]
        self.cache.clear()

    def route(self, routing_key: str, headers: Mapping[str, Any]) -> tuple[_Queue, ...]:
        if self.type == "headers":
            return _unique(b.queue for b in self.bindings if _headers_match(b, headers))
        queues = self.cache.get(routing_key)
        if queues is None:
            if self.type == "fanout":
                queues = _unique(b.queue for b in self.bindings)
            elif self.type == "direct":
                queues = _unique(b.queue for b in self.bindings if b.pattern == routing_key)
            else:
                words = routing_key.split(".")
                queues = _unique(b.queue for b in self.bindings if _topic_match(b.words, words))
            if len(self.cache) >= _ROUTE_CACHE_LIMIT:
                self.cache.clear()
            self.cache[routing_key] = queues
        return queues


def _unique(queues: Iterable[_Queue]) -> tuple[_Queue, ...]:
    """Each queue once, in binding order: two matching bindings still mean one copy."""
    return tuple({id(q): q for q in queues}.values())


def _topic_match(pattern: tuple[str, ...], words: list[str]) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more."""
    # reachable[j]: the pattern prefix seen so far can match the first j words.
    reachable = [True] + [False] * len(words)
    for token in pattern:
        if token == "#":
            for j in range(1, len(words) + 1):
                reachable[j] = reachable[j] or reachable[j - 1]
        else:
            for j in range(len(words), 0, -1):
                reachable[j] = reachable[j - 1] and (token == "*" or token == words[j - 1])
            reachable[0] = False
    return reachable[-1]


def _headers_match(binding: _Binding, headers: Mapping[str, Any]) -> bool:
    if not binding.match_headers:
        return not binding.match_any
    tests = (_header_str(headers.get(k)) == v for k, v in binding.match_headers)
    return any(tests) if binding.match_any else all(tests)


def _header_str(value: Any) -> str | None:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return None if value is None else str(value)


# -- the broker ------------------------------------------------------------------------------


class MemoryBroker:
    """One in-process broker: topics with partitions and groups, exchanges with queues.

    Everything here is synchronous and runs on the caller's event loop thread; the transport's
    async methods are thin wrappers. Use :func:`get_broker` to share one by name.
    """

    def __init__(self, name: str = "default", *, declare_exchanges: bool = True) -> None:
        self.name = name
        self.declare_exchanges = declare_exchanges
        self._topics: dict[str, _Topic] = {}
        self._exchanges: dict[str, _Exchange] = {}
        self._queues: dict[str, _Queue] = {}
        self._confirms = itertools.count(1)  # publish sequence: the "publisher confirm" tag

    def __repr__(self) -> str:
        return (
            f"<MemoryBroker {self.name!r}: {len(self._topics)} topics, "
            f"{len(self._exchanges)} exchanges, {len(self._queues)} queues>"
        )

    # topics

    def create_topic(self, name: str, partitions: int = DEFAULT_PARTITIONS) -> None:
        """Create a topic; an existing one is left as it is."""
        if partitions < 1:
            raise UsageError(f"topic {name!r}: partitions must be at least 1, got {partitions}")
        if name not in self._topics:
            self._topics[name] = _Topic(name, partitions)

    def partitions(self, topic: str) -> int:
        """How many partitions ``topic`` has; ChannelNotFound when it does not exist."""
        return self._topic(topic, create=False).partitions

    @property
    def topics(self) -> list[str]:
        return sorted(self._topics)

    def _topic(self, name: str, *, create: bool = True) -> _Topic:
        topic = self._topics.get(name)
        if topic is None:
            if not create:
                raise ChannelNotFound(f"memory://{self.name} has no topic {name!r}")
            topic = self._topics[name] = _Topic(name, DEFAULT_PARTITIONS)
        return topic

    # exchanges and queues

    def declare_exchange(self, name: str, type: str = "topic") -> None:
        """Declare an exchange; declaring an existing one again with the same type is fine."""
        if type not in EXCHANGE_TYPES:
            raise UsageError(
                f"exchange {name!r}: type {type!r} is not one of {', '.join(EXCHANGE_TYPES)}"
            )
        if not name:
            raise UsageError("the default exchange '' cannot be declared; use '/queue' addresses")
        existing = self._exchanges.get(name)
        if existing is None:
            self._exchanges[name] = _Exchange(name, type)
        elif existing.type != type:
            raise BrokerError(
                f"memory://{self.name}: exchange {name!r} already exists as a {existing.type!r} "
                f"exchange, cannot redeclare it as {type!r}. Declare exchanges before first use "
                "(undeclared exchanges are auto-declared as 'topic'), or delete it first."
            )

    def exchange_type(self, name: str) -> str:
        exchange = self._exchanges.get(name)
        if exchange is None:
            raise ChannelNotFound(f"memory://{self.name} has no exchange {name!r}")
        return exchange.type

    def declare_queue(self, name: str) -> None:
        self._queue(name)

    def queue_depth(self, name: str) -> int:
        """Records waiting in queue ``name`` for a consumer (not those already delivered)."""
        queue = self._queues.get(name)
        if queue is None:
            raise ChannelNotFound(f"memory://{self.name} has no queue {name!r}")
        return len(queue.backlog)

    def _exchange(self, name: str, *, publishing: bool) -> _Exchange:
        exchange = self._exchanges.get(name)
        if exchange is None:
            if publishing and not self.declare_exchanges:
                raise ChannelNotFound(
                    f"memory://{self.name} has no exchange {name!r}; declare it first with "
                    f"create_channel({name + '/'!r}, exchange_type=...) or enable declare_exchanges"
                )
            exchange = self._exchanges[name] = _Exchange(name, "topic")
        return exchange

    def _queue(self, name: str, *, auto_delete: bool = False) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = _Queue(name, auto_delete=auto_delete)
        return queue

    def _named_queue(self, name: str, address: str) -> _Queue:
        """The queue of a ``/queue`` address: declared on first use unless the broker is strict."""
        if not name:
            raise ChannelError("address '/' names no queue; write '/queue-name'")
        if name not in self._queues and not self.declare_exchanges:
            raise ChannelNotFound(
                f"memory://{self.name} has no queue {name!r} (channel {address!r}); create it "
                f"with create_channel('/{name}') or enable declare_exchanges"
            )
        return self._queue(name)

    def _drop_queue(self, queue: _Queue) -> None:
        for exchange, _ in queue.bindings:
            exchange.unbind(queue)
        queue.bindings.clear()
        if self._queues.get(queue.name) is queue:
            del self._queues[queue.name]
        for sub in list(queue.consumers):
            sub.close()

    # publish / subscribe

    def publish(self, address: str, record: Record) -> Position:
        """Put a record on a topic or through an exchange; returns where it went."""
        if "/" not in address:
            if not address:
                raise ChannelError("cannot publish to an empty address; name a topic")
            return self._topic(address).publish(record)
        exchange_name, _, routing_key = address.partition("/")
        now = time.time()
        if not exchange_name:
            properties = {**record.properties, "exchange": "", "routing_key": routing_key}
            queued = Record(
                record.value, record.key, dict(record.headers), properties, None, Position(), now
            )
            self._named_queue(routing_key, address).put(queued)
            return Position(delivery_tag=next(self._confirms))
        exchange = self._exchange(exchange_name, publishing=True)
        queues = exchange.route(routing_key, record.headers)
        if queues:
            properties = {
                **record.properties,
                "exchange": exchange_name,
                "routing_key": routing_key,
            }
            queued = Record(
                record.value, record.key, dict(record.headers), properties, None, Position(), now
            )
            for queue in queues:
                queue.put(queued)
        return Position(delivery_tag=next(self._confirms))

    def subscribe(
        self, address: str, *, group: str | None = None, consume_queue: bool = False
    ) -> MemorySubscription:
        """An armed subscription; see the module docstring for what each address means."""
        if not address:
            raise ChannelError("cannot subscribe to an empty address; name a topic or a route")
        sub = MemorySubscription(address)
        exchange_name, slash, pattern = address.partition("/")
        if not slash:
            if consume_queue:
                raise UsageError(
                    f"consume_queue=True applies to '/queue' addresses, not to topic {address!r}"
                )
            topic = self._topic(address)
            if group is None:
                topic.observe(sub)
            else:
                topic.join(sub, group)
            return sub
        if not exchange_name:
            if not consume_queue:
                raise UsageError(
                    f"subscribing to {address!r} would take messages off queue {pattern!r}, "
                    "which its real consumers then never get. Observe the exchange route that "
                    "feeds it instead ('exchange/pattern'), or, if consuming the queue is what "
                    "you want, ask for it: subscribe(address, consume_queue=True)"
                )
            self._consume(self._named_queue(pattern, address), sub)
            return sub
        if consume_queue:
            raise UsageError(
                f"consume_queue=True applies to '/queue' addresses, not to route {address!r}; "
                f"use group='queue-name' to consume from a named queue bound to {exchange_name!r}"
            )
        exchange = self._exchange(exchange_name, publishing=False)
        if group is None:
            queue = self._queue(f"amq.gen-{uuid.uuid4().hex}", auto_delete=True)
        else:
            queue = self._queue(group)
        exchange.bind(queue, pattern)
        self._consume(queue, sub)
        return sub

    def _consume(self, queue: _Queue, sub: MemorySubscription) -> None:
        queue.attach(sub)

        def detach(consumer: MemorySubscription) -> None:
            queue.consumers.remove(consumer)
            if queue.auto_delete and not queue.consumers:
                self._drop_queue(queue)
                return
            for record in consumer._buffer:  # unread: back to the queue, as an unacked message
                queue.put(record)

        sub._on_close.append(detach)

    # admin

    def create_channel(
        self, address: str, *, partitions: int | None = None, exchange_type: str = "topic"
    ) -> None:
        """Create a topic (``name``), declare an exchange (``name/...``) or a queue (``/q``)."""
        exchange_name, slash, rest = address.partition("/")
        if not slash:
            self.create_topic(address, partitions or DEFAULT_PARTITIONS)
        elif exchange_name:
            self.declare_exchange(exchange_name, exchange_type)
        elif rest:
            self.declare_queue(rest)
        else:
            raise ChannelError("address '/' names neither an exchange nor a queue")

    def delete_channel(self, address: str) -> None:
        """Delete a topic, exchange or queue; its subscriptions end. Missing ones are ignored."""
        exchange_name, slash, rest = address.partition("/")
        if not slash:
            topic = self._topics.pop(address, None)
            if topic is not None:
                topic.close()
        elif exchange_name:
            exchange = self._exchanges.pop(exchange_name, None)
            if exchange is not None:
                for binding in exchange.bindings:
                    binding.queue.bindings = [
                        (e, b) for e, b in binding.queue.bindings if e is not exchange
                    ]
                    if binding.queue.auto_delete:
                        self._drop_queue(binding.queue)
        else:
            queue = self._queues.get(rest)
            if queue is not None:
                self._drop_queue(queue)

    def close(self) -> None:
        """End every subscription and forget every topic, exchange and queue."""
        for topic in list(self._topics.values()):
            topic.close()
        for queue in list(self._queues.values()):
            self._drop_queue(queue)
        self._topics.clear()
        self._exchanges.clear()
        self._queues.clear()


_BROKERS: dict[str, MemoryBroker] = {}


def get_broker(name: str = "default") -> MemoryBroker:
    """The process-wide broker called ``name``, created on first use."""
    broker = _BROKERS.get(name)
    if broker is None:
        broker = _BROKERS[name] = MemoryBroker(name)
    return broker


def reset_broker(name: str = "default") -> None:
    """Close the broker called ``name`` (its subscriptions end) and forget it."""
    broker = _BROKERS.pop(name, None)
    if broker is not None:
        broker.close()


# -- the transport ---------------------------------------------------------------------------


class MemoryTransport(TransportBase):
    """The Transport for ``memory://NAME`` URLs. ``connect`` is instant; nothing can be down.

    Options: ``declare_exchanges`` (default true; also ``?declare_exchanges=false``) — whether
    publishing to an undeclared exchange declares it as a topic exchange or raises
    ChannelNotFound. It applies to the named broker, so the last transport opened decides.
    """

    def __init__(self, url: BrokerURL | str, **options: Any) -> None:
        super().__init__(url, **options)
        if self.url.kind != "memory":
            raise ChannelError(f"MemoryTransport needs a memory:// URL, got {self.url}")
        self.broker = get_broker(self.url.hosts[0][0] if self.url.hosts else "default")
        auto = options.get("declare_exchanges", self.url.param("declare_exchanges"))
        if auto is not None:
            self.broker.declare_exchanges = str(auto).lower() not in ("0", "false", "no")
        self._subscriptions: set[MemorySubscription] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"<MemoryTransport memory://{self.broker.name}>"

    async def connect(self) -> None:
        self._closed = False

    async def aclose(self) -> None:
        self._closed = True
        for sub in list(self._subscriptions):
            sub.close()

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError(
                f"transport for memory://{self.broker.name} is closed; open a new one or connect()"
            )

    async def publish(self, address: str, record: Record) -> Position:
        self._check_open()
        return self.broker.publish(address, record)

    async def subscribe(
        self, address: str, *, group: str | None = None, consume_queue: bool = False
    ) -> MemorySubscription:
        self._check_open()
        sub = self.broker.subscribe(address, group=group, consume_queue=consume_queue)
        self._subscriptions.add(sub)
        sub._on_close.append(self._subscriptions.discard)
        return sub

    async def create_channel(
        self, address: str, *, partitions: int | None = None, exchange_type: str = "topic"
    ) -> None:
        """A topic with ``partitions`` (default 4), an exchange (``"name/"``) of
        ``exchange_type``, or a queue (``"/name"``). Idempotent."""
        self._check_open()
        self.broker.create_channel(address, partitions=partitions, exchange_type=exchange_type)

    async def delete_channel(self, address: str) -> None:
        self._check_open()
        self.broker.delete_channel(address)
