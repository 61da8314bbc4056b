"""Read an AsyncAPI document (2.6, 3.0 or 3.1) into :class:`~eventharness.asyncapi.model.Document`.

    doc = load_document("docs/asyncapi.yaml")     # AsyncApiError with file:line when unusable

3.x: ``channels`` (``address``, ``messages``, ``bindings``), ``operations`` (``action`` send or
receive, ``channel`` and ``messages`` as refs). 2.6: a channel's ``subscribe`` is what the
application sends and ``publish`` what it receives (the spec's own reading), ``message`` one
message or ``oneOf`` several. Message traits are merged (the message's own fields win).

The service owning an operation: its ``x-service``, else the document's ``info.x-service``,
else — when no operation names one, the document describing one application — its
``info.title``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eventharness.asyncapi.model import (
    AMQP_PROTOCOLS,
    AmqpBinding,
    Channel,
    Document,
    Example,
    KafkaBinding,
    Message,
    Operation,
    Server,
)
from eventharness.asyncapi.source import Node, Source
from eventharness.model.errors import AsyncApiError

__all__ = ["SUPPORTED", "load_document", "read_document"]

SUPPORTED = ("2.6.0", "3.0.0", "3.1.0")
_AVRO = "application/vnd.apache.avro"


def load_document(path: str | Path) -> Document:
    """The document at ``path`` (refs to local files followed)."""
    return read_document(Source.open(path))


def read_document(source: Source) -> Document:
    root = source.root
    version = str(root.value.get("asyncapi", ""))
    if version not in SUPPORTED:
        line = root.child("asyncapi")
        where = line.where if line else f"{root.file}:1"
        raise AsyncApiError(
            [
                f"{where}: asyncapi: {version or '(missing)'!r} is not a version "
                f"eventharness reads; use one of {', '.join(SUPPORTED)}"
            ]
        )
    return _Reader(source, version).document()


class _Reader:
    def __init__(self, source: Source, version: str) -> None:
        self.source = source
        self.version = version
        self.v2 = version.startswith("2.")
        info = self.node(source.root.child("info"))
        self.title = str(_get(info, "title") or Path(source.path).stem)
        self.default_service = _get(info, "x-service")
        self.content_type = _get(source.root, "defaultContentType")
        self.servers = self.read_servers()
        protocols = {s.kind for s in self.servers.values()}
        self.protocol = "amqp" if protocols == {"amqp"} else "kafka"

    def node(self, node: Node | None) -> Node | None:
        return None if node is None else self.source.follow(node)

    def document(self) -> Document:
        channels: dict[str, Channel] = {}
        operations: dict[str, Operation] = {}
        found = self.source.root.child("channels")
        for key, raw in found.items() if found else []:
            node = self.source.follow(raw)
            if self.v2:
                channel, ops = self.channel_v2(str(key), node)
                operations.update(ops)
            else:
                channel = self.channel(str(key), node)
            channels[channel.id] = channel
        if not self.v2:
            ops_node = self.source.root.child("operations")
            for key, raw in ops_node.items() if ops_node else []:
                operations[str(key)] = self.operation(str(key), self.source.follow(raw), channels)
        if not any(op.service for op in operations.values()):
            owner = self.default_service or self.title
            operations = {k: _owned(op, str(owner)) for k, op in operations.items()}
        elif self.default_service:
            operations = {
                k: op if op.service else _owned(op, str(self.default_service))
                for k, op in operations.items()
            }
        return Document(
            self.version, self.title, str(self.source.path), self.servers, channels, operations
        )

    # -- servers ---------------------------------------------------------------------------

    def read_servers(self) -> dict[str, Server]:
        servers = self.source.root.child("servers")
        out: dict[str, Server] = {}
        for key, raw in servers.items() if servers else []:
            node = self.source.follow(raw)
            protocol = str(_get(node, "protocol") or "")
            host = str(_get(node, "host") or _get(node, "url") or "")
            host = host.split("://", 1)[-1]
            path = str(_get(node, "pathname") or "")
            scheme = {
                "kafka": "kafka",
                "kafka-secure": "kafkas",
                "amqp": "amqp",
                "amqps": "amqps",
            }.get(protocol, protocol)
            if protocol in AMQP_PROTOCOLS and not path and "/" not in host:
                path = "/"
            url = f"{scheme}://{host}{path}" if scheme else host
            out[str(key)] = Server(str(key), protocol, host, url, self.security(node), node.where)
        return out

    def security(self, server: Node) -> tuple[str, ...]:
        names = []
        listed = server.child("security")
        scheme: Node | None
        for item in listed.entries() if listed else []:
            if isinstance(item.value, Mapping) and "$ref" in item.value:
                name = str(item.value["$ref"]).rsplit("/", 1)[-1]
                scheme = self.source.follow(item)
            elif isinstance(item.value, Mapping) and not self.v2:  # 3.x: the scheme itself
                name = str(item.value.get("name") or item.value.get("type") or "?")
                scheme = item
            elif isinstance(item.value, Mapping) and item.value:  # 2.6: {schemeName: [scopes]}
                name = str(next(iter(item.value)))
                schemes = self.source.root.child("components")
                found = schemes.child("securitySchemes") if schemes else None
                scheme = self.node(found.child(name)) if found else None
                if scheme is None:
                    raise AsyncApiError(
                        [
                            f"{item.where}: security scheme {name!r} is not in "
                            "components.securitySchemes; add it there"
                        ]
                    )
            else:
                continue
            names.append(f"{name}: {_get(scheme, 'type') or '?'}")
        return tuple(names)

    # -- channels and messages --------------------------------------------------------------

    def channel(self, key: str, node: Node) -> Channel:
        address = _get(node, "address")
        messages = []
        found = node.child("messages")
        for mid, raw in found.items() if found else []:
            messages.append(self.message(str(mid), raw))
        return self.make_channel(key, str(address) if address is not None else key, node, messages)

    def make_channel(self, key: str, address: str, node: Node, messages: list[Message]) -> Channel:
        bindings = self.node(node.child("bindings"))
        kafka = self.node(bindings.child("kafka")) if bindings else None
        amqp = self.node(bindings.child("amqp")) if bindings else None
        protocol = "amqp" if amqp is not None else "kafka" if kafka is not None else self.protocol
        return Channel(
            key,
            address,
            tuple(messages),
            protocol,
            self.kafka_binding(kafka) if kafka is not None else None,
            self.amqp_binding(amqp) if amqp is not None else None,
            node.where,
        )

    def kafka_binding(self, node: Node) -> KafkaBinding:
        partitions, replicas = _get(node, "partitions"), _get(node, "replicas")
        topic = _get(node, "topic")
        return KafkaBinding(
            str(topic) if topic else None,
            partitions if isinstance(partitions, int) else None,
            replicas if isinstance(replicas, int) else None,
        )

    def amqp_binding(self, node: Node) -> AmqpBinding:
        exchange = self.node(node.child("exchange"))
        queue = self.node(node.child("queue"))
        name = _get(exchange, "name")
        kind = _get(exchange, "type")
        queue_name = _get(queue, "name")
        return AmqpBinding(
            str(_get(node, "is") or "routingKey"),
            str(name) if name else None,
            str(kind) if kind else None,
            str(queue_name) if queue_name else None,
        )

    def message(self, mid: str, raw: Node) -> Message:
        node = self.source.follow(raw)
        fields = self.with_traits(node)
        name = _value(fields.get("name"))
        payload_node = fields.get("payload")
        schema_format = str(_value(fields.get("schemaFormat")) or "")
        payload: Any = None
        if payload_node is not None:
            payload_node = self.source.follow(payload_node)
            inner = payload_node.child("schema")
            if inner is not None and payload_node.child("schemaFormat") is not None:
                schema_format = str(_value(payload_node.child("schemaFormat")))
                payload_node = inner
            payload = self.source.inline(payload_node)
        headers = self.source.inline(fields["headers"]) if "headers" in fields else None
        correlation = None
        if "correlationId" in fields:
            location = self.node(fields["correlationId"])
            correlation = _get(location, "location")
        examples = []
        for ex in fields["examples"].entries() if "examples" in fields else []:
            ex = self.source.follow(ex)
            payload_ex, headers_ex = ex.child("payload"), ex.child("headers")
            examples.append(
                Example(
                    self.source.inline(payload_ex) if payload_ex else None,
                    self.source.inline(headers_ex) if headers_ex else None,
                    _get(ex, "name"),
                    ex.where,
                )
            )
        content = _value(fields.get("contentType")) or self.content_type
        return Message(
            mid,
            str(name) if name else mid,
            payload,
            "avro" if schema_format.startswith(_AVRO) else "json",
            headers,
            str(correlation) if correlation else None,
            str(content) if content else None,
            tuple(examples),
            node.where,
        )

    def with_traits(self, node: Node) -> dict[str, Node]:
        """The message's fields as nodes, its traits' fields under them (its own win)."""
        fields: dict[str, Node] = {}
        traits = node.child("traits")
        for trait in traits.entries() if traits else []:
            trait = self.source.follow(trait)
            if isinstance(trait.value, list):  # 2.x allowed [trait, options]
                trait = self.source.follow(trait.entries()[0])
            fields.update({str(k): v for k, v in trait.items()})
        fields.update({str(k): v for k, v in node.items() if k != "traits"})
        return fields

    # -- operations ----------------------------------------------------------------------------

    def operation(self, key: str, node: Node, channels: Mapping[str, Channel]) -> Operation:
        action = _get(node, "action")
        if action not in ("send", "receive"):
            raise AsyncApiError(
                [f"{node.where}: operation {key!r}: action must be send or receive, got {action!r}"]
            )
        ref_node = node.child("channel")
        ref = (
            ref_node.value.get("$ref") if ref_node and isinstance(ref_node.value, Mapping) else None
        )
        if ref_node is None or not isinstance(ref, str) or not ref.startswith("#/channels/"):
            where = ref_node.where if ref_node else node.where
            raise AsyncApiError(
                [f"{where}: operation {key!r}: channel must be a $ref to #/channels/NAME"]
            )
        self.source.follow(ref_node)  # a dangling ref is an error with its line
        channel_id = _unescape(ref.split("/")[2])
        if channel_id not in channels:
            raise AsyncApiError([f"{ref_node.where}: operation {key!r}: no channel {channel_id!r}"])
        messages = []
        found = node.child("messages")
        for item in found.entries() if found else []:
            mref = item.value.get("$ref") if isinstance(item.value, Mapping) else None
            if not isinstance(mref, str):
                raise AsyncApiError(
                    [
                        f"{item.where}: operation {key!r}: messages are $refs to "
                        f"#/channels/{channel_id}/messages/NAME"
                    ]
                )
            self.source.follow(item)
            messages.append(_unescape(mref.rsplit("/", 1)[-1]))
        return Operation(key, action, channel_id, tuple(messages), _service(node), node.where)

    def channel_v2(self, key: str, node: Node) -> tuple[Channel, dict[str, Operation]]:
        messages: list[Message] = []
        operations: dict[str, Operation] = {}
        for verb, action in (("subscribe", "send"), ("publish", "receive")):
            op = self.node(node.child(verb))
            if op is None:
                continue
            ids = []
            message = self.node(op.child("message"))
            variants = message.child("oneOf") if message else None
            for raw in variants.entries() if variants else ([message] if message else []):
                target = self.source.follow(raw)
                mid = str(
                    _get(target, "messageId")
                    or _get(target, "name")
                    or (
                        str(raw.value["$ref"]).rsplit("/", 1)[-1]
                        if isinstance(raw.value, Mapping) and "$ref" in raw.value
                        else f"{key}.{verb}"
                    )
                )
                if all(m.id != mid for m in messages):
                    messages.append(self.message(mid, raw))
                ids.append(mid)
            op_id = str(_get(op, "operationId") or f"{key}.{verb}")
            operations[op_id] = Operation(
                op_id,
                action,  # type: ignore[arg-type]
                key,
                tuple(ids),
                _service(op),
                op.where,
            )
        return self.make_channel(key, key, node, messages), operations


def _get(node: Node | None, key: str) -> Any:
    if node is None or not isinstance(node.value, Mapping):
        return None
    return node.value.get(key)


def _value(node: Node | None) -> Any:
    return None if node is None else node.value


def _service(node: Node) -> str | None:
    found = _get(node, "x-service")
    return str(found) if found else None


def _owned(op: Operation, service: str) -> Operation:
    return Operation(op.id, op.action, op.channel, op.messages, service, op.where)


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")
