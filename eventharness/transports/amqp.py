"""RabbitMQ (AMQP 0-9-1) through aio-pika.

Addresses:

* ``exchange/routing-key`` publishes to ``exchange`` with that routing key; as a subscription
  address the part after ``/`` is a binding pattern (topic exchanges: ``*`` one word, ``#`` any
  number). ``exchange`` alone subscribes with ``#``. A pattern with ``=`` binds to a headers
  exchange: ``ex/format=pdf&type=report`` (add ``x-match=any`` to match any one of them).
* ``/queue`` publishes to ``queue`` through the default exchange (a missing queue raises
  ChannelNotFound: the broker returns the message). Subscribing to it takes the
  messages off the queue, so it needs ``consume_queue=True``.

Mapping a :class:`~eventharness.model.events.Record` onto AMQP:

* ``value`` is the body; every message is persistent (delivery mode 2).
* ``key``: AMQP messages have no key, so it travels in the header ``message-key``.
* ``headers`` are sent as strings when they are UTF-8 text and as byte arrays otherwise; records
  received have ``dict[str, bytes]`` headers whatever the sender used (text is UTF-8 encoded,
  numbers and other values as their ``str()``).
* ``properties`` ``correlation_id``, ``message_id``, ``content_type`` and ``type`` become the AMQP
  properties of that name. Received records carry those that are set, plus ``exchange`` and
  ``routing_key``; ``broker_time`` is the ``timestamp`` property when the sender set one.
  A record published without a ``message_id`` gets a random one (aio-pika's client needs it to
  match returned messages).

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
``queue_durable``, ``queue_auto_delete``, ``cafile`` (``amqps://``).

The connection is not a self-healing one: a broker that goes away fails the calls in flight and
ends subscriptions with an error, so a test sees the outage instead of a silent gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection
from aiormq.abc import DeliveredMessage
from pamqp import commands as spec

from eventharness.model.channels import BrokerURL
from eventharness.model.errors import (
    BrokerError,
    BrokerUnavailable,
    ChannelError,
    ChannelNotFound,
    UsageError,
)
from eventharness.model.events import Position, Record
from eventharness.transports.base import TransportBase

__all__ = ["KEY_HEADER", "AmqpSubscription", "AmqpTransport"]

KEY_HEADER = "message-key"
EXCHANGE_TYPES = ("topic", "direct", "fanout", "headers")
_PERSISTENT = 2
_START_HINT = (
    "start it with `rabbitmq-server -detached` "
    "(or `docker compose -f compose/docker-compose.yml up -d`)"
)
_AUTH_ERRORS = (
    aiormq.exceptions.ProbableAuthenticationError,
    aiormq.exceptions.AuthenticationError,
)
_TRUE = ("1", "true", "yes", "on")


class AmqpTransport(TransportBase):
    """A connection to one RabbitMQ broker; see the module docstring for the mapping."""

    def __init__(self, url: BrokerURL | str, **options: Any) -> None:
        super().__init__(url, **options)
        self._connection: AbstractConnection | None = None
        self._publisher: aiormq.abc.AbstractChannel | None = None
        self._publisher_lock = asyncio.Lock()
        self._exchanges: set[str] = set()
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

    @property
    def prefetch(self) -> int:
        return int(self._option("prefetch", "1000"))

    # -- connection ------------------------------------------------------------------------

    async def connect(self) -> None:
        if self._connection is not None:
            return
        if self._closed:
            raise UsageError(f"the transport for {self.url} is closed; open a new one")
        timeout = self.timeout
        last: BaseException | None = None
        try:
            async with asyncio.timeout(timeout):
                for host, port in self.url.hosts:
                    try:
                        self._connection = await aio_pika.connect(
                            host=host,
                            port=port,
                            login=self.url.username or "guest",
                            password=self.url.password or "guest",
                            virtualhost=self.url.vhost,
                            ssl=self.url.tls,
                            ssl_context=self._ssl_context(),
                            client_properties={"connection_name": "eventharness"},
                        )
                        break
                    except (aiormq.exceptions.AMQPError, OSError) as exc:
                        last = exc
                        if _is_refusal(exc):
                            break  # the broker answered: another host would say the same
        except TimeoutError as exc:
            raise BrokerUnavailable(
                f"RabbitMQ at {self.url} did not answer within {timeout:g}s; {_START_HINT}, "
                "check the host and port, or raise connect_timeout"
            ) from (last or exc)
        if self._connection is None:
            assert last is not None
            raise self._connect_error(last) from last

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.url.tls:
            return None
        cafile = self.options.get("cafile") or self.url.param("cafile")
        return ssl.create_default_context(cafile=cafile)

    def _connect_error(self, exc: BaseException) -> BrokerUnavailable:
        user = self.url.username or "guest"
        if isinstance(exc, _AUTH_ERRORS):
            return BrokerUnavailable(
                f"RabbitMQ at {self.url} refused the login of user {user!r} (ACCESS_REFUSED); "
                "check the user name and password in the broker URL (the default user "
                "guest/guest may only log in from localhost)"
            )
        if _is_refusal(exc):
            vhost = self.url.vhost
            return BrokerUnavailable(
                f"RabbitMQ at {self.url} refused virtual host {vhost!r} to user {user!r}: it "
                f"does not exist or the user has no permissions on it; create it with "
                f"`rabbitmqctl add_vhost {vhost}` and "
                f"`rabbitmqctl set_permissions -p {vhost} {user} '.*' '.*' '.*'`, or fix the "
                "URL path (the default vhost '/' is written amqp://host:5672/)"
            )
        return BrokerUnavailable(
            f"cannot connect to RabbitMQ at {self.url}: {_reason(exc)}; {_START_HINT} "
            "or check the host, port and TLS settings of the URL"
        )

    def _live_connection(self) -> AbstractConnection:
        if self._connection is None:
            state = "closed" if self._closed else "not connected; call connect() first"
            raise UsageError(f"the transport for {self.url} is {state}")
        return self._connection

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.aclose()
        connection, self._connection, self._publisher = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    # -- publishing ------------------------------------------------------------------------

    async def publish(self, address: str, record: Record) -> Position:
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
                properties=_properties(record),
                mandatory=not exchange,
            )
        except aiormq.exceptions.ChannelNotFoundEntity as exc:
            self._exchanges.discard(exchange)
            raise ChannelNotFound(self._missing_exchange(exchange)) from exc
        except (aiormq.exceptions.AMQPError, OSError) as exc:
            raise BrokerError(
                f"publishing to {address!r} on {self.url} failed: {_reason(exc)}"
            ) from exc
        if isinstance(result, DeliveredMessage):
            raise ChannelNotFound(
                f"queue {routing_key!r} does not exist on {self.url}, so the message to "
                f"{address!r} was returned; create it (create_channel('/{routing_key}')) or "
                "start the service that declares it"
            )
        tag = getattr(result, "delivery_tag", None)
        return Position(delivery_tag=tag) if isinstance(tag, int) else Position()

    async def _open_publisher(self) -> aiormq.abc.AbstractChannel:
        async with self._publisher_lock:
            if self._publisher is None or self._publisher.is_closed:
                channel = await self._channel(publisher_confirms=True)
                self._publisher = await channel.get_underlay_channel()
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
                await queue.bind(exchange, **_binding(pattern if "/" in address else "#"))
            if not no_ack:
                await channel.set_qos(prefetch_count=self.prefetch)
            subscription = AmqpSubscription(self, channel, queue.name, address, no_ack=no_ack)
            await subscription.start()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await channel.close()
            if isinstance(exc, aiormq.exceptions.ChannelNotFoundEntity) and exchange:
                self._exchanges.discard(exchange)  # deleted since the transport last looked
                raise ChannelNotFound(self._missing_exchange(exchange)) from exc
            if isinstance(exc, aiormq.exceptions.AMQPError):
                raise BrokerError(
                    f"subscribing to {address!r} on {self.url} failed: {_reason(exc)}"
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
                    f"{_reason(exc)}"
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
                    f"than a {exchange_type} exchange: {_reason(exc)}"
                ) from exc

    async def _exchange_exists(self, exchange: str) -> bool:
        async with self._scratch() as channel:
            try:
                await channel.get_exchange(exchange, ensure=True)
            except aiormq.exceptions.ChannelNotFoundEntity:
                return False
            return True

    async def _channel(self, *, publisher_confirms: bool) -> AbstractChannel:
        connection = self._live_connection()
        try:
            channel = connection.channel(publisher_confirms=publisher_confirms)
            await channel.initialize(timeout=self.timeout)
        except (aiormq.exceptions.AMQPError, OSError, RuntimeError) as exc:
            raise BrokerError(
                f"cannot open a channel on {self.url}: {_reason(exc)}; {_START_HINT} if the "
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
            raise BrokerError(f"RabbitMQ at {self.url} refused: {_reason(exc)}") from exc
        finally:
            if not channel.is_closed:
                with contextlib.suppress(Exception):
                    await channel.close()


class AmqpSubscription:
    """Records from one consumer. Iterate it; ``aclose()`` cancels it (idempotent)."""

    def __init__(
        self,
        transport: AmqpTransport,
        channel: AbstractChannel,
        queue: str,
        address: str,
        *,
        no_ack: bool,
    ) -> None:
        self.address = address
        self.queue = queue
        self._transport = transport
        self._channel = channel
        self._no_ack = no_ack
        self._items: asyncio.Queue[Record | BaseException | None] = asyncio.Queue()
        self._tags: dict[int, int] = {}
        self._raw: aiormq.abc.AbstractChannel | None = None
        self._consumer_tag: str | None = None
        self._closed = False

    async def start(self) -> None:
        self._raw = raw = await self._channel.get_underlay_channel()
        self._channel.close_callbacks.add(self._on_channel_closed)
        raw.on_consumer_cancel_callbacks.add(self._on_cancel)
        ok = await raw.basic_consume(self.queue, self._on_message, no_ack=self._no_ack)
        self._consumer_tag = ok.consumer_tag

    async def _on_message(self, message: DeliveredMessage) -> None:
        self._items.put_nowait(to_record(message))

    def _on_cancel(self, frame: spec.Basic.Cancel) -> None:
        self._fail(
            ChannelNotFound(
                f"RabbitMQ cancelled the subscription to {self.address!r} on "
                f"{self._transport.url}: its queue {self.queue!r} was deleted"
            )
        )

    def _on_channel_closed(self, _: object, exc: BaseException | None) -> None:
        if self._closed:
            return
        error = BrokerError(
            f"the subscription to {self.address!r} on {self._transport.url} lost its "
            f"channel: {_reason(exc) if exc else 'closed'}"
        )
        error.__cause__ = exc
        self._fail(error)

    def _fail(self, error: BaseException) -> None:
        if not self._closed:
            self._closed = True
            self._transport._forget(self)
            self._items.put_nowait(error)

    def __aiter__(self) -> AsyncIterator[Record]:
        return self

    async def __anext__(self) -> Record:
        item = await self._items.get()
        if isinstance(item, Record):
            if not self._no_ack and self._raw is not None and item.position.delivery_tag:
                await self._raw.basic_ack(item.position.delivery_tag)
            return item
        self._items.put_nowait(item)  # every later call ends the same way
        if item is None:
            raise StopAsyncIteration
        raise item

    async def aclose(self) -> None:
        if self._closed and self._channel.is_closed:
            return
        self._closed = True
        self._transport._forget(self)
        self._items.put_nowait(None)
        if not self._channel.is_closed:
            with contextlib.suppress(Exception):
                await self._channel.close()


# -- mapping ---------------------------------------------------------------------------------


def split_address(address: str) -> tuple[str, str]:
    """``exchange/rest`` → (exchange, rest); ``/queue`` → ('', queue)."""
    exchange, slash, rest = address.partition("/")
    if not address or (not exchange and not rest) or (not slash and not exchange):
        raise ChannelError(
            f"AMQP address {address!r} is empty; write 'exchange/routing-key' "
            "(or a pattern when subscribing) or '/queue'"
        )
    return exchange, rest


def _binding(pattern: str) -> dict[str, Any]:
    """A routing-key pattern, or ``name=value&x-match=any`` for a headers exchange."""
    if "=" not in pattern:
        return {"routing_key": pattern}
    pairs = parse_qsl(pattern, keep_blank_values=True)
    arguments: dict[str, Any] = {"x-match": "all", **dict(pairs)}
    if arguments["x-match"] not in ("all", "any"):
        raise ChannelError(
            f"headers binding {pattern!r}: x-match must be 'all' or 'any', "
            f"got {arguments['x-match']!r}"
        )
    return {"routing_key": "", "arguments": arguments}


def _properties(record: Record) -> spec.Basic.Properties:
    headers: dict[str, Any] = {name: _header_out(value) for name, value in record.headers.items()}
    if record.key is not None:
        headers[KEY_HEADER] = _header_out(record.key)
    props = record.properties
    return spec.Basic.Properties(
        headers=headers or None,
        delivery_mode=_PERSISTENT,
        correlation_id=props.get("correlation_id"),
        message_id=props.get("message_id"),
        content_type=props.get("content_type"),
        message_type=props.get("type"),
    )


def _header_out(value: bytes | str) -> str | bytearray:
    if isinstance(value, str):
        return value
    try:
        return value.decode()
    except UnicodeDecodeError:
        return bytearray(value)


def _header_in(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def to_record(message: DeliveredMessage) -> Record:
    received = time.monotonic()
    props = message.header.properties
    raw_headers: Mapping[str, object] = props.headers or {}
    headers = {name: _header_in(value) for name, value in raw_headers.items()}
    key = headers.pop(KEY_HEADER, None)
    delivery = message.delivery
    properties = {
        "exchange": str(getattr(delivery, "exchange", "") or ""),
        "routing_key": str(getattr(delivery, "routing_key", "") or ""),
    }
    for name, value in (
        ("correlation_id", props.correlation_id),
        ("message_id", props.message_id),
        ("content_type", props.content_type),
        ("type", props.message_type),
    ):
        if value is not None:
            properties[name] = value
    stamp = props.timestamp
    tag = getattr(delivery, "delivery_tag", None)
    return Record(
        value=bytes(message.body),
        key=key,
        headers=headers,
        properties=properties,
        position=Position(delivery_tag=tag) if isinstance(tag, int) else Position(),
        broker_time=stamp.timestamp() if stamp is not None else None,
        received=received,
    )


def _is_refusal(exc: BaseException) -> bool:
    """The broker closed the connection during the handshake (e.g. an unknown vhost)."""
    if isinstance(exc, aiormq.exceptions.ConnectionNotAllowed):
        return True
    return isinstance(exc, aiormq.exceptions.InvalidFrameError) and "Connection.Close" in str(exc)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:  # includes aiormq's connection errors
        return exc.strerror
    text = str(exc.args[0]) if exc.args else ""
    return text or type(exc).__name__
