"""Scale in one process: 1,000 concurrent scenarios on one harness, each publishing and
expecting its own events through the real broker — all isolated, none lost or duplicated, on
shared connections and subscriptions (the open file descriptors stay few)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter

import pytest

import eventharness as eh
from tests.conftest import unique

SCENARIOS = 1000


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def flood(url: str, channel: str) -> tuple[list[eh.ScenarioResult], int]:
    """SCENARIOS scenarios at once, each publishing two keyed events and expecting both (and
    nothing of the others'); returns the results and the most descriptors open meanwhile."""
    most = open_fds()
    async with eh.Harness({"bus": url}) as harness:
        started = asyncio.Event()
        running = 0

        async def one(i: int) -> eh.ScenarioResult:
            nonlocal running, most
            async with harness.scenario(f"flow {i}", within=60) as s:
                running += 1
                if running == SCENARIOS:
                    started.set()
                await started.wait()  # every scenario is open before any publishes
                most = max(most, open_fds())
                for step in ("placed", "paid"):
                    s.expect(channel, type="Order", match={"i": i, "step": step})
                    await s.publish(channel, {"type": "Order", "i": i, "step": step}, key=f"o-{i}")
            assert s.result is not None
            return s.result

        results = await asyncio.gather(*(one(i) for i in range(SCENARIOS)))
    return list(results), most


def check_isolated(results: list[eh.ScenarioResult]) -> None:
    assert [r.status for r in results] == ["passed"] * SCENARIOS, [
        r.failures for r in results if not r.passed
    ][:3]
    assert len({r.correlation_id for r in results}) == SCENARIOS
    for i, result in enumerate(results):
        collected = [e for e in result.events if e.direction == "in"]
        seen = Counter((e.value["i"], e.value["step"]) for e in collected)
        # its own two events, once each: nothing lost, duplicated or leaked from another flow
        assert seen == {(i, "placed"): 1, (i, "paid"): 1}, (i, seen)


@pytest.mark.kafka
@pytest.mark.timeout(300)
async def test_a_thousand_concurrent_scenarios_on_kafka(kafka_url: str) -> None:
    before = open_fds()
    results, most = await flood(kafka_url, f"bus:{unique('scale')}")
    check_isolated(results)
    assert most - before < 50, f"{most - before} descriptors opened for {SCENARIOS} scenarios"


@pytest.mark.amqp
@pytest.mark.timeout(300)
async def test_a_thousand_concurrent_scenarios_on_rabbitmq(amqp_url: str) -> None:
    before = open_fds()
    url = amqp_url + "?declare_exchanges=true"
    results, most = await flood(url, f"bus:{unique('scale')}/orders.created")
    check_isolated(results)
    assert most - before < 50, f"{most - before} descriptors opened for {SCENARIOS} scenarios"
