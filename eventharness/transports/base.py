"""The contract every broker transport honours, and the registry that finds them.

A transport moves :class:`~eventharness.model.events.Record` objects; it knows nothing of scenarios,
correlation or decoding. Built-in schemes load lazily (``kafka://`` imports aiokafka only when a
Kafka URL is used); third parties add schemes through the ``eventharness.transports`` entry-point
group, mapping a scheme to a class that takes a :class:`~eventharness.model.channels.BrokerURL`.

Semantics every transport provides (the conformance suite in ``tests/conformance`` checks them):

* ``publish`` returns once the broker has the record (acks / publisher confirms).
* ``enqueue`` (optional) hands a record to the client's batch and returns a future of its
  position, resolved on the broker's acknowledgement: many records in flight in one request.
  :func:`enqueue` calls it, or ``publish`` in a task for a transport without one.
* ``subscribe(address)`` with no ``group`` is an *observer*: it sees every record published after
  the call returns, disturbs nobody (no consumer group, nothing committed, own queue), and starts
  at the end. The subscription is armed when ``subscribe`` returns.
* ``subscribe(address, group=name)`` is a *worker*: members of one group share the records and
  each record goes to one member of each group (Kafka consumer group; AMQP named queue).
* ``subscribe(address, consume_queue=True)`` (AMQP-style ``/queue`` addresses) takes messages
  off the queue itself; it is destructive and must be asked for.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Awaitable
from importlib.metadata import entry_points
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

from eventharness.model.channels import BrokerURL, parse_broker_url
from eventharness.model.errors import ChannelError, MissingDependency
from eventharness.model.events import Position, Record
from eventharness.model.problems import closest

__all__ = [
    "ENTRY_POINT_GROUP",
    "Subscription",
    "Transport",
    "TransportBase",
    "check_scheme",
    "enqueue",
    "known_schemes",
    "make_transport",
    "open_transport",
    "transport_class",
]

ENTRY_POINT_GROUP = "eventharness.transports"

_BUILTIN = {
    "memory": ("eventharness.transports.memory", "MemoryTransport", None),
    "kafka": ("eventharness.transports.kafka", "KafkaTransport", ("aiokafka", "kafka")),
    "kafkas": ("eventharness.transports.kafka", "KafkaTransport", ("aiokafka", "kafka")),
    "amqp": ("eventharness.transports.amqp", "AmqpTransport", ("aio-pika", "amqp")),
    "amqps": ("eventharness.transports.amqp", "AmqpTransport", ("aio-pika", "amqp")),
}


@runtime_checkable
class Subscription(Protocol):
    """An armed stream of records. Iterate it; close it when done (idempotent)."""

    def __aiter__(self) -> AsyncIterator[Record]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Transport(Protocol):
    """A connection to one broker."""

    url: BrokerURL

    async def connect(self) -> None:
        """Open the connection; raise BrokerUnavailable within the connect timeout."""

    async def aclose(self) -> None:
        """Close everything this transport opened. Idempotent."""

    async def publish(self, address: str, record: Record) -> Position:
        """Send one record and return where the broker put it, once the broker has it."""

    async def subscribe(
        self, address: str, *, group: str | None = None, consume_queue: bool = False
    ) -> Subscription:
        """An armed subscription; see the module docstring for observer/worker semantics."""

    async def create_channel(self, address: str, *, partitions: int = 1) -> None:
        """Create a topic/exchange (admin helper for tests and set-up). Idempotent."""

    async def delete_channel(self, address: str) -> None:
        """Delete a topic/exchange. Missing ones are ignored."""


def enqueue(
    transport: Transport, address: str, record: Record
) -> Awaitable[asyncio.Future[Position]]:
    """Send ``record`` without waiting for its acknowledgement: the transport's own
    ``enqueue`` when it has one (Kafka: the producer's batch), else ``publish`` in a task.
    Await the result for the future of the position (it raises what the publish raised).
    Not a coroutine itself: the transport's own is awaited directly (the hot path)."""
    own = getattr(transport, "enqueue", None)
    if own is not None:
        acked: Awaitable[asyncio.Future[Position]] = own(address, record)
        return acked
    return _in_a_task(transport, address, record)


async def _in_a_task(
    transport: Transport, address: str, record: Record
) -> asyncio.Future[Position]:
    return asyncio.ensure_future(transport.publish(address, record))


class TransportBase:
    """Optional convenience base: async context manager over connect/aclose."""

    url: BrokerURL
    connect_timeout: ClassVar[float] = 10.0

    def __init__(self, url: BrokerURL | str, **options: Any) -> None:
        self.url = parse_broker_url(url) if isinstance(url, str) else url
        self.options = options

    @property
    def timeout(self) -> float:
        """Seconds to connect: the URL's own ``?connect_timeout=`` (the most specific), else
        the ``connect_timeout`` option (a harness's, a profile's, ``--connect-timeout``),
        else 10."""
        raw = self.url.param("connect_timeout") or self.options.get("connect_timeout")
        return float(raw) if raw is not None else self.connect_timeout

    async def connect(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def aclose(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def known_schemes() -> list[str]:
    """Every URL scheme a transport is installed for (built-ins and entry points); nothing is
    imported to find out."""
    return sorted(set(_BUILTIN) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def check_scheme(url: BrokerURL) -> None:
    """ChannelError, with the closest known scheme, unless a transport handles ``url``'s
    scheme — so a typo (``kafak://``) is found when a file is read, not when a run connects."""
    if url.scheme in _BUILTIN:
        return
    known = known_schemes()
    if url.scheme in known:
        return
    near = closest(url.scheme, known)
    hint = f"; did you mean {near}://?" if near else ""
    raise ChannelError(
        f"broker URL {url}: no transport for scheme {url.scheme!r}{hint} (known: "
        f"{', '.join(known)})"
    )


def transport_class(scheme: str) -> type[Transport]:
    """The transport class for a URL scheme: built-ins first, then entry points."""
    scheme = scheme.lower()
    if scheme in _BUILTIN:
        module_name, attr, dependency = _BUILTIN[scheme]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if dependency is None:
                raise
            package, extra = dependency
            if exc.name and exc.name.split(".")[0] in (package.replace("-", "_"), "aiormq"):
                raise MissingDependency(f"{scheme}:// brokers", package, extra) from exc
            raise
        cls: type[Transport] = getattr(module, attr)
        return cls
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == scheme:
            loaded: type[Transport] = ep.load()
            return loaded
    known = known_schemes()
    raise ChannelError(
        f"no transport for scheme {scheme!r}; known: {', '.join(known)}. "
        f"A package can add one through the {ENTRY_POINT_GROUP!r} entry-point group."
    )


def make_transport(url: BrokerURL | str, **options: Any) -> Transport:
    parsed = parse_broker_url(url) if isinstance(url, str) else url
    return transport_class(parsed.scheme)(parsed, **options)  # type: ignore[call-arg]


async def open_transport(url: BrokerURL | str, **options: Any) -> Transport:
    """Build and connect the transport for ``url``."""
    transport = make_transport(url, **options)
    await transport.connect()
    return transport
