"""Durations: seconds as floats, and the one check every duration argument goes through.

    check_seconds("within", 5)                      → 5.0
    check_seconds("within", float("nan"))           UsageError: within must be a positive,
                                                    finite number of seconds, got nan
    check_seconds("settle", 0, allow_zero=True)     → 0.0

NaN and infinity are refused everywhere: a deadline of ``now + nan`` never comes, so a window,
poll interval or delay that is not finite would hang a run instead of failing it.
:func:`eventharness.engine.templates.parse_duration` (``"250ms"``, ``"5s"``) applies the same
rule, through :func:`seconds_problem`, to durations written in files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from eventharness.model.errors import UsageError

__all__ = ["check_seconds", "optional_seconds", "percentile", "seconds_problem"]


def seconds_problem(seconds: float, *, allow_zero: bool = False) -> str | None:
    """``"not finite"``, ``"not positive"`` (or ``"negative"`` with ``allow_zero``), or None."""
    if not math.isfinite(seconds):
        return "not finite"
    if seconds < 0 or (seconds == 0 and not allow_zero):
        return "negative" if allow_zero else "not positive"
    return None


def check_seconds(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """``value`` as seconds; UsageError naming ``name`` and ``value`` unless it is a finite
    number, positive (or ≥ 0 with ``allow_zero``)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or seconds_problem(float(value), allow_zero=allow_zero) is not None
    ):
        sign = "non-negative" if allow_zero else "positive"
        raise UsageError(f"{name} must be a {sign}, finite number of seconds, got {value!r}")
    return float(value)


def optional_seconds(name: str, value: Any, *, allow_zero: bool = False) -> float | None:
    """:func:`check_seconds`, with None (unset: take the default) let through."""
    return None if value is None else check_seconds(name, value, allow_zero=allow_zero)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100) of ``values``, linearly interpolated; 0.0 when empty.
    One definition, so a map, a run report and the history agree on the same latencies."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
