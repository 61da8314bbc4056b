"""Tracing: OpenTelemetry spans of scenarios, and the spans the system under test sends.

Below the engine, above the transports. :mod:`~eventharness.tracing.base` is what the engine
uses (no OpenTelemetry import); :mod:`~eventharness.tracing.spans` makes the spans with
``opentelemetry-sdk`` (the ``[otel]`` extra), imported only when tracing is on.
"""

from eventharness.tracing.base import (
    ENDPOINT_ENV,
    NO_SPAN,
    PublishSpan,
    ScenarioTrace,
    SpanSource,
    StepSpan,
    Tracing,
    make_tracing,
    messaging_system,
    resolve_endpoint,
)

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
