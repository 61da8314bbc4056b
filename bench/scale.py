"""Scale: 1,000 concurrent scenarios in one process, and the rate load mode sustains.

**1,000 concurrent scenarios** (per broker: memory, embedded Kafka, RabbitMQ): one harness,
1,000 scenarios opened at once, each publishing one keyed event and expecting it (its own
correlation id, all on one channel). Figures: wall time from the first scenario opened to the
last closed, CPU seconds of the process and per scenario (publish, route, collect, judge), and
— in a second, traced pass — the peak traced memory per scenario (tracemalloc). Target: the
1,000 pass (DESIGN §9); the wall time is the figure.

**Load mode's sustained rate** (per broker): :func:`eventharness.files.load.open_workload`
starting flows (the same one-event scenario) at a constant rate, 2 s a step (1 s with
--quick; after an untimed half-second warm-up), the rate doubled from a start until a step
misses: a flow that does not pass, more
than 1% late starts, or an achieved rate more than 2% off. The figure is the last rate that
held; when the first step misses (a busy machine) the rate is halved instead, down to an eighth
of the start, so the figure says where load mode holds rather than 0.
Baseline, in the same run: the raw client's publish+collect throughput of
bench/kafka_throughput.py and bench/amqp_throughput.py (events/s; one flow is one published and
one collected event), or for memory the one-event scenario's closed-loop rate with 512 in
flight. The ratio says how much of the raw client's rate load mode can drive as flows.
"""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
import uuid
from collections.abc import Awaitable
from typing import Any

from bench.common import Context, Row, bounded, unique

SCENARIOS = 1000
START_RATE = {"memory": 100.0, "kafka": 25.0, "amqp": 25.0}  # low: the first step holds
MAX_RATE = 25_600.0


def _brokers(ctx: Context) -> dict[str, tuple[str, str]]:
    """Broker kind → (URL, channel of a fresh topic/exchange)."""
    found = {"memory": (f"memory://{unique('scale')}", "bus:orders")}
    if ctx.kafka_url:
        found["kafka"] = (ctx.kafka_url, f"bus:{unique('scale')}")
    found["amqp"] = (f"{ctx.amqp_url}?declare_exchanges=true", f"bus:{unique('scale')}/orders")
    return found


async def run(ctx: Context) -> list[Row]:
    import eventharness as eh

    rows = []
    for kind, (url, channel) in _brokers(ctx).items():
        async with eh.Harness({"bus": url}, within=60.0, keep_results=False) as harness:
            await _burst(harness, channel, 50)  # connections and the subscription, untimed
            wall, cpu = await _timed(_burst(harness, channel, SCENARIOS))
            tracemalloc.start()
            try:
                await _burst(harness, channel, SCENARIOS)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            rows.append(
                Row(
                    name=f"1,000 concurrent scenarios, {kind}",
                    harness=wall,
                    unit="s",
                    target=30.0,
                    target_unit="s",
                    sense="<=",
                    measure=wall,
                    notes={
                        "cpu_s": round(cpu, 3),
                        "cpu_us_per_scenario": round(cpu / SCENARIOS * 1e6, 1),
                        "peak_traced_kib_per_scenario": round(peak / SCENARIOS / 1024, 2),
                    },
                )
            )
            sustained, steps = await _sustained(ctx, harness, channel, START_RATE[kind])
            baseline = await _baseline(ctx, kind, harness, channel)
            rows.append(
                Row(
                    name=f"load mode sustained rate, {kind}",
                    harness=sustained,
                    unit="flows/s",
                    baseline=baseline,
                    baseline_unit="ev/s" if kind != "memory" else "flows/s",
                    ratio=sustained / baseline if baseline else None,
                    target=100.0,  # the rate the shop's load test drives, five times over
                    target_unit="flows/s",
                    sense=">=",
                    measure=sustained,
                    notes={"steps": steps},
                )
            )
    return rows


