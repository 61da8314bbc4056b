"""Waiting without polling: a scenario sleeps until something changed or its time is up.

Every routed event (and a broken collection) wakes all who wait; each then looks again at
what it waits for and, if that is not there yet, waits again with the time it has left:
:meth:`Wakeup.until` for one condition, :func:`until_judged` for every expectation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from eventharness.engine.expectations import Expectation
from eventharness.model.events import monotonic

__all__ = ["Wakeup", "until_judged"]


class Wakeup:
    """Wakes every waiter at once (:meth:`wake`); a waiter sleeps until woken or until the
    monotonic time it gives (:meth:`wait_until`). :meth:`close` when done with it."""

    __slots__ = ("_end", "_timer", "_waiters")

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._end = 0.0  # when the timer fires (monotonic, the event loop's clock)

    def wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, seconds: float) -> None:
        """Sleep until :meth:`wake` or ``seconds`` pass."""
        await self.wait_until(monotonic() + max(0.0, seconds))

    async def wait_until(self, end: float) -> None:
        """Sleep until :meth:`wake` or the monotonic time ``end`` (or earlier: callers look
        again at what they wait for and wait again).

        A bare future (no task per wait, as ``asyncio.wait_for`` makes, and no lost wake-up,
        since nothing runs between the caller's check and this registration) and one timer
        kept across waits: a scenario woken by each of its events waits for the same deadline
        every time, and schedules it once."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        if self._timer is None or self._end > end:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(end, self._expired)  # asyncio's clock is monotonic()
            self._end = end
        try:
            await waiter
        finally:
            self._waiters.remove(waiter)

    def _expired(self) -> None:
        self._timer = None
        self.wake()

    def close(self) -> None:
        """Cancel the timer (it would keep this object, and its owner, until it fired)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def until(self, done: Callable[[], bool], end: float) -> bool:
        """Wait until ``done()`` holds (True) or the monotonic time ``end`` passes (False)."""
        while not done():
            if end - monotonic() <= 0:
                return False
            await self.wait_until(end)
        return True


async def until_judged(
    expectations: Sequence[Expectation],
    started: float,
    changed: Wakeup,
    stop: Callable[[], bool],
) -> bool:
    """Wait until no expectation is pending any more, one failed, or ``stop()`` (a broken
    collection, a schema violation) holds; whether one failed. Windows count from
    ``started``."""
    while True:
        now = monotonic()
        pending: list[float] = []
        for exp in expectations:
            verdict, _ = exp.judge(now, started)
            if verdict == "failed":
                return True
            if verdict == "pending":
                deadline = exp.deadline(started)
                pending.append(deadline if deadline is not None else now + exp.within)
        if not pending or stop():
            return False
        await changed.wait_until(min(pending))
