"""How a scenario recognises its own events.

Looked up, in order (DESIGN §2): the ``correlation-id`` header, the ``correlation_id`` header
(FastStream's, on Kafka and RabbitMQ), the AMQP ``correlation_id`` property, extra header names
a profile configures, a configured payload field (default ``correlation_id``), the trace id of a W3C
``traceparent`` header. Systems that propagate nothing can still be tested: a per-channel rule
names where the correlation value lives on that channel — a header (``headers.x-order``), a
payload path (``value.order_id``) or the message key (``key``) — and a scenario registers the
business key it chose (the order id it published) as one of its correlation values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventharness.model.errors import ConfigError
from eventharness.model.events import (
    CORRELATION_HEADER,
    CORRELATION_ID_HEADER,
    Event,
    is_missing,
    lookup,
    trace_id_of,
)

__all__ = [
    "DEFAULT_PAYLOAD_FIELD",
    "Correlation",
    "check_rule",
    "header_correlation",
    "rule_value",
]

DEFAULT_PAYLOAD_FIELD = "correlation_id"


@dataclass(frozen=True, slots=True)
class Correlation:
    """Correlation settings: the payload field, rules per channel (``"kafka:payments"``), and
    extra header names that carry a correlation id (``X-Correlation-ID``,
    ``NServiceBus.CorrelationId``, ``ce_correlationid``...), read after the built-in ones."""

    payload_field: str = DEFAULT_PAYLOAD_FIELD
    rules: Mapping[str, str] = field(default_factory=dict)
    headers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for channel, rule in self.rules.items():
            check_rule(rule, where=f"correlation rule for {channel!r}")

    def candidates(self, event: Event) -> list[str]:
        """Every correlation value the event carries, most specific first."""
        found: list[str] = []
        rule = self.rules.get(event.channel)
        if rule is not None:
            _add(found, rule_value(event, rule))
        _add(found, event.correlation_id)
        for name in self.headers:
            _add(found, event.headers.get(name))
        if isinstance(event.value, Mapping):
            _add(found, event.value.get(self.payload_field))
        _add(found, trace_id_of(event.traceparent))
        return found

    def payload_correlation(self, value: Any) -> str | None:
        if isinstance(value, Mapping):
            found = value.get(self.payload_field)
            return None if found is None else str(found)
        return None


def check_rule(rule: str, *, where: str) -> None:
    head = rule.partition(".")[0]
    if head not in ("key", "headers", "value") or (head != "key" and "." not in rule):
        raise ConfigError(
            f"{where}: {rule!r} is not a correlation rule; use 'key', "
            "'headers.<name>' or 'value.<path>' (e.g. 'value.order_id')"
        )


def rule_value(event: Event, rule: str) -> str | None:
    found = lookup(event, rule, None)
    if found is None or is_missing(found) or isinstance(found, Mapping | list):
        return None
    return str(found)


def header_correlation(headers: Mapping[str, str], properties: Mapping[str, str]) -> str | None:
    return (
        headers.get(CORRELATION_HEADER)
        or headers.get(CORRELATION_ID_HEADER)
        or properties.get("correlation_id")
        or None
    )


def _add(found: list[str], value: Any) -> None:
    if value is None or value == "":
        return
    text = value if isinstance(value, str) else str(value)
    if text not in found:
        found.append(text)
