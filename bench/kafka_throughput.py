"""Kafka: N events published and collected through a scenario vs raw aiokafka doing the same.

Harness side (what a user's scenario does)::

    async with h.scenario(...) as s:
        s.expect("kafka:TOPIC", type="OrderPlaced", at_least=N)
        await bounded(N, C, lambda i: s.publish("kafka:TOPIC", values[i], key=...))
    # leaving the block waits until all N are collected and matched

Baseline: an ``AIOKafkaProducer`` with the transport's settings (acks=all, no idempotence,
linger_ms=0, max_batch_size=16384) sending the same JSON bytes, key and three headers with
``send_and_wait`` through the same bounded driver, plus an ``assign()``-based
``AIOKafkaConsumer`` (no group, same fetch settings) started at the end offsets before the first
send, reading with ``getmany`` and keeping (decoded value, headers) of every record whose
``correlation-id`` header is its own — what a test written with the raw client collects to
assert on, and what the harness keeps for its timeline and checks.

Both timings run from before the reader is created to the N-th event collected; producers are
connected before. The topic has 4 partitions and is created untimed, a fresh one per trial.

Second row, the raw client used for throughput as aiokafka's documentation recommends:
``send()`` without awaiting each acknowledgement, ``linger_ms=5``, then ``flush()``, with the
same reader. The harness side publishes with ``s.publish(..., wait=False)`` on a broker URL
with ``?linger_ms=5`` (acknowledgements gathered before the scenario is judged).
"""

from __future__ import annotations

import gc
import json
import secrets
import uuid
from typing import Any

from bench.common import (
    Context,
    GcPauses,
    Row,
    bounded,
    encoded,
    event_value,
    harness_throughput,
    now,
    throughput_row,
    unique,
    within,
)

PARTITIONS = 4
CONCURRENCY = 512
TIMEOUT_S = 180.0
LINGER_MS = 5


async def run(ctx: Context) -> list[Row]:
    from aiokafka import AIOKafkaProducer

    import eventharness as eh
    from eventharness.tracing import make_tracing, resolve_endpoint
    from eventharness.transports.kafka import KafkaTransport
    from eventharness.transports.kafka_config import client_config, producer_config

    assert ctx.kafka_url is not None, "the Kafka benchmark needs embedded Kafka"
    n = ctx.size(50_000, 2_000)
    trials = 1 if ctx.quick else 3
    admin = KafkaTransport(ctx.kafka_url)
    await admin.connect()
    config = client_config(admin.url)
    producer = AIOKafkaProducer(**config, **producer_config(admin.url))
    await producer.start()
    batched = AIOKafkaProducer(**config, **{**producer_config(admin.url), "linger_ms": LINGER_MS})
    await batched.start()
    harness_rates: list[float] = []
    raw_rates: list[float] = []
    batched_rates: list[float] = []
    raw_batched_rates: list[float] = []
    # per side, the part of each run the garbage collector took (the harness keeps 2N events)
    gc_shares: dict[str, list[float]] = {
        side: [] for side in ("harness", "raw", "batched harness", "batched raw")
    }
    # OTEL_EXPORTER_OTLP_ENDPOINT set: the harness rows are traced (spans exported over OTLP)
    tracing = make_tracing(resolve_endpoint(None, None))
    traced = " (traced)" if tracing is not None else ""
    try:
        for trial in range(trials):
            # A fresh harness per trial (as a pytest fixture gives each test), and no garbage
            # of one side left for the other side's collector to walk.
            async with eh.Harness({"kafka": ctx.kafka_url}, within=TIMEOUT_S, tracing=tracing) as h:
                for side in ("raw", "harness") if trial % 2 == 0 else ("harness", "raw"):
                    topic = unique("k" + side)
                    await admin.create_channel(topic, partitions=PARTITIONS)
                    gc.collect()
                    with GcPauses() as pauses:
                        if side == "raw":
                            run_raw = _raw(config, producer, topic, n)
                            rate = await within(TIMEOUT_S, "raw aiokafka run", run_raw)
                        else:
                            run_h = _harness(h, topic, n)
                            rate = await within(TIMEOUT_S, "harness Kafka run", run_h)
                            h.results.clear()  # its 2N events must not slow the next run
                    (raw_rates if side == "raw" else harness_rates).append(rate)
                    gc_shares[side].append(pauses.share(rate, n))
            lingering = f"{ctx.kafka_url}?linger_ms={LINGER_MS}"
            async with eh.Harness({"kafka": lingering}, within=TIMEOUT_S, tracing=tracing) as h:
                for side in ("raw", "harness") if trial % 2 == 0 else ("harness", "raw"):
                    topic = unique("kb" + side)
                    await admin.create_channel(topic, partitions=PARTITIONS)
                    gc.collect()
                    with GcPauses() as pauses:
                        if side == "raw":
                            run_raw = _raw(config, batched, topic, n, wait=False)
                            rate = await within(TIMEOUT_S, "raw batched aiokafka run", run_raw)
                        else:
                            run_h = _harness_batched(h, topic, n)
                            rate = await within(TIMEOUT_S, "harness batched Kafka run", run_h)
                            h.results.clear()
                    (raw_batched_rates if side == "raw" else batched_rates).append(rate)
                    gc_shares["batched " + side].append(pauses.share(rate, n))
    finally:
        if tracing is not None:
            tracing.shutdown()
        await batched.stop()
        await producer.stop()
        await admin.aclose()
    return [
        throughput_row(
            "kafka publish+collect" + traced,
            harness_rates,
            raw_rates,
            events=n,
            trials=trials,
            concurrency=CONCURRENCY,
            target=0.95,  # awaited publishes: the per-ack raw loop's speed
            harness_gc_share=gc_shares["harness"],
            raw_gc_share=gc_shares["raw"],
        ),
        throughput_row(
            "kafka publish+collect, batched (no wait per ack)" + traced,
            batched_rates,
            raw_batched_rates,
            events=n,
            trials=trials,
            linger_ms=LINGER_MS,
            target=0.8,
            harness_gc_share=gc_shares["batched harness"],
            raw_gc_share=gc_shares["batched raw"],
        ),
    ]


