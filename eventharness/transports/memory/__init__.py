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

Inside, one concept per module: ``subscription`` (the buffered reader), ``topics`` (partitions,
murmur2, consumer groups), ``exchanges`` (exchanges, bindings, queues, routing), ``broker``
(:class:`MemoryBroker` and the registry by name) and ``transport`` (:class:`MemoryTransport`).
"""

from eventharness.transports.memory.broker import MemoryBroker, get_broker, reset_broker
from eventharness.transports.memory.exchanges import ExchangeType
from eventharness.transports.memory.subscription import MemorySubscription
from eventharness.transports.memory.topics import DEFAULT_PARTITIONS, murmur2
from eventharness.transports.memory.transport import MemoryTransport

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
