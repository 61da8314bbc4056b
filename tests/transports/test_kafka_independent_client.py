"""A second opinion: librdkafka (confluent-kafka), not our aiokafka code, on the other end.

What we publish must read back intact with an independent client, and what an independent
client publishes must come out of our observer intact — headers with non-ASCII text included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import confluent_kafka
import pytest

from eventharness.model.events import Record
from eventharness.transports.kafka import KafkaTransport
from tests.conftest import unique

pytestmark = pytest.mark.kafka

DEADLINE_S = 10.0
HEADERS = {
    "correlation-id": b"c-0001",
    "note": "größe — 注文 🚀".encode(),
    "ключ": b"\x00\x01\xfe\xff",
}


@pytest.fixture
async def kafka(kafka_url: str) -> AsyncIterator[KafkaTransport]:
    async with KafkaTransport(kafka_url) as transport:
        yield transport


async def test_our_observer_reads_what_librdkafka_publishes(kafka: KafkaTransport) -> None:
    topic = unique("cf-in")
    await kafka.create_channel(topic, partitions=2)
    sub = await kafka.subscribe(topic)
    producer = confluent_kafka.Producer(
        {"bootstrap.servers": kafka.url.bootstrap, "enable.idempotence": False, "acks": "all"}
    )
    delivered: list[tuple[int, int]] = []

    def on_delivery(err: Any, msg: Any) -> None:
        assert err is None, err
        delivered.append((msg.partition(), msg.offset()))

    values = [f'{{"n": {i}, "text": "ünïcödé"}}'.encode() for i in range(20)]
    for i, value in enumerate(values):
        producer.produce(
            topic,
            value=value,
            key=f"k{i}".encode(),
            headers=list(HEADERS.items()),
            on_delivery=on_delivery,
        )
    remaining = await asyncio.to_thread(producer.flush, DEADLINE_S)
    assert remaining == 0 and len(delivered) == len(values)

    got: list[Record] = []

    async def collect() -> None:
        async for record in sub:
            got.append(record)
            if len(got) == len(values):
                return

    await asyncio.wait_for(collect(), DEADLINE_S)
    assert sorted(r.value for r in got) == sorted(values)
    for record in got:
        assert dict(record.headers) == HEADERS
        n = values.index(record.value)
        assert record.key == f"k{n}".encode()
    assert sorted((r.position.partition, r.position.offset) for r in got) == sorted(delivered)


async def test_librdkafka_reads_what_we_publish(kafka: KafkaTransport) -> None:
    topic = unique("cf-out")
    await kafka.create_channel(topic, partitions=3)
    sent = {}
    for i in range(15):
        value = f"payload-{i}-é".encode()
        position = await kafka.publish(
            topic, Record(value=value, key=f"k{i}".encode(), headers=HEADERS)
        )
        sent[(position.partition, position.offset)] = (value, f"k{i}".encode())

    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": kafka.url.bootstrap,
            "group.id": unique("cf-reader"),  # required by librdkafka; assign() joins nothing
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.assign(
            [
                confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                for p in range(3)
            ]
        )
        received = {}
        deadline = time.monotonic() + DEADLINE_S
        while len(received) < len(sent) and time.monotonic() < deadline:
            msg = await asyncio.to_thread(consumer.poll, 0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            assert dict(msg.headers() or []) == HEADERS
            received[(msg.partition(), msg.offset())] = (msg.value(), msg.key())
    finally:
        await asyncio.to_thread(consumer.close)
    assert received == sent
