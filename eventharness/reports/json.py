"""The JSON report (``--report-json FILE``). Field names are a public interface (DESIGN §7)::

    {"summary": {"passed": 3, "xfailed": 0, "failed": 1, "errors": 0, "duration_s": 4.2},
     "scenarios": [{"name", "file", "status", "duration_s", "correlation_id",
                    "failures": [{"kind", "step", "message"}],
                    "events": [{"t", "direction", "channel", "type", "correlation_id", "key"}]}]}

``status`` is ``passed``, ``failed`` or ``error``. A scenario that declares ``xfail`` also
carries ``"xfail": {"kind", "outcome"}``; one that failed as expected counts as ``xfailed``, not
``passed``. When a run is interrupted (Ctrl-C, exit 130) the report is still written: each
scenario that did not finish (running, or not yet started) is an ``error`` with one failure
``{"kind": "error", "step": "", "message": "interrupted by Ctrl-C"}`` and no events — a status
every reader of this report already knows, counted in ``summary.errors``.

Fields added since (readers of the fields above need no change): ``run`` — ``commit`` (from
``EVENTHARNESS_COMMIT``, ``GITHUB_SHA``, ``CI_COMMIT_SHA`` or ``git rev-parse HEAD``; ``null``
outside a repository), ``started_at`` and ``finished_at`` (UTC, ISO 8601); per scenario
``started_at``, ``hops`` (``[{"from", "to", "latency_s"}]``, :mod:`eventharness.reports.hops`);
per failure ``details`` (the nearest misses and field diffs, one line each); per event
``note`` (what a fault or a stub did to it) and ``decode_error``, ``null`` when none; per
scenario ``teardown`` (failed teardown actions, ``[{"kind", "step", "message"}]``, only when one
failed: they do not change ``status``); ``cleanup`` — ``{"removed": [{"broker", "kind",
"name"}], "not_removed": [{"broker", "kind", "name", "reason"}]}``, what the run created named
with its run id (docs/data-lifecycle.md), when it ran its own environment on brokers that
outlive it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventharness.files.outcome import Outcome
from eventharness.reports.counts import count_outcomes
from eventharness.reports.hops import hops_of

__all__ = ["commit_of", "json_report", "write_json"]

_COMMIT_VARIABLES = ("EVENTHARNESS_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA")


def json_report(outcomes: Sequence[Outcome], duration_s: float) -> dict[str, Any]:
    now = time.time()
    return {
        "summary": {**count_outcomes(outcomes), "duration_s": round(duration_s, 3)},
        "run": {
            "commit": commit_of(),
            "started_at": _iso(now - duration_s),
            "finished_at": _iso(now),
        },
        "scenarios": [_scenario(o, now, time.monotonic()) for o in outcomes],
    }


def _scenario(outcome: Outcome, wall: float, monotonic: float) -> dict[str, Any]:
    data = outcome.to_dict()
    result = outcome.result
    data["started_at"] = _iso(wall - (monotonic - result.started)) if result.started else None
    for entry, failure in zip(data["failures"], outcome.failures, strict=True):
        entry["details"] = list(failure.details)
    for entry, event in zip(data["events"], result.events, strict=True):
        entry["note"] = event.note
        entry["decode_error"] = event.decode_error
    data["hops"] = [hop.to_dict() for hop in hops_of(data["events"])]
    return data


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def commit_of(folder: str | Path | None = None) -> str | None:
    """The commit being tested: a CI variable, else ``git rev-parse HEAD``; ``None`` if none."""
    for name in _COMMIT_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def write_json(
    path: str | Path,
    outcomes: Sequence[Outcome],
    duration_s: float,
    cleanup: Mapping[str, Any] | None = None,
) -> None:
    """``cleanup``: what the run removed at its end and what it could not (``"cleanup"``)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    report = json_report(outcomes, duration_s)
    if cleanup is not None:
        report["cleanup"] = dict(cleanup)
    text = json.dumps(report, indent=2, default=str)
    target.write_text(text + "\n", encoding="utf-8")
