"""Memory: bytes per in-flight collected event beyond its payload (tracemalloc).

A scenario on the memory broker expects ``at_least=N`` events on ``kafka:orders`` and is armed
(``await s.armed()``). With tracemalloc tracing, a separate transport (the system under test)
publishes N typical 10-field JSON events (about 300 bytes each) carrying the scenario's
correlation id, without keeping them; once the scenario has collected all N (still running),
garbage is collected and the traced memory is read. Figure = (traced growth - N * payload
bytes) / N: everything the harness keeps per event beyond the raw payload itself — the Event,
its decoded value, headers, position, list slots. Target ≤ 1 KiB.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tracemalloc
from typing import Any

from bench.common import Context, Row, encoded, event_value, unique

_MAX_SPINS = 1_000_000


async def run(ctx: Context) -> list[Row]:
    import eventharness as eh
    from eventharness.model.events import CORRELATION_HEADER, Record
    from eventharness.transports.memory import MemoryTransport

    n = ctx.size(20_000, 1_000)
    url = f"memory://{unique('mem')}"
    system = MemoryTransport(url)
    await system.connect()
    async with eh.Harness({"kafka": url}, within=60.0) as h, h.scenario("memory") as s:
        orders = s.expect("kafka:orders", type="OrderPlaced", at_least=n)
        await s.armed()  # the collector is subscribed
        header = s.correlation_id.encode()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            payload = 0
            for i in range(n):
                raw = encoded(event_value(i))
                payload += len(raw)
                await system.publish(
                    "orders",
                    Record(raw, key=f"o-{i}".encode(), headers={CORRELATION_HEADER: header}),
                )
            for _ in range(_MAX_SPINS):  # bounded: the pump runs between these yields
                if len(orders.matched) >= n:
                    break
                await asyncio.sleep(0)
            else:
                raise RuntimeError(f"collected {len(orders.matched)} of {n} events")
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        decoded = _deep_size(orders.matched[0].value)
    await system.aclose()
    per_event = (after - before - payload) / n
    return [
        Row(
            name="memory per collected event",
            harness=per_event,
            unit="B/ev",
            target=1024.0,
            target_unit="B",
            sense="<=",
            measure=per_event,
            notes={
                "events": n,
                "payload_bytes_per_event": payload / n,
                "decoded_value_bytes_per_event": decoded,
            },
        )
    ]


def _deep_size(value: Any) -> int:
    """sys.getsizeof of a JSON-like value and everything in it."""
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(_deep_size(k) + _deep_size(v) for k, v in value.items())
    elif isinstance(value, list):
        size += sum(_deep_size(v) for v in value)
    return size
