"""The collector: one observer subscription per channel, events routed to scenarios.

Subscriptions are opened (armed) before a scenario's first publish and shared by every scenario
of the harness. Each delivered record is decoded once and routed by its correlation values with
dict lookups, so the cost per event does not grow with the number of scenarios in flight.
Events nobody claimed are kept in a bounded buffer per channel, for "nearest miss" diagnostics.

A subscription that breaks (its broker restarted or went away) is recorded as a
:class:`CollectionStopped` with the time it happened, which fails the scenarios waiting on that
channel at once, and then forgotten: the next :meth:`Collector.watch` of the channel subscribes
again (the transport reconnects), so the next scenario starts clean. Events already routed stay
with the scenarios that received them.

Pump tasks are plain asyncio tasks: every broker client we wrap is asyncio-only, and a harness
must be able to open in one task and close in another (pytest fixtures do that), which a
structured task group would forbid.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from eventharness.engine.correlation import Correlation
from eventharness.model.channels import Channel
from eventharness.model.errors import BrokerError, EventHarnessError
from eventharness.model.events import Decoder, Event, Record, event_from_record, monotonic
from eventharness.transports.base import Subscription, Transport

__all__ = ["CollectionStopped", "Collector", "Sink"]

Sink = Callable[[Event], None]

# How long a cancelled pump may take to stop once its subscription is closed.
PUMP_STOP_TIMEOUT_S = 5.0


class CollectionStopped(BrokerError):
    """Collecting a channel stopped because its subscription broke; ``at`` is when
    (monotonic), ``cause`` the transport's error (also the ``__cause__``)."""

    def __init__(self, channel: str, cause: BaseException, at: float) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.channel = channel
        self.cause = cause
        self.at = at
        self.__cause__ = cause


