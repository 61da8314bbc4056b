"""A profile's ``watch`` table: the settings of ``eventharness watch`` (each the twin of an
option; an option given on the command line wins).

[profiles.staging.watch]
every = "60s"                    # --every
metrics_port = 9477              # --metrics-port (0: a free one)
metrics_host = "0.0.0.0"         # --metrics-host
alert_webhook = "https://..."    # --alert-webhook (or $EVENTHARNESS_ALERT_WEBHOOK)
flaky_after = 3                  # --flaky-after
alert_recovered = true           # --alert-recovered / --no-alert-recovered
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from eventharness.engine.templates import parse_duration
from eventharness.model.errors import ConfigError

__all__ = ["DEFAULT_METRICS_PORT", "KEYS", "WatchSettings", "check_webhook", "watch_settings"]

#: Where ``/metrics`` is served unless the profile or ``--metrics-port`` says otherwise.
DEFAULT_METRICS_PORT = 9477

KEYS = ("every", "metrics_port", "metrics_host", "alert_webhook", "flaky_after", "alert_recovered")


@dataclass(frozen=True, slots=True)
class WatchSettings:
    every: float = 60.0
    metrics_port: int = DEFAULT_METRICS_PORT
    metrics_host: str = "127.0.0.1"
    alert_webhook: str | None = None
    flaky_after: int | None = None
    alert_recovered: bool = True


def check_webhook(url: str) -> str | None:
    """Why ``url`` cannot be a webhook (not http(s), no host), or None when it can."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https"):
        return f"is not an http(s) URL (scheme {parts.scheme or 'missing'!r})"
    if not parts.hostname:
        return "names no host"
    return None


def watch_settings(
    table: Any, where: str, fail: Callable[[str, str], ConfigError]
) -> WatchSettings:
    """The settings of ``table`` (the profile's ``watch``, ``{}`` when absent); ``fail`` makes
    the error for a key (``where.watch.KEY``) and what is wrong with it."""
    here = f"{where}.watch"
    if not isinstance(table, Mapping):
        raise fail(here, 'must be a table: {every = "60s", metrics_port = 9477, ...}')
    for key in table:
        if key not in KEYS:
            raise fail(f"{here}.{key}", f"unknown key; use {', '.join(KEYS)}")
    found = WatchSettings()
    every = found.every
    if "every" in table:
        try:
            every = parse_duration(table["every"])
        except ValueError as exc:
            raise fail(f"{here}.every", f"{exc} (a round every this long)") from None
    port = table.get("metrics_port", found.metrics_port)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise fail(f"{here}.metrics_port", f"must be a port 0-65535 (0: a free one), got {port!r}")
    host = table.get("metrics_host", found.metrics_host)
    if not isinstance(host, str) or not host:
        raise fail(f"{here}.metrics_host", f"must be an address such as 0.0.0.0, got {host!r}")
    webhook = table.get("alert_webhook")
    if webhook is not None and (not isinstance(webhook, str) or check_webhook(webhook)):
        problem = check_webhook(webhook) if isinstance(webhook, str) else "is not text"
        raise fail(f"{here}.alert_webhook", f"{problem}; give the http(s) URL of a webhook")
    flaky = table.get("flaky_after")
    if flaky is not None and (isinstance(flaky, bool) or not isinstance(flaky, int) or flaky < 2):
        raise fail(f"{here}.flaky_after", f"must be a whole number ≥ 2, got {flaky!r}")
    recovered = table.get("alert_recovered", True)
    if not isinstance(recovered, bool):
        raise fail(f"{here}.alert_recovered", f"must be true or false, got {recovered!r}")
    return WatchSettings(every, port, host, webhook, flaky, recovered)
