"""A profile's ``correlation`` table: the payload field, per-channel rules, extra header names.

[profiles.default.correlation]
payload_field = "correlation_id"
rules = { "kafka:payments" = "value.order_id" }
headers = ["X-Correlation-ID"]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eventharness.engine.correlation import DEFAULT_PAYLOAD_FIELD, check_rule
from eventharness.model.errors import ConfigError

__all__ = ["CorrelationSettings", "correlation_settings"]

CorrelationSettings = tuple[str, dict[str, str], tuple[str, ...]]
"""(payload field, rules by channel, extra header names)."""

KEYS = ("payload_field", "rules", "headers")


def correlation_settings(
    table: Any, where: str, fail: Callable[[str, str], ConfigError]
) -> CorrelationSettings:
    """The settings of ``table`` (the profile's ``correlation``, ``{}`` when absent); ``fail``
    makes the error for a key (``where.correlation.KEY``) and what is wrong with it."""
    here = f"{where}.correlation"
    if not isinstance(table, Mapping):
        raise fail(
            here,
            'must be a table: {payload_field = "correlation_id", rules = {"kafka:payments" = '
            '"value.order_id"}, headers = ["X-Correlation-ID"]}',
        )
    for key in table:
        if key not in KEYS:
            raise fail(f"{here}.{key}", f"unknown key; use {', '.join(KEYS)}")
    rules = table.get("rules", {})
    if not isinstance(rules, Mapping):
        raise fail(f"{here}.rules", "must map channels to rules")
    for channel, rule in rules.items():
        try:
            check_rule(str(rule), where=f"rule for {channel!r}")
        except ConfigError as exc:
            raise fail(f"{here}.rules", str(exc)) from exc
    headers = table.get("headers", [])
    if not isinstance(headers, list) or not all(isinstance(h, str) and h for h in headers):
        raise fail(f"{here}.headers", 'must be a list of header names, e.g. ["X-Correlation-ID"]')
    payload_field = str(table.get("payload_field", DEFAULT_PAYLOAD_FIELD))
    return payload_field, {str(k): str(v) for k, v in rules.items()}, tuple(headers)
