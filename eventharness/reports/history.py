"""Run history: what a folder of JSON reports says over time.

:func:`load_history` reads every ``*.json`` report of a folder (``--report-json`` files, one
per run) in the order the runs started; :func:`analyse` turns them into a :class:`History`:

* per scenario its outcome in each run and its pass rate;
* **flaky** scenarios: both passed and not passed on the *same commit* (``run.commit``; runs
  with no commit say nothing about flakiness — a change of code may explain a change of
  outcome);
* per hop (channel pair, ``hops`` of the report) its p50/p95 latency over all runs, and its
  p50 in each run (the trend);
* per run the count of each failure kind.

The dashboard (:mod:`eventharness.reports.dashboard`) renders it.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventharness.model.errors import UsageError
from eventharness.reports.hops import percentile

__all__ = ["History", "HopStats", "Run", "ScenarioHistory", "analyse", "load_history"]


@dataclass(frozen=True, slots=True)
class Run:
    """One JSON report: where it came from, when the run started, the commit it tested."""

    source: str
    started_at: str
    commit: str | None
    report: Mapping[str, Any]


@dataclass
class ScenarioHistory:
    name: str
    file: str | None
    outcomes: list[str | None] = field(default_factory=list)  # per run; None: not in it
    flaky_commits: list[str] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return sum(1 for o in self.outcomes if o is not None)

    @property
    def pass_rate(self) -> float:
        return sum(1 for o in self.outcomes if o == "passed") / self.runs if self.runs else 0.0

    @property
    def flaky(self) -> bool:
        return bool(self.flaky_commits)


@dataclass
class HopStats:
    source: str
    target: str
    latencies: list[float] = field(default_factory=list)
    per_run: list[float | None] = field(default_factory=list)  # the p50 of each run

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p95(self) -> float:
        return percentile(self.latencies, 95)

    @property
    def trend(self) -> float | None:
        """The p50 of the latest third of the runs over that of the first third (1.0 is flat;
        ``None`` with fewer than three runs that made this hop)."""
        seen = [v for v in self.per_run if v is not None]
        if len(seen) < 3:
            return None
        third = max(1, len(seen) // 3)
        first, last = percentile(seen[:third], 50), percentile(seen[-third:], 50)
        return last / first if first > 0 else None


@dataclass
class History:
    runs: list[Run]
    scenarios: list[ScenarioHistory]
    hops: list[HopStats]
    kinds: list[Counter[str]]  # per run: failure kind → count

    @property
    def flaky(self) -> list[ScenarioHistory]:
        return [s for s in self.scenarios if s.flaky]


def load_history(folder: str | Path) -> list[Run]:
    """The runs of the JSON reports in ``folder`` (not its subfolders), oldest first."""
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder; give the folder of the JSON reports")
    runs = [_load(path) for path in sorted(root.glob("*.json"))]
    if not runs:
        raise UsageError(
            f"{root}: no JSON reports (*.json) in it; write them with "
            "`eventharness run --report-json DIR/NAME.json`"
        )
    return sorted(runs, key=lambda run: (run.started_at, run.source))


def _load(path: Path) -> Run:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not JSON ({exc.msg}); remove it or fix it") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a text file ({exc.reason}); remove it") from exc
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        raise UsageError(
            f'{path}: not an eventharness JSON report (no "scenarios" list); '
            "keep only --report-json files in the folder"
        )
    stamped = data.get("run")
    run: dict[str, Any] = stamped if isinstance(stamped, dict) else {}
    started = str(run.get("started_at") or "")
    if not started:  # a report from before runs were stamped: order by the file's time
        stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        started = stamp.isoformat(timespec="milliseconds")
    commit = run.get("commit")
    return Run(str(path), started, str(commit) if commit else None, data)


def analyse(runs: Sequence[Run]) -> History:
    scenarios: dict[tuple[str, str | None], ScenarioHistory] = {}
    hops: dict[tuple[str, str], HopStats] = {}
    kinds: list[Counter[str]] = []
    by_commit: dict[tuple[str, str | None], dict[str, set[str]]] = defaultdict(dict)
    for index, run in enumerate(runs):
        counted: Counter[str] = Counter()
        run_hops: dict[tuple[str, str], list[float]] = defaultdict(list)
        for item in run.report["scenarios"]:
            key = (str(item.get("name")), item.get("file"))
            history = scenarios.setdefault(key, ScenarioHistory(*key))
            history.outcomes.extend([None] * (index - len(history.outcomes)))
            status = str(item.get("status"))
            if len(history.outcomes) == index:
                history.outcomes.append(status)
            if run.commit is not None:
                by_commit[key].setdefault(run.commit, set()).add(status)
            counted.update(str(f.get("kind")) for f in item.get("failures", []))
            for hop in item.get("hops", []):
                run_hops[(str(hop["from"]), str(hop["to"]))].append(float(hop["latency_s"]))
        kinds.append(counted)
        for pair, values in run_hops.items():
            stats = hops.setdefault(pair, HopStats(*pair))
            stats.latencies.extend(values)
            stats.per_run.extend([None] * (index - len(stats.per_run)))
            stats.per_run.append(percentile(values, 50))
    for key, history in scenarios.items():
        history.outcomes.extend([None] * (len(runs) - len(history.outcomes)))
        history.flaky_commits = [
            commit
            for commit, statuses in by_commit[key].items()
            if "passed" in statuses and len(statuses) > 1
        ]
    for stats in hops.values():
        stats.per_run.extend([None] * (len(runs) - len(stats.per_run)))
    ordered = sorted(scenarios.values(), key=lambda s: (not s.flaky, s.pass_rate, s.name))
    slowest = sorted(hops.values(), key=lambda h: -h.p95)
    return History(list(runs), ordered, slowest, kinds)
