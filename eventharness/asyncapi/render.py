"""The integration map written out: Mermaid (READMEs, pull requests), Graphviz DOT, JSON and a
terminal tree. Every format is deterministic (sorted), so a committed map can be compared with
the command's output.

Services are boxes, channels are cylinders; an arrow from a service to a channel is a send
(labelled with the messages and the count seen), from a channel to a service a receive. A hop
(cause on one channel → effect on another, same correlation id) is labelled on the send edge
of the service the document says makes it: ``from kafka:orders p50 12ms p95 30ms``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from eventharness.asyncapi.graph import Hop, Map

__all__ = ["FORMATS", "render"]

FORMATS = ("mermaid", "dot", "json", "text")


def render(graph: Map, fmt: str, risks: Iterable[str] = ()) -> str:
    risks = list(risks)
    if fmt == "mermaid":
        return _mermaid(graph)
    if fmt == "dot":
        return _dot(graph)
    if fmt == "json":
        return json.dumps(_data(graph, risks), indent=2, sort_keys=True) + "\n"
    return _text(graph, risks)


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.0f}ms" if ms >= 10 else f"{ms:.1f}ms"


def _hops_into(graph: Map, service: str | None, channel: str) -> list[Hop]:
    return [
        hop
        for (source, target), hop in sorted(graph.hops.items())
        if target == channel and (service is None or service in hop.services or not hop.services)
    ]


def _send_label(graph: Map, service: str | None, channel: str) -> str:
    node = graph.channels[channel]
    parts = []
    seen = sum(node.messages.values())
    if node.messages:
        parts.append(", ".join(sorted(node.messages)))
    if seen:
        parts.append(f"{seen} seen")
    for hop in _hops_into(graph, service, channel):
        parts.append(f"from {hop.source} p50 {_ms(hop.p50)} p95 {_ms(hop.p95)}")
    return " · ".join(parts)


def _ident(prefix: str, name: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _quote(text: str) -> str:
    return text.replace('"', "#quot;")


def _mermaid(graph: Map) -> str:
    lines = ["flowchart LR"]
    for service in sorted(graph.services):
        lines.append(f'  {_ident("s_", service)}["{_quote(service)}"]')
    for name in sorted(graph.channels):
        lines.append(f'  {_ident("c_", name)}[("{_quote(name)}")]')
    for name, node in sorted(graph.channels.items()):
        senders: list[str | None] = [*sorted(node.publishers)] or (
            [None] if graph.hops or node.events else []
        )
        for sender in senders:
            label = _send_label(graph, sender, name)
            edge = f' -->|"{_quote(label)}"|' if label else " -->"
            if sender is not None:
                lines.append(f"  {_ident('s_', sender)}{edge} {_ident('c_', name)}")
            else:
                for hop in _hops_into(graph, None, name):
                    hop_label = f"p50 {_ms(hop.p50)} p95 {_ms(hop.p95)} ({hop.count})"
                    lines.append(
                        f'  {_ident("c_", hop.source)} -.->|"{hop_label}"| {_ident("c_", name)}'
                    )
        for service in sorted(node.consumers):
            lines.append(f"  {_ident('c_', name)} --> {_ident('s_', service)}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot(graph: Map) -> str:
    lines = ["digraph integration {", "  rankdir=LR;", "  node [fontname=Helvetica];"]
    for service in sorted(graph.services):
        lines.append(f"  {_dot_quote('s:' + service)} [label={_dot_quote(service)}, shape=box];")
    for name in sorted(graph.channels):
        lines.append(f"  {_dot_quote('c:' + name)} [label={_dot_quote(name)}, shape=cylinder];")
    for name, node in sorted(graph.channels.items()):
        for service in sorted(node.publishers):
            label = _send_label(graph, service, name)
            lines.append(
                f"  {_dot_quote('s:' + service)} -> {_dot_quote('c:' + name)} "
                f"[label={_dot_quote(label)}];"
            )
        for service in sorted(node.consumers):
            lines.append(f"  {_dot_quote('c:' + name)} -> {_dot_quote('s:' + service)};")
        if not node.publishers:
            for hop in _hops_into(graph, None, name):
                label = f"p50 {_ms(hop.p50)} p95 {_ms(hop.p95)} ({hop.count})"
                lines.append(
                    f"  {_dot_quote('c:' + hop.source)} -> {_dot_quote('c:' + name)} "
                    f"[style=dashed, label={_dot_quote(label)}];"
                )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _data(graph: Map, risks: list[str]) -> dict[str, Any]:
    return {
        "services": sorted(graph.services),
        "channels": [
            {
                "channel": name,
                "id": node.id,
                "publishers": sorted(node.publishers),
                "consumers": sorted(node.consumers),
                "messages": dict(sorted(node.messages.items())),
                "events": node.events,
            }
            for name, node in sorted(graph.channels.items())
        ],
        "hops": [
            {
                "from": hop.source,
                "to": hop.target,
                "services": sorted(hop.services),
                "count": hop.count,
                "p50_s": round(hop.p50, 6),
                "p95_s": round(hop.p95, 6),
            }
            for _, hop in sorted(graph.hops.items())
        ],
        "risks": risks,
    }


def _text(graph: Map, risks: list[str]) -> str:
    lines: list[str] = []
    for service in sorted(graph.services):
        lines.append(service)
        edges = []
        for name, node in sorted(graph.channels.items()):
            if service in node.consumers:
                edges.append(f"receives {name}")
            if service in node.publishers:
                label = _send_label(graph, service, name)
                edges.append(f"sends {name}" + (f" ({label})" if label else ""))
        for i, edge in enumerate(edges):
            lines.append(f"  {'└─' if i == len(edges) - 1 else '├─'} {edge}")
    orphans = [n for n, node in sorted(graph.channels.items()) if not node.publishers]
    hops = [hop for hop in graph.hops.values() if not hop.services]
    if hops or (orphans and not graph.services):
        lines.append("hops (no service known)")
        for hop in sorted(hops, key=lambda h: (h.source, h.target)):
            lines.append(
                f"  {hop.source} → {hop.target}: {hop.count} · p50 {_ms(hop.p50)} "
                f"p95 {_ms(hop.p95)}"
            )
    lines.append("risks" if risks else "risks: none")
    lines.extend(f"  {risk}" for risk in risks)
    return "\n".join(lines) + "\n"