async def _harness(h: Any, topic: str, n: int) -> float:
    return await harness_throughput(h, f"kafka:{topic}", f"kafka:{topic}", n, CONCURRENCY)


async def _harness_batched(h: Any, topic: str, n: int) -> float:
    values = [event_value(i) for i in range(n)]
    channel = f"kafka:{topic}"
    start = now()
    async with h.scenario("bench batched") as s:
        s.expect(channel, type="OrderPlaced", at_least=n)
        for value in values:
            await s.publish(channel, value, key=value["order_id"], wait=False)
    return n / (now() - start)


async def _raw(
    config: dict[str, Any], producer: Any, topic: str, n: int, *, wait: bool = True
) -> float:
    import asyncio

    from aiokafka import AIOKafkaConsumer, TopicPartition

    from eventharness.transports.kafka import FETCH_MAX_BYTES, MAX_PARTITION_FETCH_BYTES

    values = [event_value(i) for i in range(n)]
    correlation_id = uuid.uuid4().hex
    mine = correlation_id.encode()
    start = now()
    consumer = AIOKafkaConsumer(
        **config,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=FETCH_MAX_BYTES,
        max_partition_fetch_bytes=MAX_PARTITION_FETCH_BYTES,
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    reader: asyncio.Task[None] | None = None
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)  # fixes the start before anything is sent

        collected: list[tuple[Any, dict[str, bytes]]] = []  # what a raw test asserts on

        async def read() -> None:
            while len(collected) < n:
                batches = await consumer.getmany(timeout_ms=100, max_records=10_000)
                for records in batches.values():
                    for record in records:
                        headers = dict(record.headers)
                        if headers.get("correlation-id") == mine:
                            collected.append((json.loads(record.value), headers))

        reader = asyncio.create_task(read())

        async def one(i: int) -> None:
            value = values[i]
            headers = [
                ("correlation-id", mine),
                ("traceparent", f"00-{correlation_id}-{secrets.token_hex(8)}-01".encode()),
                ("message-id", uuid.uuid4().hex.encode()),
            ]
            await producer.send_and_wait(
                topic, encoded(value), key=value["order_id"].encode(), headers=headers
            )

        if wait:
            await bounded(n, CONCURRENCY, one)
        else:  # as aiokafka's documentation recommends for throughput
            for i in range(n):
                value = values[i]
                headers = [
                    ("correlation-id", mine),
                    ("traceparent", f"00-{correlation_id}-{secrets.token_hex(8)}-01".encode()),
                    ("message-id", uuid.uuid4().hex.encode()),
                ]
                await producer.send(
                    topic, encoded(value), key=value["order_id"].encode(), headers=headers
                )
            await producer.flush()
        await reader
        return n / (now() - start)
    finally:
        if reader is not None:
            reader.cancel()
        await consumer.stop()
