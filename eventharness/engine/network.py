"""Network faults a scenario injects between a service and its broker, and lifts again.

The engine does not know proxies: it is handed a :class:`Network` — the environment's proxies
(``eventharness.env.environment.Environment.network``), or anything that applies and lifts a
toxic for a service — and a toxic is any object with ``describe()`` (the toxics of
:mod:`eventharness.env.proxy`: latency, bandwidth, cut, reset_peer, timeout, slow_close)::

    cut = await s.network_fault("payments", Cut(), duration=5)   # lifted after 5 s
    ...
    await cut.lift()                                              # or earlier, by hand

A :class:`NetworkFault` is owned by its scenario: lifted when the scenario ends, whatever
happened, and noted on its timeline (applied, lifted, with ``t``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

from eventharness.model.durations import optional_seconds
from eventharness.model.events import monotonic
from eventharness.model.result import Note

__all__ = ["Network", "NetworkFault", "Toxic"]


class Toxic(Protocol):
    """What the engine needs of a network fault: how to name it."""

    def describe(self) -> str: ...


class Network(Protocol):
    """Where network faults go: a proxy in front of each service that has one."""

    async def add(self, service: str, toxic: Any, broker: str | None = None) -> str:
        """Apply ``toxic`` on the path of ``service`` (to ``broker``, which may be left out
        when the service reaches one only); the path's name (``payments→kafka``). UsageError
        when the service has no proxy."""

    async def remove(self, service: str, toxic: Any, broker: str | None = None) -> None:
        """Lift ``toxic`` (no-op when it is not applied)."""


class NetworkFault:
    """One toxic on one service's path, applied by a scenario; lifted by :meth:`lift`, after
    ``duration`` seconds when given, and at the latest when the scenario ends. Use it as an
    async context manager to lift it when a block ends."""

    def __init__(
        self,
        network: Network,
        service: str,
        toxic: Toxic,
        *,
        broker: str | None = None,
        duration: float | None = None,
        name: str | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.network = network
        self.service = service
        self.toxic = toxic
        self.broker = broker
        self.duration = optional_seconds("duration", duration)
        self.name = name or f"{toxic.describe()} on {service}"
        self.path = service if broker is None else f"{service}→{broker}"
        self.applied_at: float | None = None  # monotonic, once applied
        self.lifted_at: float | None = None
        self._wake = wake
        self._timer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<NetworkFault {self.describe()}>"

    def describe(self) -> str:
        """``cut on payments→kafka``."""
        return f"{self.toxic.describe()} on {self.path}"

    @property
    def planned_lift(self) -> float | None:
        """When it is (or was) lifted: the time it was, else the end of its ``duration``;
        None while it has neither."""
        if self.lifted_at is not None:
            return self.lifted_at
        if self.applied_at is not None and self.duration is not None:
            return self.applied_at + self.duration
        return None

    @property
    def active(self) -> bool:
        return self.applied_at is not None and self.lifted_at is None

    async def apply(self) -> None:
        if self.applied_at is not None:
            return
        self.path = await self.network.add(self.service, self.toxic, self.broker)
        self.applied_at = monotonic()
        if self.duration is not None:
            self._timer = asyncio.create_task(self._lift_later(self.duration))
        self._wake()

    async def _lift_later(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.lift()

    async def lift(self) -> None:
        """Lift it now (idempotent)."""
        timer, self._timer = self._timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        if not self.active:
            return
        try:
            await self.network.remove(self.service, self.toxic, self.broker)
        finally:
            self.lifted_at = monotonic()
            self._wake()

    def notes(self) -> list[Note]:
        """Its entries on the timeline."""
        found = []
        if self.applied_at is not None:
            length = f" for {self.duration:g}s" if self.duration is not None else ""
            found.append(Note(self.applied_at, f"network fault applied: {self.describe()}{length}"))
        if self.lifted_at is not None:
            found.append(Note(self.lifted_at, f"network fault lifted: {self.describe()}"))
        return found

    async def __aenter__(self) -> NetworkFault:
        await self.apply()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.lift()
