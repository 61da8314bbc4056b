"""What travels: records on the wire, messages a scenario sends, events it observes.

* :class:`Record` is the transport-level unit: bytes and headers, as a broker delivers them.
  Transports produce and consume records and know nothing else.
* :class:`Message` is what a test publishes: a value (dict, str or bytes), key, headers.
* :class:`Event` is one message seen or sent, decoded and correlated, on a scenario's timeline.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

__all__ = [
    "CORRELATION_HEADER",
    "CORRELATION_ID_HEADER",
    "MESSAGE_ID_HEADER",
    "MISSING",
    "NO_POSITION",
    "TRACEPARENT_HEADER",
    "TYPE_HEADER",
    "Decoder",
    "Direction",
    "Event",
    "Message",
    "Position",
    "Record",
    "decode_text",
    "decode_value",
    "dig",
    "encode_key",
    "encode_value",
    "event_from_record",
    "header_text",
    "is_missing",
    "lookup",
    "make_traceparent",
    "monotonic",
    "new_correlation_id",
    "new_message_id",
    "preview",
    "text_headers",
    "trace_id_of",
]

CORRELATION_HEADER = "correlation-id"
CORRELATION_ID_HEADER = "correlation_id"  # FastStream's (Kafka and RabbitMQ headers)
TRACEPARENT_HEADER = "traceparent"
MESSAGE_ID_HEADER = "message-id"
TYPE_HEADER = "event-type"

Direction = Literal["in", "out"]
Decoder = Callable[[bytes], tuple[Any, str | None]]


class Position(NamedTuple):
    """Where a broker put a record: Kafka partition/offset, or an AMQP delivery tag.

    A named tuple: cheap to make for every record, and invisible to the garbage collector."""

    partition: int | None = None
    offset: int | None = None
    delivery_tag: int | None = None

    def __str__(self) -> str:
        if self.partition is not None:
            return f"p{self.partition}@{self.offset}"
        if self.delivery_tag is not None:
            return f"#{self.delivery_tag}"
        return "-"


NO_POSITION = Position()


_NONE: Mapping[str, Any] = MappingProxyType({})


class Record(NamedTuple):
    """One message on the wire: a named tuple, as cheap to make as the broker is fast.

    ``headers`` values are bytes (Kafka) or already-decoded header values (AMQP).
    ``properties`` carries broker metadata that is not a header: for AMQP ``correlation_id``,
    ``message_id``, ``content_type``, ``exchange``, ``routing_key``; for Kafka ``topic``.
    """

    value: bytes
    key: bytes | None = None
    headers: Mapping[str, bytes] = _NONE
    properties: Mapping[str, str] = _NONE
    partition: int | None = None
    position: Position = NO_POSITION
    broker_time: float | None = None  # epoch seconds, as the broker stamped it
    received: float = 0.0  # time.monotonic() when the client handed it to us


@dataclass(frozen=True, slots=True)
class Message:
    """What a scenario or a stub publishes. ``value`` dicts/lists are sent as JSON."""

    value: Any
    key: str | bytes | None = None
    headers: Mapping[str, str | bytes] = field(default_factory=dict)
    partition: int | None = None


_RELEASED: Any = object()  # an Event's decoded value was dropped; decode ``raw`` again


class Event:
    """One message seen (``direction='in'``) or sent (``'out'``) by a scenario.

    A small record like the others, with one twist: the ``value`` of a collected event is
    decoded from ``raw``, and once a scenario has matched and checked it the decoded form is
    released (:meth:`release_value`) and decoded again when read. A long collection then holds
    bytes rather than Python objects — less memory, and less for the garbage collector to walk.
    """

    __slots__ = (
        "_decoder",
        "_value",
        "broker_time",
        "channel",
        "correlation_id",
        "decode_error",
        "direction",
        "headers",
        "key",
        "message_id",
        "note",
        "position",
        "raw",
        "received",
        "seq",
        "traceparent",
        "type",
    )

    def __init__(
        self,
        channel: str,
        value: Any,
        raw: bytes,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        type: str | None = None,
        correlation_id: str | None = None,
        message_id: str | None = None,
        traceparent: str | None = None,
        position: Position = NO_POSITION,
        broker_time: float | None = None,
        received: float = 0.0,
        direction: Direction = "in",
        decode_error: str | None = None,
        note: str | None = None,  # what the harness did to it: a stub sent it, a fault changed it
        seq: int = 0,  # arrival order in the harness: breaks ties between equal receive times
        decoder: Decoder | None = None,  # how ``value`` came from ``raw`` (collected events)
    ) -> None:
        self.channel = channel
        self._value = value
        self.raw = raw
        self.key = key
        self.headers = {} if headers is None else headers
        self.type = type
        self.correlation_id = correlation_id
        self.message_id = message_id
        self.traceparent = traceparent
        self.position = position
        self.broker_time = broker_time
        self.received = received
        self.direction = direction
        self.decode_error = decode_error
        self.note = note
        self.seq = seq
        self._decoder = decoder

    @property
    def value(self) -> Any:
        value = self._value
        if value is _RELEASED:
            value = self._decoder(self.raw)[0]  # type: ignore[misc]
        return value

    @value.setter
    def value(self, value: Any) -> None:
        self._value = value

    def release_value(self) -> None:
        """Drop the decoded value; it is decoded from ``raw`` again when read."""
        if self._decoder is not None and self.decode_error is None:
            self._value = _RELEASED

    def copy(self, **changes: Any) -> Event:
        """A shallow copy, with ``changes`` applied (field names as in the constructor)."""
        fields = {name: getattr(self, name) for name in _EVENT_FIELDS}
        fields["decoder"] = self._decoder
        fields.update(changes)
        return Event(**fields)

    @property
    def trace_id(self) -> str | None:
        return trace_id_of(self.traceparent)

    def get(self, path: str, default: Any = None) -> Any:
        """Look up ``value.a.b``, ``key``, ``headers.x`` or ``type`` on this event."""
        return lookup(self, path, default)

    def summary(self) -> str:
        return f"{self.type or '-'} key={self.key or '-'}"

    def __repr__(self) -> str:
        return (
            f"Event(channel={self.channel!r}, direction={self.direction!r}, type={self.type!r}, "
            f"key={self.key!r}, correlation_id={self.correlation_id!r}, value={self.value!r})"
        )


_EVENT_FIELDS = (
    "channel",
    "value",
    "raw",
    "key",
    "headers",
    "type",
    "correlation_id",
    "message_id",
    "traceparent",
    "position",
    "broker_time",
    "received",
    "direction",
    "decode_error",
    "note",
    "seq",
)


_MISSING = object()
MISSING: Any = _MISSING  # "no such field", distinct from a field holding None


def lookup(event: Event, path: str, default: Any = None) -> Any:
    """Resolve a dotted path against an event: ``value.order.id``, ``key``, ``headers.h``.

    A path that does not start with one of the event's fields is taken relative to ``value``.
    List items are addressed by index: ``value.lines.0.sku``.
    """
    head, _, rest = path.partition(".")
    if head in ("key", "type", "channel", "correlation_id", "message_id", "traceparent"):
        root: Any = getattr(event, head)
        if not rest:
            return root
    elif head == "headers":
        return event.headers.get(rest, default) if rest else event.headers
    elif head == "value":
        root = event.value
    else:
        root, rest = event.value, path
    found = dig(root, rest) if rest else root
    return default if found is _MISSING else found


def dig(obj: Any, path: str) -> Any:
    """Follow a dotted path through dicts and lists; the module sentinel when absent."""
    for part in path.split("."):
        if isinstance(obj, Mapping):
            if part not in obj:
                return _MISSING
            obj = obj[part]
        elif isinstance(obj, list | tuple) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(obj) <= index < len(obj):
                return _MISSING
            obj = obj[index]
        else:
            return _MISSING
    return obj


def is_missing(value: Any) -> bool:
    return value is _MISSING


def new_correlation_id() -> str:
    """32 lowercase hex digits: a valid W3C trace id, so the traceparent carries it too.

    128 bits from a generator seeded from the OS and seeded again in every forked child (no
    system call per scenario, as :func:`uuid.uuid4` makes); never all zeros, which W3C forbids."""
    return f"{_random.getrandbits(128) or 1:032x}"


def make_traceparent(trace_id: str) -> str:
    """A W3C traceparent for ``trace_id`` with a fresh, non-zero span id."""
    return f"00-{trace_id}-{_random.getrandbits(64) or 1:016x}-01"


def new_message_id() -> str:
    """A unique message id: a random per-process prefix and a counter, no syscall per call."""
    return f"{_ids.prefix}{next(_ids.counter):016x}"


class _Ids:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:  # a forked child must not repeat its parent's ids
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count(1)


_ids = _Ids()
_random = random.Random()  # seeded from os.urandom


def _after_fork() -> None:  # a forked child must not repeat its parent's ids
    _ids.reset()
    _random.seed()


os.register_at_fork(after_in_child=_after_fork)


def trace_id_of(traceparent: str | None) -> str | None:
    if not traceparent:
        return None
    parts = traceparent.strip().split("-")
    if len(parts) >= 4 and len(parts[1]) == 32:
        return parts[1]
    return None


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)
_DECODE = json.JSONDecoder().decode  # json.loads without its checks of the arguments


def encode_value(value: Any) -> bytes:
    """bytes as they are, str as UTF-8, anything else as compact JSON."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return _ENCODER.encode(value).encode()


