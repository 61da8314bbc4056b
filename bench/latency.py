"""Detection latency: an event's arrival at the client → the scenario judging its expectation met.

Per scenario (one after another on one harness, channel already armed by a warm-up scenario)::

    async with h.scenario("latency") as s:
        ping = s.expect(channel, type="Ping", match={"seq": i})
        await s.publish(channel, {"type": "Ping", "seq": i})
    done = time.monotonic()
    latency = done - ping.first.received

``ping.first.received`` is ``Record.received``: the monotonic time the transport stamped when the
client library handed it the record (Kafka: when ``getmany`` returned the batch; memory broker:
delivery). ``done`` is taken right after the ``async with`` block exits, so the figure covers the
collector's pump decoding and routing the record, the scenario waking, judging every
expectation, the final checks and building the result: an upper bound on "recognised".
Broker transit (publish → arrival) is not included. p50/p99 over all scenarios; target p99 ≤ 5 ms.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import Context, Row, percentile, unique


async def run(ctx: Context) -> list[Row]:
    rows = [await _measure("memory", f"memory://{unique('lat')}", ctx.size(2_000, 100))]
    if ctx.kafka_url is not None:
        rows.append(await _measure("kafka", ctx.kafka_url, ctx.size(300, 30)))
    return rows


async def _measure(label: str, url: str, n: int) -> Row:
    import eventharness as eh

    channel = f"kafka:{unique('latency')}"
    samples: list[float] = []
    async with eh.Harness({"kafka": url}, within=10.0) as h:
        if label == "kafka":
            await h.transport("kafka").create_channel(channel.partition(":")[2], partitions=1)
        for i in range(-1, n):  # -1: the warm-up that arms the collector
            async with h.scenario("latency") as s:
                ping = s.expect(channel, type="Ping", match={"seq": i})
                await s.publish(channel, {"type": "Ping", "seq": i})
            done = time.monotonic()
            if i >= 0:
                samples.append(done - _arrival(ping))
            h.results.clear()
    p50, p99 = percentile(samples, 50) * 1e3, percentile(samples, 99) * 1e3
    return Row(
        name=f"detection latency p99 ({label})",
        harness=p99,
        unit="ms",
        target=5.0,
        target_unit="ms",
        sense="<=",
        measure=p99,
        notes={"p50_ms": p50, "p99_ms": p99, "max_ms": max(samples) * 1e3, "scenarios": n},
    )


def _arrival(expectation: Any) -> float:
    event = expectation.first
    if event is None:
        raise RuntimeError("the expected event never arrived")
    return float(event.received)
