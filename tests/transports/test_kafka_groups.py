"""Workers on the Kafka transport (``subscribe(topic, group=...)``) on the embedded broker:
members of one consumer group share a topic's partitions and, together, take each record once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from eventharness.model.events import Record
from eventharness.transports.base import Subscription
from eventharness.transports.kafka import KafkaTransport
from tests.conftest import unique

pytestmark = pytest.mark.kafka

PARTITIONS = 4
DEADLINE_S = 40.0  # a group's first assignment alone takes about 5 s on Tansu


class Member:
    """One group member's records, gathered by a task; ``until`` waits on a condition."""

    def __init__(self, name: str, sub: Subscription, changed: asyncio.Condition) -> None:
        self.name = name
        self.records: list[Record] = []
        self._changed = changed
        self._task = asyncio.create_task(self._pump(sub), name=f"member {name}")

    async def _pump(self, sub: Subscription) -> None:
        async for record in sub:
            async with self._changed:
                self.records.append(record)
                self._changed.notify_all()

    def check(self) -> None:
        if self._task.done() and not self._task.cancelled():
            raise AssertionError(f"member {self.name} stopped: {self._task.exception()!r}")

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def until(
    changed: asyncio.Condition, members: list[Member], holds: Callable[[], bool], what: str
) -> None:
    def done() -> bool:
        for member in members:
            member.check()
        return holds()

    try:
        async with asyncio.timeout(DEADLINE_S), changed:
            await changed.wait_for(done)
    except TimeoutError:
        seen = {m.name: len(m.records) for m in members}
        raise AssertionError(
            f"{what} not within {DEADLINE_S} s; records per member: {seen}"
        ) from None


def partition_of(record: Record) -> int:
    assert record.partition is not None, record
    return record.partition


@pytest.fixture
async def kafka(kafka_url: str) -> AsyncIterator[KafkaTransport]:
    async with KafkaTransport(kafka_url) as transport:
        yield transport


async def test_two_members_share_the_partitions_and_take_each_record_once(
    kafka: KafkaTransport,
) -> None:
    topic, group = unique("shared"), unique("eh-group")
    await kafka.create_channel(topic, partitions=PARTITIONS)
    changed = asyncio.Condition()
    members = [
        Member(name, await kafka.subscribe(topic, group=group), changed) for name in ("a", "b")
    ]
    try:
        n = 80
        for i in range(n):
            await kafka.publish(topic, Record(b"%d" % i, key=b"k%d" % i))

        def seqs() -> list[int]:
            return [int(r.value) for m in members for r in m.records if r.value.isdigit()]

        await until(
            changed,
            members,
            lambda: set(seqs()) == set(range(n)),
            f"all {n} records taken by the group",
        )
        # one end mark per partition: each partition's records come in order, so once every
        # mark has been taken, any record handed out twice before it has been taken too
        for partition in range(PARTITIONS):
            await kafka.publish(topic, Record(b"end", partition=partition))
        await until(
            changed,
            members,
            lambda: sum(r.value == b"end" for m in members for r in m.records) >= PARTITIONS,
            "the end mark of every partition",
        )
    finally:
        for member in members:
            await member.aclose()
        await kafka.delete_channel(topic)

    assert sorted(seqs()) == list(range(n))  # together: each record exactly once
    ends = sorted(partition_of(r) for m in members for r in m.records if r.value == b"end")
    assert ends == list(range(PARTITIONS))
    a, b = ({partition_of(r) for r in m.records} for m in members)
    assert a and b, "both members get records"
    assert a | b == set(range(PARTITIONS))
    assert not a & b, f"a partition went to both members: a={sorted(a)} b={sorted(b)}"
