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
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eventharness.files.runner import Outcome
from eventharness.reports.counts import count_outcomes

__all__ = ["json_report", "write_json"]


def json_report(outcomes: Sequence[Outcome], duration_s: float) -> dict[str, Any]:
    return {
        "summary": {**count_outcomes(outcomes), "duration_s": round(duration_s, 3)},
        "scenarios": [o.to_dict() for o in outcomes],
    }


def write_json(path: str | Path, outcomes: Sequence[Outcome], duration_s: float) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(json_report(outcomes, duration_s), indent=2, default=str)
    target.write_text(text + "\n", encoding="utf-8")
