"""Closing a harness is bounded even when a broker client misbehaves: never a hang.

The subscription here behaves like the Kafka observer did on Python 3.11, when
``asyncio.wait_for`` returned an answer that arrived in the same turn as the close's cancel
and its reader read on as if nothing had happened.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Self

import pytest

import eventharness as eh
from eventharness.engine import collector
from eventharness.model.events import Record
from eventharness.transports.memory.transport import MemoryTransport


class StubbornSubscription:
    """Reads on after every cancellation; only ``aclose`` (if ``closable``) ends it."""

    def __init__(self, *, closable: bool) -> None:
        self.closable = closable
        self.closed = False
        self.swallowed = 0
        self.reading = asyncio.Event()  # set once the pump has asked for a record

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Record:
        self.reading.set()
        while not (self.closed and self.closable):
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                self.swallowed += 1  # what the 3.11 wait_for race did: read on
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self.closed = True


class StubbornTransport(MemoryTransport):
    """The memory transport, its subscriptions replaced by stubborn ones (injected)."""

    def __init__(self, url: str, *, closable: bool) -> None:
        super().__init__(url)
        self.closable = closable
        self.subs: list[StubbornSubscription] = []

    async def subscribe(self, address: str, **options: Any) -> StubbornSubscription:  # type: ignore[override]
        sub = StubbornSubscription(closable=self.closable)
        self.subs.append(sub)
        return sub


async def open_and_close(transport: StubbornTransport, limit: float) -> float:
    """Watch a channel, close the harness, and return how long the close took. A close still
    running after ``limit`` s fails the test (waited for, not cancelled: a hung close may
    swallow a cancel too); the stubborn readers are released either way."""
    harness = eh.Harness({"b": transport})
    await harness.connect()
    await harness.collector.watch(harness.channel("b:orders"))
    async with asyncio.timeout(5):  # the pump is reading
        await transport.subs[0].reading.wait()
    started = time.monotonic()
    closing = asyncio.ensure_future(harness.aclose())
    try:
        done, _ = await asyncio.wait([closing], timeout=limit)
        took = time.monotonic() - started
    finally:
        for sub in transport.subs:  # let every reader end with the test
            sub.closable = sub.closed = True
    if not done:
        await closing
        pytest.fail(f"closing the harness hung: not done after {limit} s")
    closing.result()
    return took


async def test_a_reader_that_swallows_its_cancellation_ends_when_its_subscription_closes(
    memory_url: str,
) -> None:
    transport = StubbornTransport(memory_url, closable=True)
    took = await open_and_close(transport, limit=10)
    assert transport.subs[0].swallowed >= 1  # the cancel really was swallowed
    assert transport.subs[0].closed
    assert took < 1.0, f"close took {took:.2f} s"


async def test_a_reader_that_never_stops_is_left_behind_with_a_warning(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector, "PUMP_STOP_TIMEOUT_S", 0.3)
    transport = StubbornTransport(memory_url, closable=False)
    with pytest.warns(RuntimeWarning) as warned:
        took = await open_and_close(transport, limit=5)
    assert 0.3 <= took < 2.0, f"close took {took:.2f} s"
    message = str(warned[0].message)
    assert "the reader of b:orders did not stop within 0.3 s" in message
    assert "test_closing.py" in message and "__anext__" in message  # where it was
