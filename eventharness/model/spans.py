"""A span the system under test sent: a small frozen record, the timeline's twin of an event.

Spans arrive over OTLP/HTTP (:mod:`eventharness.tracing.receiver`); those whose trace id is a
scenario's correlation id are that scenario's (``ScenarioResult.spans``). Times are Unix
nanoseconds as OpenTelemetry gives them; ids are lowercase hex.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Span", "SpanStatus"]

SpanStatus = Literal["unset", "ok", "error"]


@dataclass(frozen=True, slots=True)
class Span:
    """One span: its ids, service (``service.name`` of its resource), name, kind, attributes,
    status and times."""

    trace_id: str
    span_id: str
    name: str
    service: str = ""
    parent_span_id: str | None = None
    kind: str = "internal"  # internal | server | client | producer | consumer
    attributes: dict[str, Any] = field(default_factory=dict)
    status: SpanStatus = "unset"
    status_message: str = ""
    start_ns: int = 0
    end_ns: int = 0

    @property
    def duration_s(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e9

    def get(self, path: str, default: Any = None) -> Any:
        """``name``, ``service``, ``kind``, ``status`` or ``attributes.KEY`` (KEY may hold
        dots: ``attributes.messaging.system``) — what span matchers read."""
        if path.startswith("attributes."):
            return self.attributes.get(path[len("attributes.") :], default)
        if path in ("name", "service", "kind", "status", "status_message", "duration_s"):
            return getattr(self, path)
        return default

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "service": self.service,
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "status_message": self.status_message,
            "start_unix_ns": self.start_ns,
            "duration_s": round(self.duration_s, 6),
            "attributes": dict(self.attributes),
        }

    def summary(self) -> str:
        return f"{self.service or '-'}: {self.name} ({self.kind})"
