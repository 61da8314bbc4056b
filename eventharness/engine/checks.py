"""Checks declared on a scenario beside its expectations: order, per-key order, consistency.

:class:`Checks` is a part of :class:`~eventharness.engine.scenario.Scenario` (its base): what
is declared here is judged with everything else by :mod:`~eventharness.engine.verdict`, once
the expectations are judged.
"""

from __future__ import annotations

from typing import Any

from eventharness.engine.expectations import Expectation, InOrder, KeyOrder
from eventharness.engine.verdict import Check, equal, step_reference
from eventharness.model.events import Event

__all__ = ["Checks"]


class Checks:
    """Order and consistency checks of a scenario (the scenario's own state, declared here)."""

    name: str
    events: list[Event]
    _expectations: list[Expectation]
    _orders: list[InOrder | KeyOrder]
    _checks: list[tuple[str, Check]]

    def step(self, ref: Expectation | str) -> Expectation:
        raise NotImplementedError  # the scenario's

    def expect_order(self, *steps: Expectation | str, name: str | None = None) -> None:
        """The first events of ``steps`` must arrive in this order."""
        resolved = [self.step(s) for s in steps]
        self._orders.append(InOrder(name or "order", resolved))

    def expect_key_order(
        self, step: Expectation | str, *, by: str, name: str | None = None
    ) -> None:
        """For each key, events of ``step`` arrive in the order the scenario published their
        causes, compared through ``by`` (a path both carry, e.g. ``value.seq``)."""
        exp = self.step(step)
        self._orders.append(KeyOrder(name or f"{exp.name} per-key order", exp, by, self._published))

    def _published(self) -> list[Event]:
        return [ev for ev in self.events if ev.direction == "out"]

    def check(self, fn: Check, *, name: str | None = None) -> None:
        """A cross-event consistency check, run once expectations are judged.

        ``fn(facts)`` gets :class:`Facts`; ``facts[pay]`` is the first event of step ``pay``.
        Returning false or raising AssertionError fails the scenario with kind
        ``consistency``."""
        self._checks.append((name or str(getattr(fn, "__name__", "check")), fn))

    def check_equal(self, *items: Any, name: str | None = None) -> None:
        """All items agree, once expectations are judged:
        ``s.check_equal(pay.value("amount"), ship["value.amount"], 42)``. A handle's
        ``.value(path)`` / ``[path]`` (or ``"NAME.path"``, NAME a step's name) is read from the
        step's first event; other values are literals. A dotted string naming no step is a
        UsageError (:func:`~eventharness.engine.verdict.step_reference`)."""
        refs = tuple(step_reference(item, self._expectations, self.name) for item in items)
        self._checks.append((name or "equal " + " = ".join(map(str, refs)), equal(refs)))
