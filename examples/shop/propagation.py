"""Correlation id and W3C trace context, carried from the message consumed to the ones produced.

Kafka headers ``correlation-id`` and ``traceparent`` are copied. The trace id of ``traceparent``
is kept and a new parent (span) id is minted, as an instrumented service would do when it starts
a child span: every message of one flow shares the trace id. A malformed ``traceparent`` is
copied as it came.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

CORRELATION_ID = "correlation-id"
TRACEPARENT = "traceparent"

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def context_from_kafka(headers: Iterable[tuple[str, bytes]] | None) -> dict[str, str]:
    """The propagated headers of a consumed Kafka record, decoded."""
    found: dict[str, str] = {}
    for name, value in headers or ():
        if name.lower() in (CORRELATION_ID, TRACEPARENT) and value is not None:
            found[name.lower()] = value.decode("utf-8", "replace")
    return found


def child_context(context: dict[str, str]) -> dict[str, str]:
    """The headers to put on a message produced while handling one with ``context``."""
    out = dict(context)
    parent = context.get(TRACEPARENT)
    if parent is not None:
        match = _TRACEPARENT.match(parent.strip().lower())
        if match:
            version, trace_id, _, flags = match.groups()
            out[TRACEPARENT] = f"{version}-{trace_id}-{secrets.token_hex(8)}-{flags}"
    return out


def kafka_headers(context: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(name, value.encode()) for name, value in context.items()]
