"""How eventharness addresses and records map onto AMQP 0-9-1 (RabbitMQ).

Addresses: ``exchange/routing-key`` (a binding pattern when subscribing; ``name=value&...`` binds
to a headers exchange) and ``/queue`` (the default exchange); see :func:`split_address` and
:func:`bind_arguments`.

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
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from aiormq.abc import DeliveredMessage
from pamqp import commands as spec

from eventharness.model.errors import ChannelError
from eventharness.model.events import Position, Record

__all__ = ["KEY_HEADER", "bind_arguments", "split_address", "to_properties", "to_record"]

KEY_HEADER = "message-key"
_PERSISTENT = 2


def split_address(address: str) -> tuple[str, str]:
    """``exchange/rest`` → (exchange, rest); ``/queue`` → ('', queue)."""
    exchange, slash, rest = address.partition("/")
    if not address or (not exchange and not rest) or (not slash and not exchange):
        raise ChannelError(
            f"AMQP address {address!r} is empty; write 'exchange/routing-key' "
            "(or a pattern when subscribing) or '/queue'"
        )
    return exchange, rest


def bind_arguments(pattern: str) -> dict[str, Any]:
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


def to_properties(record: Record) -> spec.Basic.Properties:
    """The AMQP properties a record is published with: headers (and the key), persistence,
    and the properties named in the module docstring."""
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
    """The record of a delivered message, ``received`` now."""
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
