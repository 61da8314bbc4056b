"""An AsyncAPI document as eventharness uses it, whatever version it was written in (2.6, 3.0,
3.1): servers, channels with their Kafka/AMQP bindings, messages with their schemas, and
operations with the service that owns them. Small frozen records; every one knows the
``file:line`` it came from.

    doc.channels["orderPlaced"].target("kafka")      # 'kafka:orders' — the eventharness channel
    doc.channels["orderPlaced"].messages[0].payload  # the payload schema, every $ref inlined
    doc.flows()                                       # (send operation, receive operation) pairs
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AmqpBinding",
    "Channel",
    "Document",
    "Example",
    "KafkaBinding",
    "Message",
    "Operation",
    "Server",
    "correlation_rule",
]

Action = Literal["send", "receive"]
KAFKA_PROTOCOLS = ("kafka", "kafka-secure")
AMQP_PROTOCOLS = ("amqp", "amqps")


@dataclass(frozen=True)
class Server:
    """A broker the document names: ``url`` is the eventharness broker URL without any
    credentials (``kafka://host:9092``, ``amqp://host:5672/vhost``); ``security`` names the
    security schemes (``saslScram: scramSha256``), never a secret."""

    id: str
    protocol: str
    host: str
    url: str
    security: tuple[str, ...] = ()
    where: str = ""

    @property
    def kind(self) -> str:
        """``kafka``, ``amqp`` or the protocol as written."""
        if self.protocol in KAFKA_PROTOCOLS:
            return "kafka"
        if self.protocol in AMQP_PROTOCOLS:
            return "amqp"
        return self.protocol


@dataclass(frozen=True)
class KafkaBinding:
    topic: str | None = None
    partitions: int | None = None
    replicas: int | None = None


@dataclass(frozen=True)
class AmqpBinding:
    """``is_`` is ``routingKey`` (an exchange) or ``queue``."""

    is_: str = "routingKey"
    exchange: str | None = None
    exchange_type: str | None = None
    queue: str | None = None


@dataclass(frozen=True)
class Example:
    payload: Any = None
    headers: Any = None
    name: str | None = None
    where: str = ""


@dataclass(frozen=True)
class Message:
    """A message of a channel: ``id`` is its key in the channel (or components); ``name`` the
    event type eventharness matches (the message's ``name``, else its id); ``payload`` and
    ``headers`` are schemas with their refs inlined; ``schema_format`` is ``json`` or ``avro``;
    ``correlation`` the location as written (``$message.header#/correlation-id``)."""

    id: str
    name: str
    payload: Any = None
    schema_format: str = "json"
    headers: Any = None
    correlation: str | None = None
    content_type: str | None = None
    examples: tuple[Example, ...] = ()
    where: str = ""

    @property
    def rule(self) -> str | None:
        """The correlation location as an eventharness rule (``headers.x``, ``value.a.b``)."""
        return correlation_rule(self.correlation) if self.correlation else None


@dataclass(frozen=True)
class Channel:
    id: str
    address: str
    messages: tuple[Message, ...] = ()
    protocol: str = "kafka"  # kafka or amqp: from the bindings, else the servers
    kafka: KafkaBinding | None = None
    amqp: AmqpBinding | None = None
    where: str = ""

    def address_of(self) -> str:
        """The eventharness address: the Kafka topic, ``exchange/routing-key`` or ``/queue``."""
        if self.protocol == "amqp":
            binding = self.amqp or AmqpBinding()
            if binding.is_ == "queue":
                return f"/{binding.queue or self.address}"
            return f"{binding.exchange or ''}/{self.address}"
        if self.kafka is not None and self.kafka.topic:
            return self.kafka.topic
        return self.address

    def target(self, broker: str) -> str:
        """The eventharness channel on ``broker``: ``kafka:orders``, ``rabbit:shipping/x.y``."""
        return f"{broker}:{self.address_of()}"

    def pattern(self) -> re.Pattern[str]:
        """The address as a regular expression: ``{param}`` matches one name."""
        parts = re.split(r"(\{[^}]*\})", self.address_of())
        return re.compile(
            "".join(
                "[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts
            )
            + r"\Z"
        )

    def message(self, name: str | None) -> Message | None:
        return next((m for m in self.messages if name in (m.name, m.id)), None)


@dataclass(frozen=True)
class Operation:
    id: str
    action: Action
    channel: str  # the channel's id
    messages: tuple[str, ...] = ()  # message ids of the channel; () = all of them
    service: str | None = None
    where: str = ""


@dataclass(frozen=True)
class Document:
    version: str
    title: str
    file: str
    servers: dict[str, Server] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)

    def messages_of(self, operation: Operation) -> tuple[Message, ...]:
        channel = self.channels[operation.channel]
        if not operation.messages:
            return channel.messages
        return tuple(m for m in channel.messages if m.id in operation.messages)

    def flows(self) -> list[tuple[Operation, Operation]]:
        """Every (send, receive) pair on one channel sharing a message: a flow of the system."""
        pairs = []
        for send in self.operations.values():
            if send.action != "send":
                continue
            sent = {m.id for m in self.messages_of(send)}
            for receive in self.operations.values():
                if (
                    receive.action == "receive"
                    and receive.channel == send.channel
                    and sent & {m.id for m in self.messages_of(receive)}
                ):
                    pairs.append((send, receive))
        return pairs

    def services(self) -> list[str]:
        return sorted({op.service for op in self.operations.values() if op.service})


def correlation_rule(location: str) -> str | None:
    """``$message.header#/correlation-id`` → ``headers.correlation-id``;
    ``$message.payload#/order/id`` → ``value.order.id``; None for anything else."""
    head, _, pointer = location.partition("#")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/") if p]
    if not parts:
        return None
    if head == "$message.header":
        return "headers." + ".".join(parts)
    if head == "$message.payload":
        return "value." + ".".join(parts)
    return None
