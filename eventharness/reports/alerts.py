"""Alerts of ``eventharness watch``: which rounds deserve a message, the message, and its
delivery to a webhook (Slack-compatible JSON, ``{"text": ...}``).

At most one message per round, and exactly one for a round in which a scenario failed:

* **failure** — the round had failing scenarios: each with its kinds and first failure line;
* **flaky** — a scenario alternated pass/fail ``flaky_after`` times in a row (said once per
  streak; a failing round carries it in its one message, a passing round sends it alone);
* **recovered** — a scenario that failed in the previous round passes again (unless it is in a
  flaky streak already reported: that would be a message every other round). Off with
  ``recovered=False``.

No message holds a password: every URL in a failure line is redacted, and the webhook's own
address is only ever shown as ``scheme://host``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from eventharness.env.watch_settings import check_webhook
from eventharness.model.channels import redact
from eventharness.reports.monitor import WatchRound

__all__ = ["Alert", "AlertPolicy", "check_webhook", "send_webhook", "webhook_origin"]

_MAX_LISTED = 20  # failing scenarios named in one message; the rest are counted


@dataclass(frozen=True, slots=True)
class Alert:
    """One message: its text and why it was sent (``failure``, ``flaky``, ``recovered``)."""

    text: str
    reasons: tuple[str, ...]

    def payload(self) -> bytes:
        return json.dumps({"text": self.text}).encode()


@dataclass
class AlertPolicy:
    """Decides, round after round, the one message (or none) each round sends."""

    flaky_after: int | None = None
    recovered: bool = True
    label: str = "eventharness watch"
    _last: dict[str, bool] = field(default_factory=dict)  # scenario → passed last round
    _flips: dict[str, int] = field(default_factory=dict)  # alternations in a row
    _failing_since: dict[str, int] = field(default_factory=dict)

    def after(self, found: WatchRound) -> Alert | None:
        flaky: list[str] = []
        back: list[str] = []
        for run in found.runs:
            before = self._last.get(run.name)
            streak = self._flips.get(run.name, 0)
            flips = streak + 1 if before is not None and before != run.passed else 0
            self._flips[run.name] = flips
            self._last[run.name] = run.passed
            if self.flaky_after is not None and flips == self.flaky_after:
                flaky.append(run.name)
            if not run.passed:
                self._failing_since.setdefault(run.name, found.number)
                continue
            since = self._failing_since.pop(run.name, None)
            in_flaky_streak = self.flaky_after is not None and flips >= self.flaky_after
            if since is not None and self.recovered and not in_flaky_streak:
                back.append(f"{run.name} (failing since round {since})")
        return self._message(found, flaky, back)

    def _message(self, found: WatchRound, flaky: list[str], back: list[str]) -> Alert | None:
        lines: list[str] = []
        reasons: list[str] = []
        failing = found.failing
        if failing:
            reasons.append("failure")
            lines.append(
                f"{self.label}: round {found.number} failed — {len(failing)} of "
                f"{len(found.runs)} scenarios"
            )
            for run in failing[:_MAX_LISTED]:
                kinds = ", ".join(run.kinds) or run.status
                lines.append(f"• {run.name} [{kinds}] {run.first_failure}".rstrip())
            if len(failing) > _MAX_LISTED:
                lines.append(f"… and {len(failing) - _MAX_LISTED} more")
        if flaky:
            reasons.append("flaky")
            head = f"{self.label}: " if not failing else ""
            for name in flaky:
                lines.append(
                    f"{head}flaky: {name} alternated between passing and failing "
                    f"{self.flaky_after} times in a row (round {found.number})"
                )
        if back:
            reasons.append("recovered")
            head = f"{self.label}: round {found.number}: " if not failing and not flaky else ""
            lines.append(f"{head}passing again: {', '.join(back)}")
        if not lines:
            return None
        return Alert(redact("\n".join(lines)), tuple(reasons))


def webhook_origin(url: str) -> str:
    """``scheme://host[:port]`` of a webhook: its path (Slack's holds the secret) and any
    password stay out of output."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def send_webhook(url: str, alert: Alert, timeout: float = 10.0) -> str | None:
    """POST the alert as ``{"text": ...}``; None when the webhook answered 2xx, else why not
    (without the URL's path or password). Blocking: call it from a thread."""
    request = urllib.request.Request(
        url,
        data=alert.payload(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read()
    except urllib.error.HTTPError as exc:
        return f"{webhook_origin(url)} answered {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{webhook_origin(url)}: {reason}"
    return None
