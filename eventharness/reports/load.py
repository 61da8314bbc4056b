"""The load report: what ``eventharness load`` measured, its SLOs, and exact merging.

Latencies are kept in HDR histograms (PyPI ``hdrhistogram``: 1 µs to 1 h, 3 significant
digits), one for the end-to-end latency of a flow (from its due time: late starts included),
one for the start lag, one per hop (``kafka:orders → kafka:payments``, read off each flow's
timeline as the JSON report reads hops). The JSON form carries the percentiles a reader wants
and the encoded histograms, so the reports of N load processes merge **exactly**: histograms
are added, never percentiles averaged (``eventharness report merge``)::

    {"kind": "load", "scenario", "plan": {"rate", "duration_s", "ramp_s", "processes"},
     "summary": {"flows", "passed", "failed", "errors", "late", "error_rate",
                 "achieved_rate", "duration_s", "stopped"},
     "latency_ms": {"p50", "p90", "p99", "p99.9", "max", "mean"}, "start_lag_ms": {...},
     "hops": {"A → B": {"count", "p50", ...}}, "failures": {"timeout": 3},
     "slos": [{"slo", "actual", "ok"}], "histograms": {"latency", "start_lag", "hops": {}}}

SLOs (``--slo``): ``p99<500ms``, ``p99.9<=1s``, ``max<2s``, ``mean<100ms``, ``errors<0.1%``,
``errors<=3`` (a count), ``late<1%``, ``rate>=195/s``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from eventharness.engine.templates import parse_duration
from eventharness.files.load import Flow, Workload
from eventharness.files.outcome import Outcome
from eventharness.reports.hops import hops_of

__all__ = ["PERCENTILES", "Latencies", "LoadStats", "Slo", "merge_load", "parse_slo"]

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 3_600_000_000, 3


class Latencies:
    """An HDR histogram of durations, recorded in seconds, kept in microseconds."""

    def __init__(self, histogram: HdrHistogram | None = None) -> None:
        self.histogram = histogram or HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)

    def record(self, seconds: float) -> None:
        micros = min(_HIGHEST_US, max(_LOWEST_US, round(seconds * 1_000_000)))
        self.histogram.record_value(micros)

    def add(self, other: Latencies) -> None:
        self.histogram.add(other.histogram)

    @property
    def count(self) -> int:
        return int(self.histogram.get_total_count())

    def at(self, percentile: float) -> float:
        """The value at ``percentile`` (0 to 100), in milliseconds; 0.0 when empty."""
        if self.count == 0:
            return 0.0
        return float(self.histogram.get_value_at_percentile(percentile)) / 1000

    def summary(self) -> dict[str, float]:
        """p50/p90/p99/p99.9, max and mean, in milliseconds."""
        found = {_label(p): round(self.at(p), 3) for p in PERCENTILES}
        found["max"] = round(self.histogram.get_max_value() / 1000 if self.count else 0.0, 3)
        found["mean"] = round(self.histogram.get_mean_value() / 1000 if self.count else 0.0, 3)
        return found

    def encode(self) -> str:
        return str(self.histogram.encode().decode("ascii"))

    @classmethod
    def decode(cls, text: str) -> Latencies:
        return cls(HdrHistogram.decode(text.encode("ascii")))


def _label(percentile: float) -> str:
    return f"p{percentile:g}"


@dataclass
class LoadStats:
    """The figures of one load run (or of several, merged)."""

    scenario: str
    rate: float
    duration_s: float
    ramp_s: float = 0.0
    processes: int = 1
    flows: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    late: int = 0
    achieved_rate: float = 0.0
    elapsed_s: float = 0.0
    stopped: bool = False
    kinds: Counter[str] = field(default_factory=Counter)
    latency: Latencies = field(default_factory=Latencies)
    start_lag: Latencies = field(default_factory=Latencies)
    hops: dict[str, Latencies] = field(default_factory=dict)

    def record(self, flow: Flow[Outcome]) -> None:
        """One finished flow: its outcome, latency, start lag and hops."""
        outcome = flow.result
        self.flows += 1
        status = outcome.status
        if status in ("passed", "xfailed"):
            self.passed += 1
        elif status == "error":
            self.errors += 1
        else:
            self.failed += 1
        self.kinds.update(f.kind for f in outcome.failures)
        self.latency.record(flow.latency)
        self.start_lag.record(flow.lag)
        for hop in hops_of(outcome.to_dict()["events"]):
            self.hops.setdefault(f"{hop.source} → {hop.target}", Latencies()).record(hop.latency_s)

    def finish(self, workload: Workload) -> None:
        self.late = workload.late
        self.achieved_rate = workload.achieved_rate
        self.elapsed_s = workload.elapsed
        self.stopped = workload.stopped

    @property
    def not_passed(self) -> int:
        return self.failed + self.errors

    @property
    def error_rate(self) -> float:
        return self.not_passed / self.flows if self.flows else 0.0

    def to_dict(self, slos: Sequence[Slo] = ()) -> dict[str, Any]:
        return {
            "kind": "load",
            "scenario": self.scenario,
            "plan": {
                "rate": self.rate,
                "duration_s": self.duration_s,
                "ramp_s": self.ramp_s,
                "processes": self.processes,
            },
            "summary": {
                "flows": self.flows,
                "passed": self.passed,
                "failed": self.failed,
                "errors": self.errors,
                "late": self.late,
                "error_rate": round(self.error_rate, 6),
                "achieved_rate": round(self.achieved_rate, 3),
                "duration_s": round(self.elapsed_s, 3),
                "stopped": self.stopped,
            },
            "latency_ms": self.latency.summary(),
            "start_lag_ms": self.start_lag.summary(),
            "hops": {
                name: {"count": hist.count, **hist.summary()}
                for name, hist in sorted(self.hops.items())
            },
            "failures": dict(sorted(self.kinds.items())),
            "slos": [
                {"slo": slo.text, "actual": slo.actual(self), "ok": slo.holds(self)} for slo in slos
            ],
            "histograms": {
                "latency": self.latency.encode(),
                "start_lag": self.start_lag.encode(),
                "hops": {name: hist.encode() for name, hist in sorted(self.hops.items())},
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadStats:
        """A load report read back (``KeyError``/``ValueError`` when it is not one)."""
        if data.get("kind") != "load":
            raise ValueError('not a load report (no "kind": "load")')
        plan, summary, histograms = data["plan"], data["summary"], data["histograms"]
        return cls(
            scenario=str(data["scenario"]),
            rate=float(plan["rate"]),
            duration_s=float(plan["duration_s"]),
            ramp_s=float(plan.get("ramp_s", 0.0)),
            processes=int(plan.get("processes", 1)),
            flows=int(summary["flows"]),
            passed=int(summary["passed"]),
            failed=int(summary["failed"]),
            errors=int(summary["errors"]),
            late=int(summary["late"]),
            achieved_rate=float(summary["achieved_rate"]),
            elapsed_s=float(summary["duration_s"]),
            stopped=bool(summary.get("stopped", False)),
            kinds=Counter({str(k): int(v) for k, v in data.get("failures", {}).items()}),
            latency=Latencies.decode(histograms["latency"]),
            start_lag=Latencies.decode(histograms["start_lag"]),
            hops={str(k): Latencies.decode(v) for k, v in histograms.get("hops", {}).items()},
        )


def merge_load(reports: Sequence[LoadStats]) -> LoadStats:
    """The load reports of processes that ran side by side, as one: counts and rates add,
    histograms are added (exact percentiles of all the samples)."""
    if not reports:
        raise ValueError("no load report to merge")
    names = sorted({r.scenario for r in reports})
    merged = LoadStats(
        scenario=names[0] if len(names) == 1 else " + ".join(names),
        rate=sum(r.rate for r in reports),
        duration_s=max(r.duration_s for r in reports),
        ramp_s=max(r.ramp_s for r in reports),
        processes=sum(r.processes for r in reports),
    )
    for report in reports:
        merged.flows += report.flows
        merged.passed += report.passed
        merged.failed += report.failed
        merged.errors += report.errors
        merged.late += report.late
        merged.achieved_rate += report.achieved_rate
        merged.elapsed_s = max(merged.elapsed_s, report.elapsed_s)
        merged.stopped = merged.stopped or report.stopped
        merged.kinds.update(report.kinds)
        merged.latency.add(report.latency)
        merged.start_lag.add(report.start_lag)
        for name, hist in report.hops.items():
            merged.hops.setdefault(name, Latencies()).add(hist)
    return merged


_SLO = re.compile(
    r"^\s*(?P<metric>p\d+(?:\.\d+)?|max|mean|errors|late|rate)\s*"
    r"(?P<op><=|>=|<|>)\s*(?P<value>[0-9.]+)\s*(?P<unit>%|/s|[a-zµ]*)\s*$"
)
_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True, slots=True)
class Slo:
    """One ``--slo``: a metric, a comparison and a bound (milliseconds for latencies, a
    fraction or a count for ``errors``/``late``, flows per second for ``rate``)."""

    text: str
    metric: str
    op: str
    bound: float
    fraction: bool = False

    def value(self, stats: LoadStats) -> float:
        if self.metric == "rate":
            return stats.achieved_rate
        if self.metric in ("errors", "late"):
            count = stats.not_passed if self.metric == "errors" else stats.late
            return count / stats.flows if self.fraction and stats.flows else float(count)
        if self.metric == "max":
            return stats.latency.summary()["max"]
        if self.metric == "mean":
            return stats.latency.summary()["mean"]
        return stats.latency.at(float(self.metric[1:]))

    def holds(self, stats: LoadStats) -> bool:
        return bool(_OPS[self.op](self.value(stats), self.bound))

    def actual(self, stats: LoadStats) -> str:
        value = self.value(stats)
        if self.metric == "rate":
            return f"{value:.1f}/s"
        if self.metric in ("errors", "late"):
            return f"{value * 100:.3g}%" if self.fraction else f"{value:g}"
        return f"{value:.1f}ms"


def parse_slo(text: str) -> Slo:
    """``p99<500ms`` → an :class:`Slo`; ``ValueError`` with what is accepted otherwise."""
    found = _SLO.match(text)
    if found is None:
        raise ValueError(
            f"--slo {text!r}: not an SLO; write METRIC OP VALUE, e.g. 'p99<500ms', "
            "'max<2s', 'errors<0.1%', 'errors<=3', 'late<1%', 'rate>=195/s'"
        )
    metric, op, value, unit = found["metric"], found["op"], found["value"], found["unit"]
    number = float(value)
    if metric.startswith("p") and not 0 < float(metric[1:]) <= 100:
        raise ValueError(f"--slo {text!r}: a percentile is between p0 and p100")
    if metric in ("errors", "late"):
        if unit not in ("", "%"):
            raise ValueError(f"--slo {text!r}: {metric} is a count or a percentage (e.g. 0.1%)")
        return Slo(text, metric, op, number / 100 if unit == "%" else number, unit == "%")
    if metric == "rate":
        if unit not in ("", "/s"):
            raise ValueError(f"--slo {text!r}: rate is in flows per second, e.g. 'rate>=195/s'")
        return Slo(text, metric, op, number)
    if not unit:
        raise ValueError(f"--slo {text!r}: give the unit of {value}, e.g. {value}ms or {value}s")
    try:
        seconds = parse_duration(f"{value}{unit}")
    except ValueError as exc:
        raise ValueError(f"--slo {text!r}: {exc}") from None
    if not math.isfinite(seconds):
        raise ValueError(f"--slo {text!r}: the bound must be finite")
    return Slo(text, metric, op, seconds * 1000)
