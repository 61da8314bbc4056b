"""Kafka-like topics of the memory broker: partitions, the murmur2 partitioner, consumer groups.

A topic keeps no log: publishing hands each record to every observer and, per consumer group, to
the member that owns its partition (or to the group's backlog while the partition has no owner).
See :mod:`eventharness.transports.memory` for the promises this makes.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType

from eventharness.model.errors import BrokerError
from eventharness.model.events import Position, Record
from eventharness.transports.memory.subscription import MemorySubscription

__all__ = ["DEFAULT_PARTITIONS", "Group", "Topic", "murmur2"]

DEFAULT_PARTITIONS = 4


@functools.lru_cache(maxsize=8192)
def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash (``org.apache.kafka.common.utils.Utils.murmur2``), unsigned 32-bit."""
    length = len(data)
    m = 0x5BD1E995
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    end = length & ~3
    for i in range(0, end, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    extra = length & 3
    if extra >= 3:
        h ^= data[end + 2] << 16
    if extra >= 2:
        h ^= data[end + 1] << 8
    if extra >= 1:
        h ^= data[end]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


class Group:
    """A consumer group on one topic: members, partition owners, records waiting for a member."""

    __slots__ = ("backlog", "members", "name", "owners")

    def __init__(self, name: str, partitions: int) -> None:
        self.name = name
        self.members: list[MemorySubscription] = []
        self.owners: list[MemorySubscription | None] = [None] * partitions
        self.backlog: list[deque[Record]] = [deque() for _ in range(partitions)]

    def rebalance(self, leaving: MemorySubscription | None = None) -> None:
        """Assign partition p to member p % len(members); unread records follow their partition."""
        members = self.members
        new = [members[p % len(members)] if members else None for p in range(len(self.owners))]
        previous = {id(s): s for s in self.owners if s is not None}
        if leaving is not None:
            previous[id(leaving)] = leaving
        moved: dict[int, list[Record]] = {}
        for sub in previous.values():

            def still_owned(record: Record, sub: MemorySubscription = sub) -> bool:
                return new[_partition_of(record)] is sub

            for record in sub.release(still_owned):
                moved.setdefault(_partition_of(record), []).append(record)
        self.owners = new
        for p, owner in enumerate(new):
            waiting = self.backlog[p]
            waiting.extend(moved.get(p, ()))
            if owner is not None and waiting:
                now = time.monotonic()
                while waiting:
                    owner.push(_received_at(waiting.popleft(), now))


def _partition_of(record: Record) -> int:
    return record.partition if record.partition is not None else 0


def _received_at(record: Record, now: float) -> Record:
    return Record(
        record.value,
        record.key,
        record.headers,
        record.properties,
        record.partition,
        record.position,
        record.broker_time,
        now,
    )


class Topic:
    __slots__ = (
        "groups",
        "name",
        "next_offset",
        "observers",
        "partitions",
        "properties",
        "round_robin",
    )

    def __init__(self, name: str, partitions: int) -> None:
        self.name = name
        self.properties: Mapping[str, str] = MappingProxyType({"topic": name})
        self.partitions = partitions
        self.next_offset = [0] * partitions
        self.observers: list[MemorySubscription] = []
        self.groups: dict[str, Group] = {}
        self.round_robin = itertools.cycle(range(partitions))

    def partition_for(self, record: Record) -> int:
        if record.partition is not None:
            if not 0 <= record.partition < self.partitions:
                raise BrokerError(
                    f"topic {self.name!r} has partitions 0..{self.partitions - 1}; "
                    f"record asked for partition {record.partition}"
                )
            return record.partition
        if record.key is not None:
            return (murmur2(bytes(record.key)) & 0x7FFFFFFF) % self.partitions
        return next(self.round_robin)

    def publish(self, record: Record) -> Position:
        p = self.partition_for(record)
        offset = self.next_offset[p]
        self.next_offset[p] = offset + 1
        position = Position(p, offset)
        properties = record.properties
        if not properties:  # the usual case: one mapping shared by every record of the topic
            properties = self.properties
        elif "topic" not in properties:
            properties = {**properties, "topic": self.name}
        stored = Record(
            record.value,
            record.key,
            dict(record.headers),
            properties,
            p,
            position,
            time.time(),
            time.monotonic(),
        )
        for group in self.groups.values():
            owner = group.owners[p]
            if owner is None:
                group.backlog[p].append(stored)
            else:
                owner.push(stored)
        # Observers last: one may be handed the record at once (the collector routes it inside
        # this call); the consumers woken above still run first, as they would have had the
        # observer read on a later turn of the loop.
        for sub in self.observers:
            sub.push(stored)
        return position

    def observe(self, sub: MemorySubscription) -> None:
        self.observers.append(sub)
        sub.add_close_callback(self.observers.remove)

    def join(self, sub: MemorySubscription, group_name: str) -> None:
        group = self.groups.get(group_name)
        if group is None:
            group = self.groups[group_name] = Group(group_name, self.partitions)
        group.members.append(sub)
        group.rebalance()

        def leave(member: MemorySubscription) -> None:
            group.members.remove(member)
            group.rebalance(leaving=member)

        sub.add_close_callback(leave)

    def close(self) -> None:
        for sub in list(self.observers):
            sub.close()
        for group in self.groups.values():
            for sub in list(group.members):
                sub.close()