def encode_key(key: str | bytes | None) -> bytes | None:
    if key is None or isinstance(key, bytes):
        return key
    return str(key).encode()


def decode_text(data: bytes | str | None) -> str | None:
    if data is None or isinstance(data, str):
        return data
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data.hex()


def text_headers(headers: Mapping[str, bytes]) -> dict[str, str]:
    """Header values as text; bytes that are not UTF-8 as hex (the raw record keeps them)."""
    try:
        return {name: raw.decode() if raw else "" for name, raw in headers.items()}
    except (UnicodeDecodeError, AttributeError):
        return {name: decode_text(raw) or "" for name, raw in headers.items()}


def decode_value(raw: bytes) -> tuple[Any, str | None]:
    """JSON when it parses, else UTF-8 text, else the bytes with a reason. Never raises."""
    if not raw:
        return None, None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return raw, f"not UTF-8 text ({len(raw)} bytes: {preview(raw)})"
    try:
        return _DECODE(text), None
    except ValueError:
        return text, None


def preview(raw: bytes, limit: int = 32) -> str:
    head = raw[:limit]
    return head.hex(" ") + (" …" if len(raw) > limit else "")


monotonic = time.monotonic  # the clock of every receive time and window (asyncio's too)


def header_text(headers: Mapping[str, Any], name: str) -> str | None:
    value = headers.get(name)
    return decode_text(value) if value is not None else None