class Collector:
    def __init__(
        self,
        transports: Mapping[str, Transport],
        *,
        correlation: Correlation | None = None,
        decoder: Decoder | None = None,
        unrelated_limit: int = 500,
    ) -> None:
        self._transports = transports
        self.correlation = correlation or Correlation()
        self._decoder = decoder
        self._routes: dict[str, Sink] = {}
        self._subs: dict[str, Subscription] = {}
        self._since: dict[str, float] = {}  # when each subscription was armed (monotonic)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._unrelated: dict[str, deque[Event]] = {}
        self._unrelated_limit = unrelated_limit
        self._errors: dict[str, CollectionStopped] = {}
        self._listeners: set[Callable[[], None]] = set()
        self._closed = False
        self._seq = itertools.count(1)

    # -- subscriptions ---------------------------------------------------------------------

    def watching(self, channel: str) -> bool:
        return channel in self._subs

    def since(self, channel: str) -> float | None:
        """When ``channel``'s subscription was armed (monotonic); None when it never was."""
        return self._since.get(channel)

    async def watch(self, channel: Channel, *, consume_queue: bool = False) -> None:
        """Make sure ``channel`` is observed; returns once the subscription is armed."""
        name = str(channel)
        if name in self._subs:
            return
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            if name in self._subs:
                return
            if self._closed:
                raise EventHarnessError("the harness is closed; open a new one")
            transport = self._transports[channel.broker]
            sub = await transport.subscribe(channel.address, consume_queue=consume_queue)
            self._errors.pop(name, None)  # subscribed again after a broken subscription
            self._subs[name] = sub
            self._since[name] = monotonic()
            self._unrelated[name] = deque(maxlen=self._unrelated_limit)
            self._tasks[name] = asyncio.create_task(self._pump(name, sub), name=f"collect {name}")

    async def _pump(self, name: str, sub: Subscription) -> None:
        try:
            deliver_to = getattr(sub, "deliver_to", None)
            next_batch = getattr(sub, "next_batch", None)
            if deliver_to is not None:  # the memory broker: routed inside the publish
                await deliver_to(lambda record: self.route(self._event(name, record)))
            elif next_batch is not None:  # Kafka, RabbitMQ: one await per batch, not per record
                while True:
                    try:
                        batch = await next_batch()
                    except StopAsyncIteration:
                        break
                    for record in batch:
                        self.route(self._event(name, record))
            else:
                async for record in sub:
                    self.route(self._event(name, record))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a broken subscription: every waiter must hear of it
            self._errors[name] = CollectionStopped(name, exc, monotonic())
            if self._subs.get(name) is sub:  # the next watch() subscribes again
                del self._subs[name]
                self._since.pop(name, None)
                self._tasks.pop(name, None)
            await _close_quietly(sub)
            self._notify()

    def _event(self, name: str, record: Record) -> Event:
        try:
            return event_from_record(
                name, record, decoder=self._decoder, payload_field=self.correlation.payload_field
            )
        except Exception as exc:  # a decoder bug must not stop collection
            return Event(
                channel=name,
                value=record.value,
                raw=record.value,
                received=record.received,
                decode_error=f"cannot decode: {type(exc).__name__}: {exc}",
            )

    def error(self, channel: str) -> CollectionStopped | None:
        return self._errors.get(channel)

    def broken(self) -> bool:
        """Has any collection stopped? (Asked on every wake-up: one dict test.)"""
        return bool(self._errors)

    # -- routing ---------------------------------------------------------------------------

    def next_seq(self) -> int:
        return next(self._seq)

    def route(self, event: Event) -> None:
        event.seq = next(self._seq)
        routes = self._routes
        if not self.correlation.rules:  # the common case: one lookup by the event's own id
            sink = routes.get(event.correlation_id) if event.correlation_id else None
            if sink is not None:
                sink(event)
                return
        for value in self.correlation.candidates(event):
            sink = routes.get(value)
            if sink is not None:
                sink(event)
                return
        event.release_value()
        self._unrelated[event.channel].append(event)

    def register(self, value: str, sink: Sink) -> None:
        """Send events carrying correlation value ``value`` to ``sink``."""
        owner = self._routes.get(value)
        if owner is not None and owner is not sink:
            raise EventHarnessError(
                f"correlation value {value!r} is already claimed by another running scenario; "
                "use a unique business key per scenario (e.g. ${uuid} in the order id)"
            )
        self._routes[value] = sink

    def unregister(self, value: str) -> None:
        self._routes.pop(value, None)

    def unrelated(self, channel: str) -> list[Event]:
        """Recent events on ``channel`` that no scenario claimed (bounded)."""
        return list(self._unrelated.get(channel, ()))

    # -- broken-pump notification ----------------------------------------------------------

    def add_listener(self, callback: Callable[[], None]) -> None:
        self._listeners.add(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        self._listeners.discard(callback)

    def wake(self) -> None:
        """Wake every listener (something they wait on changed: an incident came)."""
        self._notify()

    def _notify(self) -> None:
        for callback in list(self._listeners):
            callback()

    async def aclose(self) -> None:
        """Stop every pump and close every subscription, all at once: the close takes one
        subscription close plus at most :data:`PUMP_STOP_TIMEOUT_S`, never longer.

        A pump is cancelled *and* its subscription closed, so a pump whose client swallowed
        the cancellation still ends (a closed subscription ends its iteration). A pump still
        running after that is left behind with a warning saying where it was."""
        self._closed = True
        tasks = dict(self._tasks)
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*(_close_quietly(sub) for sub in self._subs.values()))
        if tasks:
            await asyncio.wait(tasks.values(), timeout=PUMP_STOP_TIMEOUT_S)
        for name, task in tasks.items():
            if not task.done():
                warnings.warn(
                    f"closing the collector: the reader of {name} did not stop within "
                    f"{PUMP_STOP_TIMEOUT_S:g} s of being cancelled and closed (it was at "
                    f"{_where(task)}); it is left running",
                    RuntimeWarning,
                    stacklevel=2,
                )
        self._subs.clear()
        self._since.clear()
        self._tasks.clear()
        self._routes.clear()


async def _close_quietly(sub: Subscription) -> None:
    with contextlib.suppress(BrokerError, OSError, RuntimeError):
        await sub.aclose()


def _where(task: asyncio.Task[None]) -> str:
    """Where a task is suspended: its innermost frames outside asyncio, ``file:line function``
    joined by arrows (``kafka.py:392 _fill → consumer.py:1197 getmany → …``)."""
    frames: list[str] = []
    coro: Any = task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
        if frame is not None and f"{os.sep}asyncio{os.sep}" not in frame.f_code.co_filename:
            name = os.path.basename(frame.f_code.co_filename)
            frames.append(f"{name}:{frame.f_lineno} {frame.f_code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
    return " → ".join(frames[-3:]) or "an unknown point"
