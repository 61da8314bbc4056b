"""Load mode: one scenario file run as an **open workload** — flows start at a constant
arrival rate (after an optional linear ramp), whether or not earlier flows have finished, like
k6's ``constant-arrival-rate`` executor.

    plan = Plan(rate=200, duration=60, ramp=10)
    summary = await open_workload(plan, flow, on_flow)

Arrival ``i`` is due at the offset ``t_i`` where the arrivals due so far reach ``i``: during the
ramp the rate grows linearly from 0 (``N(t) = rate·t²/2·ramp``), then it is constant. A flow
that starts more than ``late_after`` after its due time is counted **late** — never skipped —
and every latency is measured from the due time, not from the actual start, so a generator
that falls behind shows in the latencies instead of hiding them (no coordinated omission).

Each flow is a fresh scenario (its own correlation id) on one shared harness: correlation keeps
thousands of them apart on the same channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from eventharness.engine.harness import Harness
from eventharness.files.model import ScenarioFile
from eventharness.files.outcome import Outcome
from eventharness.files.runner import run_file
from eventharness.model.result import Failure, ScenarioResult

__all__ = ["Flow", "Plan", "Workload", "file_flow", "open_workload"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Plan:
    """``rate`` flows per second for ``duration`` seconds (the ramp included), reached
    linearly over the first ``ramp`` seconds."""

    rate: float
    duration: float
    ramp: float = 0.0
    late_after: float = 0.010

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(
                f"the rate must be a positive number of flows per second, not {self.rate}"
            )
        if not (math.isfinite(self.duration) and self.duration > 0):
            raise ValueError(f"the duration must be positive, not {self.duration}s")
        if not (0 <= self.ramp <= self.duration):
            raise ValueError(
                f"the ramp ({self.ramp}s) must be between 0 and the duration ({self.duration}s)"
            )

    def due(self, index: int) -> float:
        """The offset (seconds from the start) at which arrival ``index`` is due."""
        ramped = self.rate * self.ramp / 2  # arrivals due during the ramp
        if index < ramped:
            return math.sqrt(2 * self.ramp * index / self.rate)
        return self.ramp + (index - ramped) / self.rate

    def arrivals(self) -> Iterator[float]:
        """Every due offset of the plan, in order."""
        index = 0
        while (offset := self.due(index)) < self.duration:
            yield offset
            index += 1

    @property
    def expected(self) -> int:
        """How many flows the plan starts."""
        return sum(1 for _ in self.arrivals())


@dataclass(frozen=True, slots=True)
class Flow(Generic[T]):
    """One arrival: when it was due (offset), how late it started, how long it took from its
    due time to its end (seconds), and what the flow returned."""

    index: int
    due: float
    lag: float
    latency: float
    result: T


@dataclass(frozen=True, slots=True)
class Workload:
    """What the generator did: flows due and started, late starts, and whether it was stopped
    before the end of the plan; ``steady`` flows started after the ramp, the first of them at
    ``first_start`` and the last at ``last_start`` (offsets)."""

    due: int
    started: int
    late: int
    steady: int
    first_start: float
    last_start: float
    elapsed: float
    stopped: bool

    @property
    def achieved_rate(self) -> float:
        """Starts per second after the ramp, between the first and the last of them."""
        window = self.last_start - self.first_start
        return (self.steady - 1) / window if self.steady > 1 and window > 0 else 0.0


async def open_workload(
    plan: Plan,
    flow: Callable[[int], Awaitable[T]],
    on_flow: Callable[[Flow[T]], None],
    *,
    stop: asyncio.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Workload:
    """Start ``flow(i)`` at each due time of ``plan``; ``on_flow`` gets each finished flow.
    Returns when every started flow has finished. ``stop`` ends the schedule early (the flows
    already started finish)."""
    began = clock()
    late = started = steady = 0
    first = last = 0.0
    stopped = False

    async def one(index: int, due: float, lag: float) -> None:
        result = await flow(index)
        on_flow(Flow(index, due, lag, clock() - began - due, result))

    async with asyncio.TaskGroup() as group:
        for index, due in enumerate(plan.arrivals()):
            wait = began + due - clock()
            if wait <= 0:
                await asyncio.sleep(0)  # behind schedule: still let started flows progress
            else:
                if stop is None:
                    await asyncio.sleep(wait)
                else:
                    with contextlib.suppress(TimeoutError):  # the due time came
                        await asyncio.wait_for(stop.wait(), wait)
            if stop is not None and stop.is_set():
                stopped = True
                break
            now = clock() - began
            lag = max(0.0, now - due)
            late += lag > plan.late_after
            started += 1
            if due >= plan.ramp:
                first = now if steady == 0 else first
                last = now
                steady += 1
            group.create_task(one(index, due, lag))
    return Workload(
        due=plan.expected,
        started=started,
        late=late,
        steady=steady,
        first_start=first,
        last_start=last,
        elapsed=clock() - began,
        stopped=stopped,
    )


def file_flow(
    harness: Harness, file: ScenarioFile, variables: Mapping[str, Any] | None = None
) -> Callable[[int], Awaitable[Outcome]]:
    """A flow that runs ``file`` once (a fresh scenario, its own correlation id). It never
    raises: a flow that breaks is an ``error`` outcome, counted like any failure."""

    async def flow(index: int) -> Outcome:
        try:
            return await run_file(harness, file, variables or {})
        except Exception as exc:  # one broken flow must not end the load
            failure = Failure("error", "", f"{type(exc).__name__}: {exc}")
            result = ScenarioResult(file.name, "", "error", file=file.path, failures=[failure])
            return Outcome(file, result)

    return flow
