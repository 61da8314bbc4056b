"""Routing at scale: per-event routing + matching cost with 10, 1,000 and 10,000 scenarios.

K scenarios are entered on one harness (memory broker), each expecting ``OrderPlaced`` with a
``match`` on ``kafka:orders``. E events are built beforehand with ``event_from_record`` (as the
collector's pump builds them), each carrying the correlation id of one scenario chosen at random
(seeded), so every event is claimed. The timed loop is ``collector.route(event)`` over the E
events: correlation candidates, the route lookup, the scenario's sink, the expectation's channel
check and matcher, and the wake-up flag. The figure is ns per event; the ratio is the cost at
10,000 scenarios over the cost at 10 (target ≤ 1.2). Best of several passes per K.

Baseline, the physical limit of the lookup: a plain ``dict.get`` on the same correlation ids
(K entries, one list each, the event's id appended to its owner's list), timed the same way. A
bigger dict costs more per lookup by itself (caches); the second and third rows hold the
harness's growth against the bare dict's own growth, 10 → 10,000 (target ≤ 1.1) and, in a full
run, 10 → 100,000 (target ≤ 1.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

from bench.common import Context, Row, encoded, now

SIZES = (10, 1_000, 10_000)
HUGE = 100_000  # full runs only


async def run(ctx: Context) -> list[Row]:
    events = ctx.size(200_000, 20_000)
    passes = 2 if ctx.quick else 5
    sizes = SIZES if ctx.quick else (*SIZES, HUGE)
    cost = {k: float("inf") for k in sizes}
    bare = {k: float("inf") for k in sizes}
    async with contextlib.AsyncExitStack() as stack:
        harness_pass = {k: await stack.enter_async_context(_routing(k, events)) for k in sizes}
        bare_pass = {k: _bare_dict(k, events) for k in sizes}
        for _ in range(passes):  # sizes and sides take turns: load that comes and goes hits all
            for k in sizes:
                cost[k] = min(cost[k], harness_pass[k]())
                bare[k] = min(bare[k], bare_pass[k]())
    small, large = cost[SIZES[0]], cost[SIZES[-1]]
    growth = [
        _growth_row(cost, bare, k, target)
        for k, target in ((SIZES[-1], 1.1), (HUGE, 1.2))
        if k in cost
    ]
    return [
        Row(
            name="routing 10 → 10,000 scenarios",
            harness=large,
            unit="ns/ev @10k",
            baseline=small,
            baseline_unit="ns/ev @10",
            ratio=large / small,
            measure=large / small,
            target=1.2,
            sense="<=",
            notes={
                "events_per_pass": events,
                "passes": passes,
                "ns_per_event": {str(k): v for k, v in cost.items()},
                "bare_dict_ns_per_event": {str(k): v for k, v in bare.items()},
            },
        ),
        *growth,
    ]


def _growth_row(cost: dict[int, float], bare: dict[int, float], k: int, target: float) -> Row:
    small = SIZES[0]
    ours, theirs = cost[k] / cost[small], bare[k] / bare[small]
    return Row(
        name=f"routing growth 10 → {k:,} vs bare dict",
        harness=ours,
        unit="x growth",
        baseline=theirs,
        baseline_unit="x growth",
        ratio=ours / theirs,
        measure=ours / theirs,
        target=target,
        sense="<=",
        notes={"harness_ns": [cost[small], cost[k]], "bare_dict_ns": [bare[small], bare[k]]},
    )


def _bare_dict(scenarios: int, n: int) -> Callable[[], float]:
    """One timed pass of the bare dict (ns per event) each call."""
    rng = random.Random(scenarios)  # the same owners as the harness side
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(scenarios)]
    keys = [ids[rng.randrange(scenarios)] for _ in range(n)]

    def timed_pass() -> float:
        sinks: dict[str, list[str]] = {cid: [] for cid in ids}
        get = sinks.get
        gc.collect()
        start = now()
        for key in keys:
            sink = get(key)
            if sink is not None:
                sink.append(key)
        return (now() - start) / n * 1e9

    return timed_pass


@contextlib.asynccontextmanager
async def _routing(scenarios: int, n: int) -> AsyncIterator[Callable[[], float]]:
    """A harness with ``scenarios`` running, and one timed pass of routing ``n`` events
    (ns per event) each call."""
    import eventharness as eh
    from eventharness.model.events import CORRELATION_HEADER, Record, event_from_record

    rng = random.Random(scenarios)
    async with eh.Harness({"kafka": f"memory://bench-routing-{scenarios}"}) as h:
        running: list[Any] = []
        try:
            for i in range(scenarios):
                s = h.scenario(f"s{i}")
                await s.__aenter__()
                s.expect("kafka:orders", type="OrderPlaced", match={"currency": "EUR"})
                running.append(s)
            records = []
            for i in range(n):
                owner = running[rng.randrange(scenarios)]
                records.append(
                    Record(
                        encoded({"type": "OrderPlaced", "order_id": f"o-{i}", "currency": "EUR"}),
                        headers={CORRELATION_HEADER: owner.correlation_id.encode()},
                    )
                )
            events = [event_from_record("kafka:orders", r) for r in records]
            route = h.collector.route

            def timed_pass() -> float:
                for s in running:  # same starting state for every pass
                    s.events.clear()
                    for exp in s._expectations:
                        exp.matched.clear()
                gc.collect()
                start = now()
                for event in events:
                    route(event)
                elapsed = now() - start
                claimed = sum(len(s.events) for s in running)
                if claimed != n:
                    raise RuntimeError(f"routing lost events: {claimed} of {n} claimed")
                return elapsed / n * 1e9

            yield timed_pass
        finally:
            abandoned = asyncio.CancelledError()
            for s in running:  # leave as a cancelled body would: release, wait for nothing
                await s.__aexit__(type(abandoned), abandoned, None)
