"""Spans with opentelemetry-sdk, named and attributed by the OpenTelemetry messaging
semantic conventions.

* a root span per scenario, ``scenario NAME`` (INTERNAL); its trace id is the scenario's
  correlation id (a 32-hex-digit id; others get a random trace id);
* a PRODUCER span per publish, ``send DESTINATION``: ``messaging.operation.type`` ``send``,
  its context is the ``traceparent`` stamped on the message;
* a CONSUMER span per collected event, ``receive DESTINATION``: operation type ``receive``,
  the child of the span the event's own ``traceparent`` names when it is of this trace (the
  service's), else of the root, linked to the event's context.

* spans of what else a scenario does (:meth:`OtelTracing.span`): ``probe NAME`` under the root
  (attempts, its last answer), ``stub NAME`` (CONSUMER) under the event a stub answers — its
  replies carry its context — and ``fault KIND`` under the message a fault acts on (its note).

Attributes: ``messaging.system`` (``kafka``, ``rabbitmq``), ``messaging.destination.name``,
``messaging.operation.name``/``.type``, ``messaging.message.id``,
``messaging.message.conversation_id`` (the correlation id), ``messaging.kafka.message.key``,
``messaging.destination.partition.id``, ``messaging.kafka.offset``,
``messaging.rabbitmq.destination.routing_key``. Imported only when tracing is on.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from eventharness.model.channels import Channel
from eventharness.model.events import Event

__all__ = ["SERVICE_NAME", "OtelTracing"]

SERVICE_NAME = "eventharness"


def traces_url(endpoint: str) -> str:
    """The traces URL of an OTLP/HTTP base endpoint (``/v1/traces`` appended once)."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


class _Ids(IdGenerator):
    """Random ids, except the next trace id when a scenario asks for its correlation id."""

    def __init__(self) -> None:
        self._random = random.Random()
        self.next_trace_id: int | None = None

    def generate_span_id(self) -> int:
        return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        wanted, self.next_trace_id = self.next_trace_id, None
        return wanted or self._random.getrandbits(128) or 1


def _hex_id(text: str) -> int | None:
    if len(text) != 32:
        return None
    try:
        return int(text, 16) or None
    except ValueError:
        return None


def _parse_traceparent(text: str | None) -> SpanContext | None:
    parts = (text or "").strip().split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        trace_id, span_id = int(parts[1], 16), int(parts[2], 16)
        flags = int(parts[3][:2], 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(flags))


def _destination(channel: Channel, system: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {"messaging.system": system}
    if system == "rabbitmq" and channel.is_route:
        attributes["messaging.destination.name"] = channel.exchange or "amq.default"
        attributes["messaging.rabbitmq.destination.routing_key"] = channel.routing_key
    else:
        attributes["messaging.destination.name"] = channel.address
    attributes["eventharness.channel"] = str(channel)
    return attributes


def _message(event: Event, system: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    if event.message_id:
        attributes["messaging.message.id"] = event.message_id
    if event.correlation_id:
        attributes["messaging.message.conversation_id"] = event.correlation_id
    if event.type:
        attributes["eventharness.event.type"] = event.type
    if len(event.raw):
        attributes["messaging.message.body.size"] = len(event.raw)
    position = event.position
    if system == "kafka":
        if event.key is not None:
            attributes["messaging.kafka.message.key"] = event.key
        if position.partition is not None:
            attributes["messaging.destination.partition.id"] = str(position.partition)
        if position.offset is not None:
            attributes["messaging.kafka.offset"] = position.offset
    return attributes


class _PublishSpan:
    __slots__ = ("_span", "_system", "traceparent")

    def __init__(self, span: trace.Span, system: str) -> None:
        self._span = span
        self._system = system
        ctx = span.get_span_context()
        self.traceparent = f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-01"

    def end(self, event: Event, error: str | None = None) -> None:
        span = self._span
        span.set_attributes(_message(event, self._system))
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()


_KINDS = {
    "internal": SpanKind.INTERNAL,
    "consumer": SpanKind.CONSUMER,
    "producer": SpanKind.PRODUCER,
}


class _StepSpan:
    __slots__ = ("_span", "traceparent")

    def __init__(self, span: trace.Span) -> None:
        self._span = span
        ctx = span.get_span_context()
        self.traceparent = f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-01"

    def end(self, *, error: str | None = None, attributes: Mapping[str, Any] | None = None) -> None:
        span = self._span
        if attributes:
            span.set_attributes(dict(attributes))
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error[:500]))
        span.end()


