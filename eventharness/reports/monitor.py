"""Synthetic monitoring: what one round of ``eventharness watch`` found, and the Prometheus
metrics the rounds add up to.

    rounds = WatchRound.of(3, outcomes, duration_s=2.1)
    metrics = WatchMetrics()
    metrics.observe(rounds)
    server = metrics.serve(9477)          # /metrics on 127.0.0.1:9477 (0: a free port)
    ...
    server.close()

Metrics (a registry of their own, never the process-wide default one):

======================================================= ========= ============================
name                                                    type      labels
======================================================= ========= ============================
``eventharness_watch_rounds_total``                     counter   ``result`` passed | failed
``eventharness_watch_scenario_runs_total``              counter   ``scenario``, ``status``
``eventharness_watch_failures_total``                   counter   ``scenario``, ``kind``
``eventharness_watch_scenario_duration_seconds``        histogram ``scenario``
``eventharness_watch_hop_latency_seconds``              histogram ``source``, ``target``
``eventharness_watch_scenario_passing``                 gauge     ``scenario`` (1 or 0, last)
``eventharness_watch_last_round_timestamp_seconds``     gauge     (Unix time a round ended)
``eventharness_watch_alerts_total``                     counter   ``reason`` failure | flaky |
                                                                  recovered | undelivered
======================================================= ========= ============================

Hops are those of the JSON report (:mod:`eventharness.reports.hops`): per pair of channels, the
time from an event to the one it caused. ``prometheus-client`` is the ``monitor`` extra.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eventharness.files.runner import Outcome
from eventharness.model.channels import redact
from eventharness.model.errors import MissingDependency
from eventharness.reports.hops import Hop, hops_of

__all__ = ["MetricsServer", "ScenarioRun", "WatchMetrics", "WatchRound"]

#: Hop latency buckets (seconds): a broker hop is milliseconds, a slow service seconds.
HOP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Scenario duration buckets (seconds).
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


@dataclass(frozen=True, slots=True)
class ScenarioRun:
    """One scenario's run in a round: its status, failure kinds, first failure line, hops."""

    name: str
    status: str  # passed | failed | error
    duration_s: float
    kinds: tuple[str, ...] = ()
    first_failure: str = ""  # "step: message" (first line, passwords of URLs hidden)
    hops: tuple[Hop, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @classmethod
    def of(cls, outcome: Outcome) -> ScenarioRun:
        failures = outcome.failures
        first = ""
        if failures:
            line = (failures[0].message.strip().splitlines() or [""])[0]
            first = redact(f"{failures[0].step}: {line}" if failures[0].step else line)
        kinds = tuple(dict.fromkeys(f.kind for f in failures))
        return cls(
            outcome.file.name,
            outcome.status,
            outcome.result.duration_s,
            kinds,
            first,
            tuple(_hops(outcome)),
        )


def _hops(outcome: Outcome) -> list[Hop]:
    """The hops of the outcome's timeline, as the JSON report computes them but with the
    events' times unrounded (the report keeps milliseconds; an in-memory hop takes less)."""
    result = outcome.result
    events = result.to_dict()["events"]
    for entry, event in zip(events, result.events, strict=True):
        entry["note"] = event.note
        entry["t"] = result.t(event)
    return hops_of(events)


@dataclass(frozen=True, slots=True)
class WatchRound:
    """One round: its number, the runs of its scenarios, its wall time."""

    number: int
    runs: tuple[ScenarioRun, ...]
    duration_s: float
    ended_at: float = field(default_factory=time.time)

    @classmethod
    def of(cls, number: int, outcomes: Sequence[Outcome], duration_s: float) -> WatchRound:
        return cls(number, tuple(ScenarioRun.of(o) for o in outcomes), duration_s)

    @property
    def failing(self) -> tuple[ScenarioRun, ...]:
        return tuple(run for run in self.runs if not run.passed)

    @property
    def passed(self) -> bool:
        return not self.failing

    def line(self) -> str:
        """The round's progress line: ``round 3: 4 passed, 1 failed (2.1s) — name [kind]``."""
        failing = self.failing
        text = f"round {self.number}: {len(self.runs) - len(failing)} passed"
        text += f", {len(failing)} failed" if failing else ""
        text += f" ({self.duration_s:.1f}s)"
        if failing:
            text += " — " + ", ".join(
                f"{r.name} [{', '.join(r.kinds) or r.status}]" for r in failing
            )
        return text


class WatchMetrics:
    """The Prometheus metrics of a watch, in a registry of their own."""

    def __init__(self) -> None:
        try:
            import prometheus_client as prom
        except ImportError as exc:
            raise MissingDependency("watch metrics", "prometheus-client", "monitor") from exc
        self.registry = prom.CollectorRegistry()
        r = self.registry
        self.rounds = prom.Counter(
            "eventharness_watch_rounds", "Rounds run, by result.", ["result"], registry=r
        )
        self.runs = prom.Counter(
            "eventharness_watch_scenario_runs",
            "Scenario runs, by scenario and status (passed, failed, error).",
            ["scenario", "status"],
            registry=r,
        )
        self.failures = prom.Counter(
            "eventharness_watch_failures",
            "Scenario failures, by scenario and kind (timeout, schema, error, ...).",
            ["scenario", "kind"],
            registry=r,
        )
        self.duration = prom.Histogram(
            "eventharness_watch_scenario_duration_seconds",
            "How long a scenario run took.",
            ["scenario"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.hops = prom.Histogram(
            "eventharness_watch_hop_latency_seconds",
            "Time from an event on one channel to the event it caused on the next.",
            ["source", "target"],
            buckets=HOP_BUCKETS,
            registry=r,
        )
        self.passing = prom.Gauge(
            "eventharness_watch_scenario_passing",
            "1 when the scenario passed in the last round, else 0.",
            ["scenario"],
            registry=r,
        )
        self.last_round = prom.Gauge(
            "eventharness_watch_last_round_timestamp_seconds",
            "When the last round ended (Unix time).",
            registry=r,
        )
        self.alerts = prom.Counter(
            "eventharness_watch_alerts",
            "Webhook alerts, by reason (failure, flaky, recovered; undelivered: not sent).",
            ["reason"],
            registry=r,
        )
        for result in ("passed", "failed"):
            self.rounds.labels(result=result)

    def observe(self, found: WatchRound) -> None:
        """Add one finished round."""
        self.rounds.labels(result="passed" if found.passed else "failed").inc()
        for run in found.runs:
            self.runs.labels(scenario=run.name, status=run.status).inc()
            for kind in run.kinds:
                self.failures.labels(scenario=run.name, kind=kind).inc()
            self.duration.labels(scenario=run.name).observe(run.duration_s)
            self.passing.labels(scenario=run.name).set(1 if run.passed else 0)
            for hop in run.hops:
                self.hops.labels(source=hop.source, target=hop.target).observe(hop.latency_s)
        self.last_round.set(found.ended_at)

    def alerted(self, reasons: Sequence[str], delivered: bool) -> None:
        for reason in reasons:
            self.alerts.labels(reason=reason).inc()
        if not delivered:
            self.alerts.labels(reason="undelivered").inc()

    def text(self) -> str:
        """The exposition text, as ``/metrics`` serves it."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry).decode()

    def serve(self, port: int, host: str = "127.0.0.1") -> MetricsServer:
        """Serve ``/metrics`` on ``host:port`` (0: a free port) from a daemon thread. A port
        that is taken raises ``OSError`` here, before anything else starts."""
        from prometheus_client import start_http_server

        server, thread = start_http_server(port, addr=host, registry=self.registry)
        return MetricsServer(server, thread)


class MetricsServer:
    """The running ``/metrics`` endpoint; :meth:`close` stops it (idempotent)."""

    def __init__(self, server: Any, thread: Any) -> None:
        self._server = server
        self._thread = thread
        self.host = str(server.server_address[0])
        self.port = int(server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        server.shutdown()
        server.server_close()
        self._thread.join(timeout=5)
