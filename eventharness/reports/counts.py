"""How a run's outcomes are counted, the same in every report."""

from __future__ import annotations

from collections.abc import Sequence

from eventharness.files.outcome import Outcome

__all__ = ["count_outcomes"]


def count_outcomes(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """``passed`` (not counting expected failures), ``xfailed``, ``failed``, ``errors``."""
    xfailed = sum(1 for o in outcomes if o.xfail_outcome == "xfailed")
    statuses = [o.status for o in outcomes]
    return {
        "passed": statuses.count("passed") - xfailed,
        "xfailed": xfailed,
        "failed": statuses.count("failed"),
        "errors": statuses.count("error"),
    }