class _ScenarioTrace:
    def __init__(self, tracing: OtelTracing, name: str, correlation_id: str) -> None:
        self._tracer = tracing.tracer
        tracing.ids.next_trace_id = _hex_id(correlation_id)
        self._root = self._tracer.start_span(
            f"scenario {name}",
            context=Context(),  # never the caller's ambient span: the trace is the scenario's
            kind=SpanKind.INTERNAL,
            attributes={
                "eventharness.scenario": name,
                "eventharness.correlation_id": correlation_id,
            },
        )
        tracing.ids.next_trace_id = None
        self._context = trace.set_span_in_context(self._root, Context())
        root = self._root.get_span_context()
        self.trace_id = root.trace_id
        self.traceparent = f"00-{root.trace_id:032x}-{root.span_id:016x}-01"

    def publish(self, channel: Channel, system: str) -> _PublishSpan:
        attributes = _destination(channel, system)
        attributes["messaging.operation.name"] = "send"
        attributes["messaging.operation.type"] = "send"
        span = self._tracer.start_span(
            f"send {attributes['messaging.destination.name']}",
            context=self._context,
            kind=SpanKind.PRODUCER,
            attributes=attributes,
        )
        return _PublishSpan(span, system)

    def collected(self, event: Event, system: str) -> None:
        from eventharness.model.channels import parse_channel

        attributes = _destination(parse_channel(event.channel), system)
        attributes["messaging.operation.name"] = "receive"
        attributes["messaging.operation.type"] = "receive"
        attributes.update(_message(event, system))
        remote = _parse_traceparent(event.traceparent)
        links: list[Link] = []
        context = self._context
        if remote is not None and remote.trace_id == self.trace_id:
            context = trace.set_span_in_context(trace.NonRecordingSpan(remote), Context())
        elif remote is not None:
            links.append(Link(remote))
        span = self._tracer.start_span(
            f"receive {attributes['messaging.destination.name']}",
            context=context,
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            links=links,
        )
        span.end()

    def end(self, *, passed: bool, failures: Sequence[str] = ()) -> None:
        root = self._root
        if not passed:
            root.set_status(Status(StatusCode.ERROR, "; ".join(failures)[:500] or "failed"))
        root.end()


class OtelTracing:
    """Tracing on: an SDK tracer provider of its own (the process's global one is left alone)
    exporting in batches over OTLP/HTTP, or synchronously to a given exporter."""

    def __init__(self, endpoint: str | None, *, exporter: SpanExporter | None = None) -> None:
        self.ids = _Ids()
        self.endpoint = endpoint
        self.provider = TracerProvider(
            id_generator=self.ids, resource=Resource.create({"service.name": SERVICE_NAME})
        )
        if exporter is not None:
            self.provider.add_span_processor(SimpleSpanProcessor(exporter))
        if endpoint is not None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            otlp = OTLPSpanExporter(endpoint=traces_url(endpoint), timeout=5)
            self.provider.add_span_processor(BatchSpanProcessor(otlp))
        self.tracer = self.provider.get_tracer("eventharness")
        self._closed = False

    def scenario(self, name: str, correlation_id: str) -> _ScenarioTrace:
        return _ScenarioTrace(self, name, correlation_id)

    def span(
        self,
        name: str,
        parent: str | None,
        *,
        kind: str = "internal",
        attributes: Mapping[str, Any] | None = None,
    ) -> _StepSpan:
        remote = _parse_traceparent(parent)
        context = Context()
        if remote is not None:
            context = trace.set_span_in_context(trace.NonRecordingSpan(remote), Context())
        span = self.tracer.start_span(
            name,
            context=context,
            kind=_KINDS.get(kind, SpanKind.INTERNAL),
            attributes=dict(attributes or {}),
        )
        return _StepSpan(span)

    def shutdown(self) -> None:
        if not self._closed:
            self._closed = True
            self.provider.shutdown()
