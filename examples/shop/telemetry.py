"""Tracing in the shop: OpenTelemetry's instrumentations of aiokafka and aio-pika, exported over
OTLP/HTTP.

The instrumentations (``opentelemetry-instrumentation-aiokafka``, ``-aio-pika``) make a PRODUCER
span for every message sent and put its context on the message (the W3C ``traceparent``
header), and a CONSUMER span for every message received, continuing the context it carries.
An AMQP consumer's callback runs inside its receive span. A Kafka record is handled inside
:func:`handling`: a ``process`` span, child of the record's receive span (remembered by the
instrumentation's consume hook), current while the handler runs — so what the handler sends
continues the trace.

Spans go to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the SDK's OTLP/HTTP exporter, in batches every
``OTEL_BSP_SCHEDULE_DELAY`` ms) when it is set; without it the context still propagates and
nothing is exported. ``handling(record, drop=True)`` handles a record in a fresh context, a
trace of its own: what a service does when its consumer loop loses the context
(``FAULT=drop-trace`` in shipping, ``FAULT=lost-correlation`` in payments).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"

_received: ContextVar[Context | None] = ContextVar("shop_received", default=None)
_provider: TracerProvider | None = None


async def _remember(span: trace.Span, record: Any, args: Any, kwargs: Any) -> None:
    """The aiokafka instrumentation's consume hook: keep the receive span's context for the
    handler of the record (the consuming task's context: it runs in the same task)."""
    _received.set(trace.set_span_in_context(span))


def start(service: str) -> TracerProvider:
    """Instrument aiokafka and aio-pika; export spans of ``service`` when an endpoint is set."""
    from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor

    global _provider
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if os.environ.get(ENDPOINT, "").strip():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    AIOKafkaInstrumentor().instrument(tracer_provider=provider, async_consume_hook=_remember)
    AioPikaInstrumentor().instrument(tracer_provider=provider)
    _provider = provider
    return provider


def stop() -> None:
    """Export what is left (at the service's exit)."""
    if _provider is not None:
        _provider.shutdown()


@contextlib.contextmanager
def handling(record: Any, *, drop: bool = False) -> Iterator[trace.Span]:
    """The ``process`` span of a consumed Kafka record, current while it is handled."""
    parent = Context() if drop else _received.get()
    tracer = trace.get_tracer("examples.shop")
    with tracer.start_as_current_span(
        f"{record.topic} process",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": record.topic,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
        },
    ) as span:
        yield span


def current() -> Context:
    """The trace context now (to finish, later, work begun in it: :func:`resumed`)."""
    return otel_context.get_current()


@contextlib.contextmanager
def resumed(context: Context) -> Iterator[None]:
    """Run the block in ``context`` (what :func:`current` returned)."""
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)
