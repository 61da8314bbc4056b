"""Arming: subscribing what a scenario expects, and starting its stubs, before the trigger.

A scenario declares synchronously (``s.expect(...)``, ``s.stub(...)``) but subscribing is
asynchronous, so each declaration queues its channel or stub here and starts one arming task
at once: the first await anywhere in the scenario's block lets it run. ``await s.armed()``
returns once everything declared so far is armed; every await of the scenario — ``publish``,
``eventually``, ``first_event``, ``wait``, the end of the block — goes through it, so a
system triggered by the scenario's own publish can never beat the collector, and one
triggered another way (an HTTP call, a command, a write to a database) cannot either once
``armed()`` returned.

:attr:`Arming.first` is when the scenario was first fully armed: its windows are measured from
there, so the time a broker takes to subscribe (a Kafka consumer waits for its partitions) is
never charged to ``within``. An arming that fails (the broker refuses a subscription) keeps its
error for the next await of the scenario, which raises it.
"""

from __future__ import annotations

import asyncio
import contextlib

from eventharness.engine.port import Port
from eventharness.engine.stubs import Stub
from eventharness.model.channels import Channel
from eventharness.model.events import monotonic

__all__ = ["Arming"]


class Arming:
    """What a scenario still has to subscribe and start, and the one task doing it."""

    def __init__(self, port: Port, name: str) -> None:
        self._port = port
        self._name = name
        self._channels: dict[str, tuple[Channel, bool]] = {}  # name → (channel, consume_queue)
        self._stubs: list[Stub] = []
        self._task: asyncio.Task[None] | None = None
        self._error: Exception | None = None
        self._live = False
        self.first: float | None = None  # when the first arming completed (monotonic)

    def channel(self, channel: Channel, *, consume_queue: bool = False) -> None:
        """Subscribe ``channel`` (unless the harness observes it already), starting now."""
        name = str(channel)
        if not self._port.watching(name) and name not in self._channels:
            self._channels[name] = (channel, consume_queue)
        self._soon()

    def stub(self, stub: Stub) -> None:
        """Start ``stub``, starting now."""
        self._stubs.append(stub)
        self._soon()

    def start(self) -> None:
        """The scenario is running: arm what was declared so far, and from now on at once."""
        self._live = True
        if self._channels or self._stubs:
            self._soon()

    def _soon(self) -> None:
        if not self._live or self._error is not None:
            return
        if self._task is not None and not self._task.done():
            return  # it is suspended inside its loop, which takes what was just added
        if self._channels or self._stubs:
            self._task = asyncio.get_running_loop().create_task(
                self._arm(), name=f"arm scenario {self._name!r}"
            )
        elif self.first is None:
            self.first = monotonic()  # declared or awaited, with nothing to subscribe: armed

    async def _arm(self) -> None:
        try:
            while self._stubs:
                await self._stubs.pop(0).start()
            while self._channels:
                name, (channel, consume_queue) = next(iter(self._channels.items()))
                await self._port.watch(channel, consume_queue=consume_queue)
                self._channels.pop(name, None)
        except Exception as exc:  # kept for the scenario's next await, which raises it
            self._error = exc
            return
        if self.first is None:
            self.first = monotonic()

    @property
    def ready(self) -> bool:
        """Is everything declared so far armed, with no error to raise? (Then :meth:`wait`
        would return at once: the hot path skips it.)"""
        return (
            self.first is not None
            and self._error is None
            and not self._channels
            and not self._stubs
            and (self._task is None or self._task.done())
        )

    async def wait(self) -> None:
        """Return once everything declared so far is armed; raise why arming failed."""
        self._soon()
        task = self._task
        if task is not None and not task.done():
            await asyncio.shield(task)  # a cancelled caller leaves the arming to finish
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def close(self) -> bool:
        """The scenario ends: arm nothing more. False when an arming task is still running:
        then await :meth:`aclose`, which stops it."""
        self._live = False
        return self._task is None or self._task.done()

    async def aclose(self) -> None:
        """The scenario ends: stop arming (a subscription half made is the collector's)."""
        if self.close():
            return
        task = self._task
        assert task is not None  # close() said one is running
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