async def _flow(harness: Any, channel: str, i: int) -> bool:
    async with harness.scenario(f"flow {i}", within=30.0) as s:
        s.expect(channel, type="Order", match={"i": i})
        await s.publish(channel, {"type": "Order", "i": i}, key=f"o-{i}")
    return bool(s.result is not None and s.result.passed)


async def _burst(harness: Any, channel: str, n: int) -> None:
    results = await asyncio.gather(*(_flow(harness, channel, i) for i in range(n)))
    if not all(results):
        raise RuntimeError(f"{results.count(False)} of {n} concurrent scenarios failed")


async def _timed(work: Awaitable[None]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await work
    return time.perf_counter() - wall, time.process_time() - cpu


async def _sustained(
    ctx: Context, harness: Any, channel: str, rate: float
) -> tuple[float, list[dict[str, Any]]]:
    from eventharness.files.load import Plan, open_workload

    held = 0.0
    steps: list[dict[str, Any]] = []
    seconds = 1.0 if ctx.quick else 2.0
    floor = rate / 8

    async def warm(i: int) -> bool:
        return await _flow(harness, channel, i)

    await open_workload(Plan(rate=rate, duration=0.5), warm, lambda flow: None)  # untimed
    while rate <= MAX_RATE:
        gc.collect()
        plan = Plan(rate=rate, duration=seconds)
        passed = [0]

        def on_flow(flow: Any, passed: list[int] = passed) -> None:
            passed[0] += bool(flow.result)

        async def flow(i: int) -> bool:
            return await _flow(harness, channel, i)

        workload = await open_workload(plan, flow, on_flow)
        ok = (
            passed[0] == workload.started == workload.due
            and workload.late <= workload.started * 0.01
            and abs(workload.achieved_rate - rate) <= rate * 0.02
        )
        steps.append(
            {
                "rate": rate,
                "passed": passed[0],
                "due": workload.due,
                "late": workload.late,
                "achieved": round(workload.achieved_rate, 1),
                "held": ok,
            }
        )
        if ok:
            held = rate
            rate *= 2
        elif held or rate <= floor:
            break
        else:  # even the first step did not hold (a busy machine): look below it
            rate /= 2
    return held, steps


async def _baseline(ctx: Context, kind: str, harness: Any, channel: str) -> float:
    n = ctx.size(20_000, 2_000)
    if kind == "kafka" and ctx.kafka_url:
        return await _raw_kafka(ctx.kafka_url, n)
    if kind == "amqp":
        return await _raw_amqp(ctx.amqp_url, n)
    start = time.perf_counter()  # memory: the same flow, closed loop, 512 in flight
    await bounded(n, 512, lambda i: _flow(harness, channel, i))
    return n / (time.perf_counter() - start)


async def _raw_kafka(url: str, n: int) -> float:
    """bench/kafka_throughput.py's raw aiokafka publish+collect (each send awaited)."""
    from aiokafka import AIOKafkaProducer

    from bench.kafka_throughput import PARTITIONS
    from bench.kafka_throughput import _raw as raw
    from eventharness.transports.kafka import KafkaTransport
    from eventharness.transports.kafka_config import client_config, producer_config

    admin = KafkaTransport(url)
    await admin.connect()
    config = client_config(admin.url)
    producer = AIOKafkaProducer(**config, **producer_config(admin.url))
    await producer.start()
    try:
        topic = f"scale-raw-{uuid.uuid4().hex[:8]}"
        await admin.create_channel(topic, partitions=PARTITIONS)
        return await raw(config, producer, topic, n)
    finally:
        await producer.stop()
        await admin.aclose()


async def _raw_amqp(url: str, n: int) -> float:
    import aio_pika

    from bench.amqp_throughput import _raw as raw

    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        name = f"scale-raw-{uuid.uuid4().hex[:8]}"
        exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC)
        try:
            return await raw(connection, name, n)
        finally:
            await exchange.delete()
    finally:
        await connection.close()