def event_from_record(
    channel: str,
    record: Record,
    *,
    decoder: Decoder | None = None,
    direction: Direction = "in",
    payload_field: str = "correlation_id",
) -> Event:
    """Decode a record into an event: value, type, correlation id, message id, trace context."""
    decoder = decoder or decode_value
    value, error = decoder(record.value)
    headers = text_headers(record.headers)
    props = record.properties
    event_type = None
    message_id = headers.get(MESSAGE_ID_HEADER) or props.get("message_id")
    correlation = (
        headers.get(CORRELATION_HEADER)
        or headers.get(CORRELATION_ID_HEADER)
        or props.get("correlation_id")
    )
    if type(value) is dict or isinstance(value, Mapping):
        kind = value.get("type")
        event_type = kind if isinstance(kind, str) else None
        if correlation is None:
            found = value.get(payload_field)
            correlation = None if found is None else str(found)
        if message_id is None:
            found = value.get("event_id")
            message_id = None if found is None else str(found)
    if event_type is None:
        event_type = headers.get(TYPE_HEADER) or props.get("type")
    traceparent = headers.get(TRACEPARENT_HEADER)
    if correlation is None:
        correlation = trace_id_of(traceparent)
    return Event(
        channel=channel,
        value=value,
        raw=record.value,
        key=decode_text(record.key),
        headers=headers,
        type=event_type,
        correlation_id=correlation,
        message_id=message_id,
        traceparent=traceparent,
        position=record.position,
        broker_time=record.broker_time,
        received=record.received or time.monotonic(),
        direction=direction,
        decode_error=error,
        decoder=decoder,
    )
