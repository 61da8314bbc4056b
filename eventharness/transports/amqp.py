"""RabbitMQ (AMQP 0-9-1) through aio-pika.

Addresses:

* ``exchange/routing-key`` publishes to ``exchange`` with that routing key; as a subscription
  address the part after ``/`` is a binding pattern (topic exchanges: ``*`` one word, ``#`` any
  number). ``exchange`` alone subscribes with ``#``. A pattern with ``=`` binds to a headers
  exchange: ``ex/format=pdf&type=report`` (add ``x-match=any`` to match any one of them).
* ``/queue`` publishes to ``queue`` through the default exchange (a missing queue raises
  ChannelNotFound: the broker returns the message). Subscribing to it takes the
  messages off the queue, so it needs ``consume_queue=True``.

How records map onto AMQP messages (key, headers, properties) is described in
:mod:`~eventharness.transports.amqp_mapping`; how a URL becomes a connection, in
:mod:`~eventharness.transports.amqp_connection`; how a consumer hands records out, in
:mod:`~eventharness.transports.amqp_subscription`.

Subscriptions:

* observer (no group): a private server-named queue, exclusive and auto-delete, bound to the
  exchange with the pattern and consumed without acks. It receives copies; nobody else's queue
  is touched. It is gone when the subscription or the connection closes.
* worker (``group=name``): the queue ``name`` bound with the pattern. An existing queue is used
  as it is; a missing one is declared durable and not auto-delete (options ``queue_durable``,
  ``queue_auto_delete``), so, like a Kafka consumer group, it keeps records while no member
  runs. Remove it with ``delete_channel('/name')``.
* queue (``/queue`` with ``consume_queue=True``): consumes the queue itself.

Workers and queue consumers ack each message when it is handed to the iterator, with a prefetch
of ``prefetch`` (default 1000) unacknowledged messages.

Options (keyword arguments or URL query parameters): ``connect_timeout`` (seconds, default 10),
``declare_exchanges`` (publishing or subscribing to a missing exchange declares it as a topic
exchange instead of raising ChannelNotFound), ``exchange_durable`` (default true: exchanges the
harness declares survive a broker restart, as services usually declare theirs), ``prefetch``,
``queue_durable``, ``queue_auto_delete``, ``cafile`` (``amqps://``), ``publisher_confirms``
(default true: a publish returns once the broker has confirmed it; false publishes without
confirms, as fast as the connection takes them — the broker's refusal of a message is then
not seen, nor, for ``/queue``, a missing queue).

The connection is not a self-healing one: a broker that goes away fails the calls in flight and
ends subscriptions with an error, so a test sees the outage instead of a silent gap. The next
call that needs the broker (a publish, a subscribe) opens a new connection within the connect
timeout, so a harness survives a broker restart; :attr:`AmqpTransport.reconnects` counts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any, cast

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection
from aiormq.abc import DeliveredMessage

from eventharness.model.channels import BrokerURL
from eventharness.model.errors import BrokerError, ChannelNotFound, UsageError
from eventharness.model.events import Position, Record
from eventharness.transports.amqp_connection import START_HINT, open_connection, reason
from eventharness.transports.amqp_mapping import bind_arguments, split_address, to_properties
from eventharness.transports.amqp_subscription import AmqpSubscription
from eventharness.transports.base import TransportBase

__all__ = ["AmqpSubscription", "AmqpTransport"]

EXCHANGE_TYPES = ("topic", "direct", "fanout", "headers")
_TRUE = ("1", "true", "yes", "on")
# Without confirms, one publish in this many waits for the socket (see _waits_for_write).
WRITE_WAIT_EVERY = 16


class AmqpTransport(TransportBase):
    """A connection to one RabbitMQ broker; see the module docstring for what it does."""

    def __init__(self, url: BrokerURL | str, **options: Any) -> None:
        super().__init__(url, **options)
        self._connection: AbstractConnection | None = None
        self._publisher: aiormq.Channel | None = None
        self._publisher_lock = asyncio.Lock()
        self._exchanges: set[str] = set()
        self._reconnect_lock = asyncio.Lock()
        self.reconnects = 0
        self._publishes = 0
        self._subscriptions: set[AmqpSubscription] = set()
        self._closed = False

    # -- options ---------------------------------------------------------------------------

    def _option(self, name: str, default: str) -> str:
        value = self.options.get(name)
        if value is None:
            value = self.url.param(name, default)
        return str(value).lower() if isinstance(value, bool) else str(value)

    def _flag(self, name: str, default: bool) -> bool:
        return self._option(name, "true" if default else "false").lower() in _TRUE

    @functools.cached_property
    def confirms(self) -> bool:
        """Whether publishes wait for the broker's confirm (``publisher_confirms``)."""
        return self._flag("publisher_confirms", True)

    @property
    def prefetch(self) -> int:
        return int(self._option("prefetch", "1000"))

    # -- connection ------------------------------------------------------------------------

    async def connect(self) -> None:
        if self._connection is not None:
            return
        if self._closed:
            raise UsageError(f"the transport for {self.url} is closed; open a new one")
        self._connection = await open_connection(self.url, self.options, self.timeout)

    async def _live_connection(self) -> AbstractConnection:
        """The open connection; a new one when the broker closed the last (a restart)."""
        if self._connection is None:
            state = "closed" if self._closed else "not connected; call connect() first"
            raise UsageError(f"the transport for {self.url} is {state}")
        if _lost(self._connection):
            async with self._reconnect_lock:
                lost = self._connection
                if lost is not None and _lost(lost) and not self._closed:
                    self._publisher = None
                    self._connection = await open_connection(self.url, self.options, self.timeout)
                    self.reconnects += 1
                    with contextlib.suppress(Exception):
                        await lost.close()
        if self._connection is None:
            raise UsageError(f"the transport for {self.url} is closed")
        return self._connection

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.aclose()
        connection, self._connection = self._connection, None
        publisher, self._publisher = self._publisher, None
        if connection is None:
            return
        if publisher is not None and not self.confirms and not _lost(connection):
            # Publishes without confirms may have returned with their frames still queued;
            # closing the channel goes through the write queue and waits for the broker's
            # answer, so they reach it first. (With confirms every returned one is confirmed.)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(publisher.close(), self.timeout)
        with contextlib.suppress(Exception):
            await connection.close()

    # -- publishing ------------------------------------------------------------------------

    async def publish(self, address: str, record: Record) -> Position:
        """Publish on the shared publisher channel; with confirms, return once the broker
        confirmed (the confirm's delivery tag is the position).

        The frame is queued without waiting for the socket write (aiormq's ``wait=False``;
        aio-pika always waits). Waiting buys nothing with confirms (the confirm is awaited
        anyway) and costs a lot: the channel's lock is held across each write, so concurrent
        publishes went out one per turn of the event loop; now they queue their frames
        together. Without confirms the socket's back-pressure is kept by one publish in
        :data:`WRITE_WAIT_EVERY` waiting (:meth:`_waits_for_write`), and :meth:`aclose`
        flushes what is still queued."""
        exchange, routing_key = split_address(address)
        if exchange and exchange not in self._exchanges:
            await self._ensure_exchange(exchange)
        channel = self._publisher
        if channel is None or channel.is_closed:
            channel = await self._open_publisher()
        try:
            result = await channel.basic_publish(
                record.value,
                exchange=exchange,
                routing_key=routing_key,
                properties=to_properties(record),
                mandatory=not exchange and self.confirms,
                wait=self._waits_for_write(),
            )
        except aiormq.exceptions.ChannelNotFoundEntity as exc:
            self._exchanges.discard(exchange)
            raise ChannelNotFound(self._missing_exchange(exchange)) from exc
        except (aiormq.exceptions.AMQPError, OSError) as exc:
            raise BrokerError(
                f"publishing to {address!r} on {self.url} failed: {reason(exc)}"
            ) from exc
        if isinstance(result, DeliveredMessage):
            raise ChannelNotFound(
                f"queue {routing_key!r} does not exist on {self.url}, so the message to "
                f"{address!r} was returned; create it (create_channel('/{routing_key}')) or "
                "start the service that declares it"
            )
        tag = getattr(result, "delivery_tag", None)
        return Position(delivery_tag=tag) if isinstance(tag, int) else Position()

    def _waits_for_write(self) -> bool:
        """Without confirms, one publish in :data:`WRITE_WAIT_EVERY` waits for its frame to be
        written (and for the socket to take more): the data the connection holds stays
        bounded however fast a scenario publishes."""
        self._publishes += 1
        return not self.confirms and self._publishes % WRITE_WAIT_EVERY == 0

    async def _open_publisher(self) -> aiormq.Channel:
        """aiormq's channel under aio-pika's: its ``basic_publish`` takes ``wait``."""
        async with self._publisher_lock:
            if self._publisher is None or self._publisher.is_closed:
                channel = await self._channel(publisher_confirms=self.confirms)
                self._publisher = cast(aiormq.Channel, await channel.get_underlay_channel())
            return self._publisher

    async def _ensure_exchange(self, exchange: str) -> None:
        if self._flag("declare_exchanges", False):
            await self._declare_exchange(exchange, "topic")
        elif not await self._exchange_exists(exchange):
            raise ChannelNotFound(self._missing_exchange(exchange))
        self._exchanges.add(exchange)

    def _missing_exchange(self, exchange: str) -> str:
        return (
            f"exchange {exchange!r} does not exist on {self.url}; declare it "
            "(create_channel), start the service that declares it, or pass "
            "declare_exchanges=true to have the harness declare missing exchanges"
        )

    # -- subscribing -----------------------------------------------------------------------

    async def subscribe(
        self, address: str, *, group: str | None = None, consume_queue: bool = False
    ) -> AmqpSubscription:
        exchange, pattern = split_address(address)
        if not exchange and not consume_queue:
            raise UsageError(
                f"subscribing to {address!r} would take messages off queue {pattern!r}, away "
                "from the service that consumes it; observe the exchange it is bound to "
                "instead ('exchange/pattern'), or, if consuming the queue is what you want, "
                "pass consume_queue=True (in a scenario file: `collect_queue: true`)"
            )
        if exchange and consume_queue:
            raise UsageError(
                f"consume_queue=True applies to '/queue' addresses, not to route {address!r}; "
                f"use group='queue-name' to consume from a named queue bound to {exchange!r}"
            )
        if exchange and exchange not in self._exchanges:
            await self._ensure_exchange(exchange)  # declares it with declare_exchanges=true
        channel = await self._channel(publisher_confirms=False)
        try:
            if not exchange:
                queue = await self._declare_queue(channel, pattern, passive=True, address=address)
                no_ack = False
            else:
                if group is None:
                    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
                    no_ack = True
                else:
                    queue = await self._worker_queue(channel, group)
                    no_ack = False
                await queue.bind(exchange, **bind_arguments(pattern if "/" in address else "#"))
            if not no_ack:
                await channel.set_qos(prefetch_count=self.prefetch)
            subscription = AmqpSubscription(
                channel, queue.name, address, no_ack=no_ack, url=self.url, ended=self._forget
            )
            await subscription.start()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await channel.close()
            if isinstance(exc, aiormq.exceptions.ChannelNotFoundEntity) and exchange:
                self._exchanges.discard(exchange)  # deleted since the transport last looked
                raise ChannelNotFound(self._missing_exchange(exchange)) from exc
            if isinstance(exc, aiormq.exceptions.AMQPError):
                raise BrokerError(
                    f"subscribing to {address!r} on {self.url} failed: {reason(exc)}"
                ) from exc
            raise
        self._subscriptions.add(subscription)
        return subscription

    async def _worker_queue(
        self, channel: AbstractChannel, group: str
    ) -> aio_pika.abc.AbstractQueue:
        """The group's named queue: used as it is when it exists, else declared."""
        async with self._scratch() as probe:  # a 404 closes the probe's channel, not ours
            try:
                await probe.declare_queue(group, passive=True)
                exists = True
            except aiormq.exceptions.ChannelNotFoundEntity:
                exists = False
        if exists:
            return await channel.declare_queue(group, passive=True)
        return await channel.declare_queue(
            group,
            durable=self._flag("queue_durable", True),
            auto_delete=self._flag("queue_auto_delete", False),
        )

    async def _declare_queue(
        self, channel: AbstractChannel, name: str, *, passive: bool, address: str
    ) -> aio_pika.abc.AbstractQueue:
        try:
            return await channel.declare_queue(name, passive=passive)
        except aiormq.exceptions.ChannelNotFoundEntity as exc:
            raise ChannelNotFound(
                f"queue {name!r} does not exist on {self.url} (channel {address!r}); "
                f"create it (create_channel('/{name}')) or start the service that declares it"
            ) from exc

    def _forget(self, subscription: AmqpSubscription) -> None:
        self._subscriptions.discard(subscription)

    # -- administration --------------------------------------------------------------------

    async def create_channel(
        self, address: str, *, partitions: int = 1, exchange_type: str = "topic"
    ) -> None:
        """Declare the exchange of ``exchange[/...]``, or the queue of ``/queue``."""
        exchange, rest = split_address(address)
        if exchange:
            await self._declare_exchange(exchange, exchange_type)
            self._exchanges.add(exchange)
            return
        async with self._scratch() as channel:
            try:
                await channel.declare_queue(
                    rest,
                    durable=self._flag("queue_durable", True),
                    auto_delete=self._flag("queue_auto_delete", False),
                )
            except aiormq.exceptions.ChannelPreconditionFailed as exc:
                raise BrokerError(
                    f"queue {rest!r} already exists on {self.url} with other settings: "
                    f"{reason(exc)}"
                ) from exc

    async def delete_channel(self, address: str) -> None:
        exchange, rest = split_address(address)
        self._exchanges.discard(exchange)
        async with self._scratch() as channel:
            underlay = await channel.get_underlay_channel()
            with contextlib.suppress(aiormq.exceptions.ChannelNotFoundEntity):
                if exchange:
                    await underlay.exchange_delete(exchange)
                else:
                    await underlay.queue_delete(rest)

    async def _declare_exchange(self, exchange: str, exchange_type: str) -> None:
        if exchange_type not in EXCHANGE_TYPES:
            raise UsageError(
                f"exchange type {exchange_type!r} for {exchange!r} is not one of "
                f"{', '.join(EXCHANGE_TYPES)}"
            )
        async with self._scratch() as channel:
            try:
                await channel.declare_exchange(
                    exchange,
                    type=exchange_type,
                    durable=self._flag("exchange_durable", True),
                )
            except aiormq.exceptions.ChannelPreconditionFailed as exc:
                raise BrokerError(
                    f"exchange {exchange!r} already exists on {self.url} with other settings "
                    f"than a {exchange_type} exchange: {reason(exc)}"
                ) from exc

    async def exists(self, address: str) -> bool:
        """Does the exchange of ``exchange[/...]``, or the queue of ``/queue``, exist?"""
        exchange, queue = split_address(address)
        async with self._scratch() as channel:
            try:
                if exchange:
                    await channel.get_exchange(exchange, ensure=True)
                else:
                    await channel.declare_queue(queue, passive=True)
            except aiormq.exceptions.ChannelNotFoundEntity:
                return False
            return True

    async def _exchange_exists(self, exchange: str) -> bool:
        return await self.exists(exchange)

    async def _channel(self, *, publisher_confirms: bool) -> AbstractChannel:
        connection = await self._live_connection()
        try:
            channel = connection.channel(publisher_confirms=publisher_confirms)
            await channel.initialize(timeout=self.timeout)
        except (aiormq.exceptions.AMQPError, OSError, RuntimeError) as exc:
            raise BrokerError(
                f"cannot open a channel on {self.url}: {reason(exc)}; {START_HINT} if the "
                "broker went away"
            ) from exc
        return channel

    @contextlib.asynccontextmanager
    async def _scratch(self) -> AsyncIterator[AbstractChannel]:
        """A short-lived channel for one admin call: a 404 there closes only that channel."""
        channel = await self._channel(publisher_confirms=False)
        try:
            yield channel
        except aiormq.exceptions.ChannelNotFoundEntity:
            raise
        except aiormq.exceptions.AMQPError as exc:
            raise BrokerError(f"RabbitMQ at {self.url} refused: {reason(exc)}") from exc
        finally:
            if not channel.is_closed:
                with contextlib.suppress(Exception):
                    await channel.close()


def _lost(connection: AbstractConnection) -> bool:
    """Did the broker close ``connection`` (aio-pika marks only closes it made itself)?"""
    if connection.is_closed:
        return True
    transport = getattr(connection, "transport", None)
    underlay = getattr(transport, "connection", None)
    return underlay is None or bool(underlay.is_closed)
