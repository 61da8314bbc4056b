"""What was observed, written as an AsyncAPI 3.0.0 document.

    doc = export_document([Recording.load("shop.jsonl")], brokers=profile.brokers,
                          services={"kafka:payments": "payments"}, title="shop")
    text = to_yaml(doc)

One channel per recorded channel (a Kafka topic; an AMQP ``exchange/routing-key`` as a
``routingKey`` channel with its exchange, ``/queue`` as a ``queue`` channel), one message per
event type seen there (payload ``type``, header ``event-type``; ``message`` when there is none)
with a payload schema inferred from every sample (merged by ``genson``), a headers schema, an
example (the first sample) and the correlation id's location as the events carried it (the
``correlation-id`` or ``correlation_id`` header, else the payload's ``correlation_id``).
Servers come from the broker URLs given (host and port only: no user, no password). Each
channel gets one ``send`` operation, owned (``x-service``) by the service that ``services``
names for the channel, when one does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from eventharness.engine.recordfile import Recorded, Recording
from eventharness.model.channels import parse_broker_url
from eventharness.model.errors import ChannelError, MissingDependency

__all__ = ["MAX_SAMPLES", "export_document", "to_yaml"]

MAX_SAMPLES = 1000  # per message: enough to see every optional field, cheap on big recordings
_ID = re.compile(r"[^A-Za-z0-9_.\-]+")
_HEADER_RULES = ("correlation-id", "correlation_id")


def _schema_builder() -> Any:
    try:
        # lazy: genson is the [asyncapi] extra, needed only to export
        from genson import SchemaBuilder
    except ImportError as exc:
        raise MissingDependency("asyncapi export", "genson", "asyncapi") from exc
    return SchemaBuilder


def _ident(text: str) -> str:
    return _ID.sub("-", text).strip("-") or "x"


class _Message:
    def __init__(self, builder: type[Any]) -> None:
        self.payload = builder(schema_uri=None)
        self.headers = builder(schema_uri=None)
        self.samples = 0
        self.example: Recorded | None = None
        self.locations: dict[str, int] = {}

    def add(self, item: Recorded) -> None:
        if self.example is None:
            self.example = item
        self.samples += 1
        if self.samples <= MAX_SAMPLES:
            self.payload.add_object(item.value)
            self.headers.add_object(dict(item.headers))
        found = _location(item)
        if found is not None:
            self.locations[found] = self.locations.get(found, 0) + 1

    def to_dict(self, name: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "contentType": "application/json"}
        headers = self.headers.to_schema()
        if headers.get("properties"):
            out["headers"] = headers
        out["payload"] = self.payload.to_schema()
        if self.locations:
            location = max(self.locations, key=lambda k: self.locations[k])
            out["correlationId"] = {"location": location}
        if self.example is not None:
            example: dict[str, Any] = {"payload": self.example.value}
            if self.example.headers:
                example["headers"] = dict(self.example.headers)
            out["examples"] = [example]
        return out


def _location(item: Recorded) -> str | None:
    for name in _HEADER_RULES:
        if item.headers.get(name):
            return f"$message.header#/{name}"
    if isinstance(item.value, Mapping) and item.value.get("correlation_id") is not None:
        return "$message.payload#/correlation_id"
    return None


def _type_of(item: Recorded) -> str:
    if isinstance(item.value, Mapping) and isinstance(item.value.get("type"), str):
        return str(item.value["type"])
    return item.headers.get("event-type") or "message"


def _kind(broker: str, address: str, brokers: Mapping[str, str]) -> str:
    url = brokers.get(broker, "")
    scheme = url.split(":", 1)[0]
    if scheme in ("amqp", "amqps"):
        return "amqp"
    if scheme == "memory" or not url:  # the memory broker routes EXCHANGE/KEY as AMQP does
        return "amqp" if "/" in address else "kafka"
    if scheme in ("kafka", "kafkas", "embedded"):
        return "kafka"
    return scheme


def _server(broker: str, kind: str, brokers: Mapping[str, str]) -> dict[str, Any]:
    url = brokers.get(broker, "")
    host = "localhost:9092" if kind == "kafka" else "localhost:5672"
    protocol = kind
    if url and url != "embedded":
        try:
            parsed = parse_broker_url(url)
        except ChannelError:
            parsed = None
        if parsed is not None and parsed.hosts:
            host = ",".join(f"{h}:{p}" if p else h for h, p in parsed.hosts)
            protocol = {"kafkas": "kafka-secure", "memory": kind}.get(parsed.scheme, parsed.scheme)
    server: dict[str, Any] = {"host": host, "protocol": protocol}
    if url == "embedded":
        server["description"] = "the embedded Kafka of eventharness"
    elif url.startswith("memory:"):
        server["description"] = f"the in-memory broker of eventharness, as {kind}"
    return server


def _channel(address: str, kind: str, broker: str) -> dict[str, Any]:
    channel: dict[str, Any] = {"servers": [{"$ref": f"#/servers/{_ident(broker)}"}]}
    if kind == "amqp":
        exchange, _, key = address.partition("/")
        if exchange:
            channel["address"] = key
            channel["bindings"] = {
                "amqp": {"is": "routingKey", "exchange": {"name": exchange, "type": "topic"}}
            }
        else:
            channel["address"] = key
            channel["bindings"] = {"amqp": {"is": "queue", "queue": {"name": key}}}
    else:
        channel["address"] = address
        channel["bindings"] = {"kafka": {"topic": address}}
    return channel


def export_document(
    recordings: Iterable[Recording],
    *,
    brokers: Mapping[str, str] | None = None,
    services: Mapping[str, str] | None = None,
    title: str = "observed",
    version: str = "1.0.0",
) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document (as data) of everything in ``recordings``."""
    builder = _schema_builder()
    brokers = dict(brokers or {})
    services = dict(services or {})
    seen: dict[str, dict[str, _Message]] = {}
    for recording in recordings:
        for item in recording:
            messages = seen.setdefault(item.channel, {})
            kind = _type_of(item)
            if kind not in messages:
                messages[kind] = _Message(builder)
            messages[kind].add(item)
    servers: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for name in sorted(seen):
        broker, _, address = name.partition(":")
        kind = _kind(broker, address, brokers)
        servers.setdefault(_ident(broker), _server(broker, kind, brokers))
        channel_id = _ident(address)
        channel = _channel(address, kind, broker)
        channel["messages"] = {_ident(t): m.to_dict(t) for t, m in sorted(seen[name].items())}
        channels[channel_id] = channel
        operation: dict[str, Any] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [
                {"$ref": f"#/channels/{channel_id}/messages/{_ident(t)}"}
                for t in sorted(seen[name])
            ],
        }
        if name in services:
            operation["x-service"] = services[name]
        operations[f"send-{channel_id}"] = operation
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Exported by eventharness from what was observed.",
        },
        "defaultContentType": "application/json",
        "servers": servers,
        "channels": channels,
        "operations": operations,
    }


def to_yaml(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, width=100)
