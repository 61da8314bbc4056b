"""What a Kafka publish's outcome means, in our terms: the errors of a send mapped to the
error tree, and the acknowledgement of a batched send as a future of its position.

Apart from :mod:`~eventharness.transports.kafka` so that the transport reads as connection,
publishing and subscribing; this module imports aiokafka only for its error classes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NoBrokersAvailable,
    NodeNotReadyError,
    RequestTimedOutError,
)

from eventharness.model.channels import BrokerURL
from eventharness.model.errors import BrokerError, BrokerUnavailable, ChannelNotFound
from eventharness.model.events import Position

__all__ = ["PUBLISH_ERRORS", "UNREACHABLE", "acknowledgement", "publish_error"]

UNREACHABLE = (
    KafkaConnectionError,
    NoBrokersAvailable,
    NodeNotReadyError,
    KafkaTimeoutError,
    RequestTimedOutError,
    OSError,
    TimeoutError,
)
PUBLISH_ERRORS = (KafkaError, OSError, TimeoutError)


def publish_error(
    url: BrokerURL, address: str, exc: BaseException, known_topics: Callable[[], set[str]]
) -> BrokerError:
    """An error of a publish to ``address`` as ours (the caller chains it). A timeout on a
    topic the cluster does not know means the topic is missing and was not auto-created."""
    if isinstance(exc, KafkaTimeoutError):
        if address not in known_topics():
            return ChannelNotFound(
                f"topic {address!r} does not exist on {url} and was not created "
                "automatically; create it first (e.g. create_channel)"
            )
        return BrokerUnavailable(
            f"publish to {address!r}: Kafka at {url} did not acknowledge in time"
        )
    if isinstance(exc, UNREACHABLE):
        return BrokerUnavailable(f"publish to {address!r}: Kafka at {url} is unreachable ({exc})")
    return BrokerError(f"publish to {address!r} on {url} failed: {type(exc).__name__}: {exc}")


def acknowledgement(
    sent: asyncio.Future[Any], error: Callable[[BaseException], BrokerError]
) -> asyncio.Future[Position]:
    """A future of the position of a record aiokafka's ``send()`` buffered (``sent`` resolves
    to its RecordMetadata), failing with ``error(exc)`` (chained) when the send fails."""
    acked: asyncio.Future[Position] = asyncio.get_running_loop().create_future()

    def done(future: asyncio.Future[Any]) -> None:
        if acked.done():
            return
        if future.cancelled():
            acked.set_exception(BrokerError("the publish was cancelled before the broker had it"))
        elif (exc := future.exception()) is not None:
            mapped = error(exc)
            mapped.__cause__ = exc
            acked.set_exception(mapped)
        else:
            metadata = future.result()
            acked.set_result(Position(partition=metadata.partition, offset=metadata.offset))

    sent.add_done_callback(done)
    return acked
