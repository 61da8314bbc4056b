"""The integration map: which service talks to which, over what, how fast.

    graph = build_map(doc=load_document("asyncapi.yaml"), recordings=[Recording.load(p)])
    graph.channels["kafka:payments"].publishers    # {"payments"}
    graph.hops[("kafka:orders", "kafka:payments")].p50
    graph.risks(covered={"kafka:orders"})          # what a reviewer should look at

Declared (an AsyncAPI document: its operations say who sends and who receives on each
channel) and observed (recordings: counts per channel and message, and hops) are merged.
A hop is a cause → effect pair of one flow: events sharing a correlation id, each event caused
by the latest earlier event of its flow on another channel (as the run reports' hops are read,
:mod:`eventharness.reports.hops`, here from recordings); its latency is the time between them.
Where the document says which service receives the cause's channel and sends on the effect's,
the hop is that service's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from eventharness.asyncapi.binding import broker_names
from eventharness.asyncapi.conformance import find_channel
from eventharness.asyncapi.coverage import covered as is_covered
from eventharness.asyncapi.model import Document
from eventharness.engine.recordfile import Recorded, Recording
from eventharness.model.durations import percentile

__all__ = ["ChannelNode", "Hop", "Map", "build_map", "percentile"]


@dataclass
class ChannelNode:
    name: str  # the eventharness channel (kafka:orders), or a template (kafka:lamps.{id}.on)
    id: str | None = None  # the document's channel id
    publishers: set[str] = field(default_factory=set)
    consumers: set[str] = field(default_factory=set)
    messages: dict[str, int] = field(default_factory=dict)  # message → events seen (0: declared)
    events: int = 0


@dataclass
class Hop:
    source: str
    target: str
    latencies: list[float] = field(default_factory=list)
    services: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p95(self) -> float:
        return percentile(self.latencies, 95)


@dataclass
class Map:
    services: set[str] = field(default_factory=set)
    channels: dict[str, ChannelNode] = field(default_factory=dict)
    hops: dict[tuple[str, str], Hop] = field(default_factory=dict)
    flows: list[tuple[str, str, str]] = field(default_factory=list)  # (sender, channel, receiver)

    def channel(self, name: str) -> ChannelNode:
        if name not in self.channels:
            self.channels[name] = ChannelNode(name)
        return self.channels[name]

    def risks(self, covered: Iterable[str] | None = None) -> list[str]:
        """What a reviewer wants to know, one line each, in a stable order."""
        out: list[str] = []
        for name, node in sorted(self.channels.items()):
            if node.id is None:  # observed only: who consumes is not seen in a recording
                continue
            if not node.consumers and (node.publishers or node.events):
                out.append(f"no consumer: {name} (sent by {_names(node.publishers)})")
            if not node.publishers and not node.events and node.consumers:
                out.append(f"no producer: {name} (consumed by {_names(node.consumers)})")
            if len(node.consumers) > 1:
                out.append(f"fan-out: {name} → {', '.join(sorted(node.consumers))}")
            if len(node.publishers) > 1:
                out.append(f"fan-in: {', '.join(sorted(node.publishers))} → {name}")
        out.extend(f"cycle: {' → '.join(c)}" for c in self.cycles())
        if covered is not None:
            seen = set(covered)
            for sender, channel, receiver in self.flows:
                if not is_covered(channel, seen):
                    out.append(f"not covered by a scenario: {sender} → {channel} → {receiver}")
        return out

    def cycles(self) -> list[list[str]]:
        """Services that reach themselves through channels (each cycle once, from its least
        name)."""
        edges: dict[str, set[str]] = {}
        for node in self.channels.values():
            for sender in node.publishers:
                edges.setdefault(sender, set()).update(node.consumers)
        found: list[list[str]] = []

        def walk(start: str, here: str, path: list[str]) -> None:
            for nxt in sorted(edges.get(here, ())):
                if nxt == start:
                    found.append([*path, start])
                elif nxt > start and nxt not in path:
                    walk(start, nxt, [*path, nxt])

        for start in sorted(edges):
            walk(start, start, [start])
        return found


def _names(names: set[str]) -> str:
    return ", ".join(sorted(names)) or "someone not in the document"


def build_map(
    *,
    doc: Document | None = None,
    recordings: Iterable[Recording] = (),
    brokers: Mapping[str, str] | None = None,
) -> Map:
    graph = Map()
    kinds = broker_names(brokers or {})
    names: dict[str, str] = {}  # document channel id → map channel name
    if doc is not None:
        _declared(graph, doc, kinds, names)
    for recording in recordings:
        _observed(graph, recording, doc, kinds, names)
    return graph


def _declared(graph: Map, doc: Document, kinds: Mapping[str, str], names: dict[str, str]) -> None:
    for channel in doc.channels.values():
        name = channel.target(kinds.get(channel.protocol, channel.protocol))
        names[channel.id] = name
        node = graph.channel(name)
        node.id = channel.id
        for message in channel.messages:
            node.messages.setdefault(message.name, 0)
    for op in doc.operations.values():
        service = op.service or doc.title
        graph.services.add(service)
        node = graph.channels[names[op.channel]]
        (node.publishers if op.action == "send" else node.consumers).add(service)
    for send, receive in doc.flows():
        graph.flows.append(
            (send.service or doc.title, names[send.channel], receive.service or doc.title)
        )


def _observed(
    graph: Map,
    recording: Recording,
    doc: Document | None,
    kinds: Mapping[str, str],
    names: Mapping[str, str],
) -> None:
    flows: dict[str, list[tuple[Recorded, str]]] = {}
    for item in recording:
        declared = find_channel(doc, item.channel, kinds) if doc is not None else None
        name = names[declared.id] if declared is not None else item.channel
        node = graph.channel(name)
        node.events += 1
        kind = item.value.get("type") if isinstance(item.value, Mapping) else None
        kind = str(kind) if kind is not None else item.headers.get("event-type", "message")
        node.messages[kind] = node.messages.get(kind, 0) + 1
        cid = _correlation(item)
        if cid is not None:
            flows.setdefault(cid, []).append((item, name))
    for events in flows.values():
        for i, (item, name) in enumerate(events):
            cause = next((c for c in reversed(events[:i]) if c[1] != name), None)
            if cause is None:
                continue
            hop = graph.hops.setdefault((cause[1], name), Hop(cause[1], name))
            hop.latencies.append(max(0.0, item.t - cause[0].t))
    for (source, target), hop in graph.hops.items():
        consumers = graph.channels[source].consumers
        hop.services = consumers & graph.channels[target].publishers


def _correlation(item: Recorded) -> str | None:
    for name in ("correlation-id", "correlation_id"):
        if item.headers.get(name):
            return item.headers[name]
    if item.properties.get("correlation_id"):
        return item.properties["correlation_id"]
    if isinstance(item.value, Mapping) and item.value.get("correlation_id") is not None:
        return str(item.value["correlation_id"])
    return None
