"""What the engine sees of tracing: small protocols, the endpoint setting, a lazy factory.

    tracing = make_tracing("http://127.0.0.1:4318")   # None when no endpoint: tracing off
    trace = tracing.scenario("order ships", correlation_id)
    span = trace.publish(channel, system)              # its traceparent goes on the message
    span.end(event)                                    # message id, key, partition, offset
    trace.collected(event, system)                     # a CONSUMER span per collected event
    probe = tracing.span("probe GET ...", trace.traceparent)   # probes, stubs, faults:
    probe.end(error="did not hold", attributes={...})          # a span under any traceparent
    trace.end(passed=False, failures=("timeout: ...",))

Off (no endpoint, no exporter) is ``None``: the engine tests ``is not None`` and nothing of
OpenTelemetry is imported. :mod:`eventharness.tracing.spans` (``opentelemetry-sdk``, the
``[otel]`` extra) is imported only by :func:`make_tracing` when tracing is on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from eventharness.model.channels import Channel
from eventharness.model.errors import MissingDependency, UsageError
from eventharness.model.events import Event
from eventharness.model.spans import Span

__all__ = [
    "ENDPOINT_ENV",
    "NO_SPAN",
    "PublishSpan",
    "ScenarioTrace",
    "SpanSource",
    "StepSpan",
    "Tracing",
    "make_tracing",
    "messaging_system",
    "resolve_endpoint",
]

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"

_SYSTEMS = {"kafka": "kafka", "kafkas": "kafka", "amqp": "rabbitmq", "amqps": "rabbitmq"}


class PublishSpan(Protocol):
    """A PRODUCER span, open while its message is being sent."""

    @property
    def traceparent(self) -> str:
        """The W3C traceparent of this span: the one stamped on the message."""

    def end(self, event: Event, error: str | None = None) -> None:
        """Close it with what the broker said (``event.position``) or the error."""


class StepSpan(Protocol):
    """A span of something the harness does besides publishing: a probe, a stub's answer, a
    fault applied to a message."""

    @property
    def traceparent(self) -> str:
        """Its W3C traceparent (what a stub's replies carry)."""

    def end(
        self, *, error: str | None = None, attributes: Mapping[str, Any] | None = None
    ) -> None: ...


class _NoSpan:
    """The span of tracing turned off: it does nothing."""

    traceparent = ""

    def end(self, *, error: str | None = None, attributes: Mapping[str, Any] | None = None) -> None:
        return None


#: What code that may trace holds when tracing is off.
NO_SPAN: StepSpan = _NoSpan()


class ScenarioTrace(Protocol):
    """The spans of one scenario: a root span, children for its publishes and events."""

    @property
    def traceparent(self) -> str:
        """The root span's traceparent (the parent of its probes' spans)."""

    def publish(self, channel: Channel, system: str) -> PublishSpan: ...

    def collected(self, event: Event, system: str) -> None: ...

    def end(self, *, passed: bool, failures: Sequence[str] = ()) -> None: ...


class Tracing(Protocol):
    """Tracing turned on: makes scenario traces, exports their spans."""

    def scenario(self, name: str, correlation_id: str) -> ScenarioTrace: ...

    def span(
        self,
        name: str,
        parent: str | None,
        *,
        kind: str = "internal",
        attributes: Mapping[str, Any] | None = None,
    ) -> StepSpan:
        """A span, open until ``end``, child of the span ``parent`` (a W3C traceparent) names;
        a trace of its own when it names none. ``kind``: internal, consumer, producer."""

    def shutdown(self) -> None:
        """Export what is left and stop (idempotent)."""


class SpanSource(Protocol):
    """Spans the system under test sent (:class:`~eventharness.tracing.receiver.SpanReceiver`
    is one), by trace id; listeners are called (from any thread) when more arrive."""

    def spans(self, trace_id: str) -> list[Span]: ...

    def add_listener(self, callback: Callable[[], None]) -> None: ...

    def remove_listener(self, callback: Callable[[], None]) -> None: ...


def messaging_system(scheme: str | None) -> str:
    """The ``messaging.system`` of a broker URL scheme: kafka, rabbitmq, or the scheme."""
    if not scheme:
        return "unknown"
    return _SYSTEMS.get(scheme.lower(), scheme.lower())


def resolve_endpoint(
    option: str | None, profile: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The OTLP endpoint: ``--otlp``, else the profile's ``otlp``, else
    ``OTEL_EXPORTER_OTLP_ENDPOINT``; None (tracing off) when none is set. An empty option
    (``--otlp ''``) turns tracing off even when the others are set."""
    env = os.environ if environ is None else environ
    sources = (("--otlp", option), ("otlp", profile), (ENDPOINT_ENV, env.get(ENDPOINT_ENV)))
    for where, value in sources:
        if value is None:
            continue
        value = value.strip()
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise UsageError(
                f"{where}: OTLP endpoint {value!r} is not an http(s) URL; "
                "give the collector's OTLP/HTTP base URL, e.g. http://127.0.0.1:4318"
            )
        return value
    return None


def make_tracing(endpoint: str | None = None, *, exporter: Any = None) -> Tracing | None:
    """Tracing exporting over OTLP/HTTP to ``endpoint`` (a base URL), or to ``exporter`` (any
    OpenTelemetry ``SpanExporter``, exported synchronously); None when neither is given."""
    if endpoint is None and exporter is None:
        return None
    try:
        from eventharness.tracing.spans import OtelTracing
    except ImportError as exc:  # pragma: no cover - the [otel] extra is part of [dev]
        raise MissingDependency("tracing", "opentelemetry-sdk", "otel") from exc
    return OtelTracing(endpoint, exporter=exporter)
