"""What every benchmark shares: the result row, the run context, timing and payload helpers."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class Row:
    """One line of the table.

    ``measure`` is the number compared with ``target`` (a ratio for ratio targets, an absolute
    figure otherwise); ``harness``/``baseline`` are the two sides as measured, with their unit.
    """

    name: str
    harness: float
    unit: str
    target: float
    sense: Literal[">=", "<="]
    measure: float
    baseline: float | None = None
    baseline_unit: str | None = None
    ratio: float | None = None
    target_unit: str = "x"
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool:
        if not math.isfinite(self.measure):
            return False
        return self.measure >= self.target if self.sense == ">=" else self.measure <= self.target

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["met"] = self.met
        return out


@dataclass
class Context:
    """What a benchmark needs from the run: sizes, and the brokers to use."""

    quick: bool
    kafka_url: str | None = None
    amqp_url: str = AMQP_URL

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def event_value(i: int, correlation_id: str | None = None) -> dict[str, Any]:
    """A typical 10-field business event (about 300 bytes as JSON)."""
    value: dict[str, Any] = {
        "type": "OrderPlaced",
        "event_id": f"e-{i:08d}-{uuid.uuid4().hex[:12]}",
        "order_id": f"o-{i:08d}",
        "customer_id": f"c-{i % 997:05d}",
        "total": round(10 + (i % 1000) * 0.37, 2),
        "currency": "EUR",
        "items": [{"sku": f"SKU-{i % 50:03d}", "qty": 1 + i % 3}],
        "status": "NEW",
        "placed_at": "2025-01-01T12:00:00Z",
        "version": 3,
    }
    if correlation_id is not None:
        value["correlation_id"] = correlation_id
    return value


async def harness_throughput(
    h: Any, publish_to: str, collect_from: str, n: int, concurrency: int
) -> float:
    """Events/s of what a user's scenario does: expect N events, publish N (bounded in
    flight), leave the block once all N are collected and matched."""
    values = [event_value(i) for i in range(n)]
    start = now()
    async with h.scenario("bench throughput") as s:
        s.expect(collect_from, type="OrderPlaced", at_least=n)

        async def one(i: int) -> None:
            await s.publish(publish_to, values[i], key=values[i]["order_id"])

        await bounded(n, concurrency, one)
    return n / (now() - start)


def throughput_row(
    name: str,
    harness_rates: list[float],
    raw_rates: list[float],
    *,
    target: float = 0.9,
    **notes: Any,
) -> Row:
    """The row of a publish+collect benchmark: best run of each side (target 0.9x unless
    given)."""
    best_h, best_raw = max(harness_rates), max(raw_rates)
    return Row(
        name=name,
        harness=best_h,
        unit="ev/s",
        baseline=best_raw,
        baseline_unit="ev/s",
        ratio=best_h / best_raw,
        measure=best_h / best_raw,
        target=target,
        sense=">=",
        notes={**notes, "harness_runs": harness_rates, "raw_runs": raw_rates},
    )


class GcPauses:
    """How long the garbage collector paused the process inside the ``with`` block (seconds,
    from ``gc.callbacks``): what a side spends collecting the objects it keeps."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._began = 0.0

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._tick)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._tick)

    def _tick(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._began

    def share(self, rate: float, n: int) -> float:
        """The part of a run of ``n`` events at ``rate`` events/s spent collecting."""
        return self.seconds * rate / n


def encoded(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def unique(prefix: str) -> str:
    return f"bench-{prefix}-{uuid.uuid4().hex[:10]}"


async def bounded(n: int, concurrency: int, one: Callable[[int], Awaitable[Any]]) -> None:
    """Run ``one(0..n-1)`` with at most ``concurrency`` in flight (fixed workers, no task per
    item): the same driver for the harness side and the baseline side.

    ``one(0)`` runs alone first: concurrent first publishes of a scenario race while arming
    its subscriptions (see bench/PROPOSALS.md, "concurrent first publish"); both sides do it.
    """
    if n <= 0:
        return
    await one(0)

    async def worker(first: int) -> None:
        for i in range(first, n, concurrency):
            await one(i)

    await asyncio.gather(*(worker(k) for k in range(1, min(concurrency, n - 1) + 1)))


async def within(seconds: float, what: str, waiting: Awaitable[Any]) -> Any:
    """Await ``waiting``, failing loudly (not hanging) after ``seconds``."""
    try:
        return await asyncio.wait_for(waiting, seconds)
    except TimeoutError:
        raise RuntimeError(f"{what}: did not finish within {seconds:g} s") from None


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank on the sorted values."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values)


def now() -> float:
    return time.perf_counter()
