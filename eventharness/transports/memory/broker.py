"""The memory broker: one named, in-process broker holding topics, exchanges and queues.

:class:`MemoryBroker` reads addresses (``topic``, ``exchange/routing-key``, ``/queue``) and hands
records to :mod:`~eventharness.transports.memory.topics` or
:mod:`~eventharness.transports.memory.exchanges`; :func:`get_broker` shares one per name within
the process and :func:`reset_broker` forgets it.
"""

from __future__ import annotations

import itertools
import time
import uuid

from eventharness.model.errors import BrokerError, ChannelError, ChannelNotFound, UsageError
from eventharness.model.events import Position, Record
from eventharness.transports.memory.exchanges import EXCHANGE_TYPES, Exchange, Queue
from eventharness.transports.memory.subscription import MemorySubscription
from eventharness.transports.memory.topics import DEFAULT_PARTITIONS, Topic

__all__ = ["MemoryBroker", "get_broker", "reset_broker"]


class MemoryBroker:
    """One in-process broker: topics with partitions and groups, exchanges with queues.

    Everything here is synchronous and runs on the caller's event loop thread; the transport's
    async methods are thin wrappers. Use :func:`get_broker` to share one by name.
    """

    def __init__(self, name: str = "default", *, declare_exchanges: bool = True) -> None:
        self.name = name
        self.declare_exchanges = declare_exchanges
        self._topics: dict[str, Topic] = {}
        self._exchanges: dict[str, Exchange] = {}
        self._queues: dict[str, Queue] = {}
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
            self._topics[name] = Topic(name, partitions)

    def partitions(self, topic: str) -> int:
        """How many partitions ``topic`` has; ChannelNotFound when it does not exist."""
        return self._topic(topic, create=False).partitions

    @property
    def topics(self) -> list[str]:
        return sorted(self._topics)

    def _topic(self, name: str, *, create: bool = True) -> Topic:
        topic = self._topics.get(name)
        if topic is None:
            if not create:
                raise ChannelNotFound(f"memory://{self.name} has no topic {name!r}")
            topic = self._topics[name] = Topic(name, DEFAULT_PARTITIONS)
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
            self._exchanges[name] = Exchange(name, type)
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

    def _exchange(self, name: str, *, publishing: bool) -> Exchange:
        exchange = self._exchanges.get(name)
        if exchange is None:
            if publishing and not self.declare_exchanges:
                raise ChannelNotFound(
                    f"memory://{self.name} has no exchange {name!r}; declare it first with "
                    f"create_channel({name + '/'!r}, exchange_type=...) or enable declare_exchanges"
                )
            exchange = self._exchanges[name] = Exchange(name, "topic")
        return exchange

    def _queue(self, name: str, *, auto_delete: bool = False) -> Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = Queue(name, auto_delete=auto_delete)
        return queue

    def _named_queue(self, name: str, address: str) -> Queue:
        """The queue of a ``/queue`` address: declared on first use unless the broker is strict."""
        if not name:
            raise ChannelError("address '/' names no queue; write '/queue-name'")
        if name not in self._queues and not self.declare_exchanges:
            raise ChannelNotFound(
                f"memory://{self.name} has no queue {name!r} (channel {address!r}); create it "
                f"with create_channel('/{name}') or enable declare_exchanges"
            )
        return self._queue(name)

    def _drop_queue(self, queue: Queue) -> None:
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
        """An armed subscription; see :mod:`eventharness.transports.memory` for what each
        address means."""
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

    def _consume(self, queue: Queue, sub: MemorySubscription) -> None:
        queue.attach(sub)

        def detach(consumer: MemorySubscription) -> None:
            queue.consumers.remove(consumer)
            if queue.auto_delete and not queue.consumers:
                self._drop_queue(queue)
                return
            for record in consumer.release():  # unread: back to the queue, as an unacked message
                queue.put(record)

        sub.add_close_callback(detach)

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
