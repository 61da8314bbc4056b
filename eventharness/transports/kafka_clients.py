"""Small pieces the Kafka transport's clients share: closing an aiokafka client within a
timeout whatever it does, and reading the per-topic errors of an admin response."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

__all__ = ["CLOSE_TIMEOUT_S", "quietly", "topic_errors"]

CLOSE_TIMEOUT_S = 5.0


def topic_errors(response: Any) -> list[tuple[str, int, str | None]]:
    """(topic, error code, message) from a CreateTopics/DeleteTopics response of any version."""
    entries = getattr(response, "topic_errors", None)
    if entries is None:
        entries = getattr(response, "topic_error_codes", [])
    result = []
    for entry in entries:
        topic, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        result.append((topic, int(code), message))
    return result


async def quietly(closing: Awaitable[Any]) -> None:
    """Close a client within the close timeout; a failure to close must not hide the error that
    got us here. A close still running at the deadline is cancelled and left behind: unlike
    ``asyncio.wait_for``, which waits for the cancelled close to finish (aiokafka's fetcher
    close suppresses ``CancelledError``), this never waits longer than the timeout."""
    task = asyncio.ensure_future(closing)
    try:
        await asyncio.wait([task], timeout=CLOSE_TIMEOUT_S)
    finally:
        if not task.done():
            task.cancel()
            task.add_done_callback(_retrieve)
    if task.done():
        _retrieve(task)


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a close's outcome as seen: an abandoned close must not log "never retrieved"."""
    if not task.cancelled():
        task.exception()
