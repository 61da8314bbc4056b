"""Checks declared on a scenario beside its expectations: order, per-key order, consistency
(declared checks, and ``eventually`` probes), and checks on its trace; and the waits a
scenario body uses to reach them (``first_event``, ``wait``).

:class:`Checks` is a part of :class:`~eventharness.engine.scenario.Scenario` (its base): what
is declared here is judged with everything else by :mod:`~eventharness.engine.verdict`, once
the expectations are judged; trace checks (:mod:`~eventharness.engine.traces`) wait for the
services' spans first (:meth:`Checks._await_traces`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from eventharness.engine.expectations import Expectation, InOrder, KeyOrder
from eventharness.engine.port import Port
from eventharness.engine.probes import Probe, probe_failure
from eventharness.engine.traced import Traced, polled
from eventharness.engine.traces import Propagation, SpanExpectation, hold, trace_failures
from eventharness.engine.verdict import Check, equal, step_reference
from eventharness.engine.waiting import Wakeup
from eventharness.model.durations import check_seconds, optional_seconds
from eventharness.model.errors import UsageError
from eventharness.model.events import Event, monotonic
from eventharness.model.result import Failure

__all__ = ["Checks"]


class Checks:
    """Order and consistency checks of a scenario, and its waits for what it checks (the
    scenario's own state, declared here)."""

    __slots__ = ()

    name: str
    harness: Port
    correlation_id: str
    default_within: float
    events: list[Event]
    _failures: list[Failure]
    _traces: list[Propagation | SpanExpectation]
    _expectations: list[Expectation]
    _orders: list[InOrder | KeyOrder]
    _checks: list[tuple[str, Check]]
    _trace: Traced | None
    _changed: Wakeup

    def step(self, ref: Expectation | str) -> Expectation:
        raise NotImplementedError  # the scenario's

    async def armed(self) -> None:
        raise NotImplementedError  # the scenario's

    @property
    def started(self) -> float:
        raise NotImplementedError  # the scenario's

    async def first_event(
        self, step: Expectation | str, *, within: float | None = None
    ) -> Event | None:
        """Wait (event-driven) for the first matched event of ``step``; None when ``within``
        seconds (default: until the end of the step's window) pass first."""
        exp = self.step(step)
        optional_seconds("within", within)
        await self.armed()
        if within is None:
            deadline = exp.deadline(self.started)
            end = deadline if deadline is not None else monotonic() + exp.within
        else:
            end = monotonic() + within
        await self._changed.until(lambda: exp.first is not None, end)
        return exp.first

    async def wait(self, seconds: float) -> None:
        """Let time pass on purpose (a scenario step, not a synchronisation device)."""
        seconds = check_seconds("seconds", seconds, allow_zero=True)
        await self.armed()
        await asyncio.sleep(seconds)

    async def eventually(
        self,
        probe: Probe,
        *,
        within: float | None = None,
        interval: float = 0.1,
        name: str | None = None,
    ) -> bool:
        """Poll ``probe`` until it holds or ``within`` passes. False (and a ``consistency``
        failure carrying the probe's last answer) when it never held."""
        window = check_seconds("within", within) if within is not None else self.default_within
        check_seconds("interval", interval)
        await self.armed()
        outcome, attempts = await polled(self._trace, probe, name, within=window, interval=interval)
        if not outcome.ok:
            self._failures.append(probe_failure(probe, name, window, attempts, outcome))
        return outcome.ok

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

    # -- trace checks ----------------------------------------------------------------------

    def _span_source(self, what: str) -> Any:
        receiver = self.harness.receiver
        if receiver is None:
            raise UsageError(
                f"{what} in scenario {self.name!r} needs the spans of the services: give the "
                "harness a span receiver (Harness(receiver=SpanReceiver())); `eventharness "
                "run` starts one when a file checks traces, at ${otlp}"
            )
        return receiver

    def expect_propagated(self, step: Expectation | str | None = None) -> None:
        """``trace: propagated``: every collected event (of ``step``, or of the scenario)
        carries the scenario's trace id and a parent span of the flow; else a ``trace``
        failure naming the first channel, and the service, where the context was lost."""
        self._span_source("trace: propagated")
        self._traces.append(Propagation(self.step(step) if step is not None else None))

    def expect_span(
        self,
        *,
        service: str | None = None,
        name: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        status: str | None = None,
        min_duration: float | None = None,
        max_duration: float | None = None,
        step_name: str | None = None,
    ) -> SpanExpectation:
        """A span of the scenario's trace (sent by a service) with this ``service``, span
        ``name``, ``attributes`` (matched like ``match=``: ``{"http.status_code": {"lt":
        500}}``), ``status`` (unset, ok, error) and duration bounds, in seconds."""
        self._span_source("expect_span")
        check = SpanExpectation(
            step_name or f"span {service or '*'}/{name or '*'}",
            service=service,
            span=name,
            attributes=dict(attributes or {}),
            status=status,
            min_duration=optional_seconds("min_duration", min_duration, allow_zero=True),
            max_duration=optional_seconds("max_duration", max_duration),
        )
        self._traces.append(check)
        return check

    async def _await_traces(self) -> None:
        """Wait, woken by the receiver, until every trace check holds or the window passes."""
        if not self._traces:
            return
        receiver = self._span_source("a trace check")
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def wake() -> None:
            loop.call_soon_threadsafe(woken.set)

        receiver.add_listener(wake)
        try:
            end = monotonic() + self.default_within
            while not hold(self._traces, self.correlation_id, self.events, self._spans()):
                left = end - monotonic()
                if left <= 0:
                    break
                woken.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), left)
        finally:
            receiver.remove_listener(wake)

    def _spans(self) -> list[Any]:
        receiver = self.harness.receiver
        return receiver.spans(self.correlation_id) if receiver is not None else []

    def _trace_checks(self) -> None:
        if self._traces:
            self._failures.extend(
                trace_failures(
                    self._traces,
                    self.correlation_id,
                    self.events,
                    self._spans(),
                    self.default_within,
                    self._find_span,
                )
            )

    def _find_span(self, trace_id: str, span_id: str) -> Any:
        receiver = self.harness.receiver
        found = receiver.spans(trace_id) if receiver is not None else []
        return next((span for span in found if span.span_id == span_id), None)
