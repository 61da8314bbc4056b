"""The correlation id, carried from the message consumed to the ones produced.

The Kafka header ``correlation-id`` is copied by hand: it is the shop's own business header.
The trace context (``traceparent``) is not handled here: OpenTelemetry's instrumentations of
aiokafka and aio-pika inject and extract it (:mod:`examples.shop.telemetry`).
"""

from __future__ import annotations

from collections.abc import Iterable

CORRELATION_ID = "correlation-id"


def context_from_kafka(headers: Iterable[tuple[str, bytes]] | None) -> dict[str, str]:
    """The correlation id of a consumed Kafka record (empty when it carries none)."""
    found: dict[str, str] = {}
    for name, value in headers or ():
        if name.lower() == CORRELATION_ID and value is not None:
            found[CORRELATION_ID] = value.decode("utf-8", "replace")
    return found


def kafka_headers(context: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(name, value.encode()) for name, value in context.items()]
