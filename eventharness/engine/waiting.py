"""Waiting without polling: a scenario sleeps until something changed or its time is up.

Every routed event (and a broken collection) wakes all who wait; each then looks again at
what it waits for and, if that is not there yet, waits again with the time it has left.
"""

from __future__ import annotations

import asyncio

__all__ = ["Wakeup"]


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


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
