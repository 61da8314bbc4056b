"""Drawing values from a hypothesis strategy outside a hypothesis test, seeded.

    values = draw(strategy, 100, seed=7)      # the same 100 values for the same seed

Hypothesis has no public "give me n values for this seed" call (``strategy.example()`` is
unseeded and warns outside the REPL), so this drives its ``ConjectureData`` directly, one
fresh data object per value, all from one ``random.Random(seed)``. A draw a strategy rejects
(a filter, an ``assume``) is retried; these internals are pinned by the hypothesis version
range in pyproject.toml.
"""

from __future__ import annotations

from random import Random
from typing import Any

from eventharness.model.errors import UsageError

__all__ = ["MAX_RETRIES", "draw"]

#: Rejected draws in a row before a strategy is declared unable to make values.
MAX_RETRIES = 1000


def draw(strategy: Any, n: int, *, seed: int | None = 0) -> list[Any]:
    """``n`` values from ``strategy``; the same list for the same ``seed``."""
    # hypothesis is imported here, not at module import: `import eventharness` stays light
    from hypothesis.control import BuildContext
    from hypothesis.errors import StopTest, UnsatisfiedAssumption
    from hypothesis.internal.conjecture.data import ConjectureData

    random = Random(seed)
    out: list[Any] = []
    rejected = 0
    while len(out) < n:
        data = ConjectureData(random=random)
        try:
            with BuildContext(data, wrapped_test=_no_test):
                out.append(data.draw(strategy))
            rejected = 0
        except (StopTest, UnsatisfiedAssumption):
            rejected += 1
            if rejected > MAX_RETRIES:
                raise UsageError(
                    f"could not draw a value from {strategy!r} in {MAX_RETRIES} tries: "
                    "its constraints (filters, overrides) leave (almost) nothing to draw"
                ) from None
    return out


def _no_test() -> None:  # BuildContext wants the test it belongs to; a draw has none
    return None
