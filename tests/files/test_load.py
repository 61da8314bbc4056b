"""The open workload: arrivals on schedule (ramp, then a constant rate), late starts counted
and never skipped, latency measured from the due time, an early stop."""

from __future__ import annotations

import asyncio
import itertools
import math
import time

import pytest

from eventharness.files.load import Flow, Plan, open_workload


def test_constant_rate_arrivals_are_evenly_spaced() -> None:
    plan = Plan(rate=50, duration=2)
    offsets = list(plan.arrivals())
    assert len(offsets) == plan.expected == 100
    assert offsets[0] == 0
    assert all(math.isclose(b - a, 0.02) for a, b in itertools.pairwise(offsets))


def test_the_ramp_grows_the_rate_linearly_then_holds_it() -> None:
    plan = Plan(rate=100, duration=3, ramp=1)
    offsets = list(plan.arrivals())
    during = [t for t in offsets if t < 1]
    after = [t for t in offsets if t >= 1]
    assert len(during) == 50  # the area under the ramp: rate * ramp / 2
    assert len(after) == 200  # then 100/s for 2 s
    gaps = [b - a for a, b in itertools.pairwise(during)]
    assert gaps == sorted(gaps, reverse=True)  # ever closer together while the rate grows
    assert math.isclose(after[1] - after[0], 0.01)


@pytest.mark.parametrize(
    ("rate", "duration", "ramp", "word"),
    [(0, 1, 0, "rate"), (-1, 1, 0, "rate"), (1, 0, 0, "duration"), (1, 1, 2, "ramp")],
)
def test_a_plan_that_cannot_run_says_what_is_wrong(
    rate: float, duration: float, ramp: float, word: str
) -> None:
    with pytest.raises(ValueError, match=word):
        Plan(rate=rate, duration=duration, ramp=ramp)


async def test_flows_start_on_schedule_even_when_earlier_ones_have_not_finished() -> None:
    plan = Plan(rate=100, duration=0.3)
    release = asyncio.Event()
    in_flight: list[int] = []
    most = 0

    async def flow(index: int) -> int:
        nonlocal most
        in_flight.append(index)
        most = max(most, len(in_flight))
        if len(in_flight) == plan.expected:
            release.set()  # the last arrival started while none had finished
        await release.wait()
        in_flight.remove(index)
        return index

    done: list[Flow[int]] = []
    workload = await open_workload(plan, flow, done.append)
    assert workload.started == workload.due == 30
    assert most == 30  # an open model: every flow was in flight at once
    assert sorted(f.result for f in done) == list(range(30))


async def test_a_stalled_generator_counts_late_starts_and_their_latency() -> None:
    plan = Plan(rate=100, duration=0.2, late_after=0.005)

    async def flow(index: int) -> int:
        if index == 5:
            time.sleep(0.05)  # blocks the loop: the next arrivals start late  # noqa: ASYNC251
        return index

    done: list[Flow[int]] = []
    workload = await open_workload(plan, flow, done.append)
    assert workload.started == 20  # nothing skipped
    assert workload.late >= 3  # 6, 7, 8, 9 were due while the loop was blocked
    late = [f for f in done if f.lag > 0.005]
    assert late and all(f.latency >= f.lag for f in late)  # measured from the due time


async def test_a_stop_ends_the_schedule_and_lets_started_flows_finish() -> None:
    plan = Plan(rate=50, duration=10)
    stop = asyncio.Event()
    done: list[Flow[int]] = []

    async def flow(index: int) -> int:
        if index == 4:
            stop.set()
        await asyncio.sleep(0.01)
        return index

    workload = await open_workload(plan, flow, done.append, stop=stop)
    assert workload.stopped and workload.started == 5
    assert sorted(f.result for f in done) == [0, 1, 2, 3, 4]
