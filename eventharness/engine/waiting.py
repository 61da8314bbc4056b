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
    """Wakes every waiter at once (:meth:`wake`); a waiter sleeps until woken or until its
    ``seconds`` pass (:meth:`wait`)."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, seconds: float) -> None:
        """Sleep until :meth:`wake` or ``seconds`` pass.

        A bare future and a timer: no task per wait (``asyncio.wait_for`` makes one), and no
        lost wake-up, since nothing runs between the caller's check and this registration."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(max(0.0, seconds), _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiters.remove(waiter)

    async def until(self, done: Callable[[], bool], end: float) -> bool:
        """Wait until ``done()`` holds (True) or the monotonic time ``end`` passes (False)."""
        while not done():
            remaining = end - monotonic()
            if remaining <= 0:
                return False
            await self.wait(remaining)
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
        await changed.wait(min(pending) - now)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
