"""aiokafka's consumer records as :class:`~eventharness.model.events.Record` objects: the loop
that runs for every record a Kafka subscription reads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eventharness.model.events import Position, Record

__all__ = ["records_of"]


def records_of(batches: Iterable[list[Any]], received: float) -> Iterable[Record]:
    for batch in batches:
        if not batch:
            continue
        properties = {"topic": batch[0].topic}  # read-only Mapping, shared by the batch
        for message in batch:  # positional arguments: this loop runs for every record
            raw_headers = message.headers
            timestamp = message.timestamp
            value = message.value
            partition = message.partition
            yield Record(
                value if value is not None else b"",
                message.key,
                {name: v or b"" for name, v in raw_headers} if raw_headers else {},
                properties,
                partition,
                Position(partition, message.offset),
                timestamp / 1000 if timestamp is not None and timestamp >= 0 else None,
                received,
            )
