"""Chaos in a scenario: network faults between a service and its broker, and the recovery
expected once they are lifted.

:class:`Chaos` is a part of :class:`~eventharness.engine.scenario.Scenario` (a base, like
:class:`~eventharness.engine.checks.Checks`)::

    async with harness.scenario("payments survive a cut") as s:
        s.expect_recovery("kafka:payments", type="PaymentAuthorized", within=30)
        await s.network_fault("payments", Cut(), duration=5)   # eventharness.env.proxy.Cut
        for n in range(10):
            await s.publish("kafka:orders", order(n), key=f"o-{n}")

The faults go to the harness's :class:`~eventharness.engine.network.Network` (the
environment's proxies); the scenario owns each one (lifted when it ends, noted on its
timeline), and judges each recovery with its expectations
(:mod:`~eventharness.engine.recovery`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eventharness.engine.expectations import Expectation
from eventharness.engine.matchers import Matcher
from eventharness.engine.network import NetworkFault, Toxic
from eventharness.engine.port import Port
from eventharness.engine.recovery import Recovery
from eventharness.engine.waiting import Wakeup
from eventharness.model.durations import optional_seconds
from eventharness.model.errors import UsageError
from eventharness.model.events import Event
from eventharness.model.result import Note

__all__ = ["NO_NETWORK", "Chaos"]

NO_NETWORK = (
    "network faults need the proxies of an environment: put proxy = true on the service in "
    "the profile and run with `eventharness run` (which starts it), or pass "
    "Harness(network=env.network) from a test that owns the Environment"
)


class Chaos:
    """Network faults and recoveries of a scenario (its own state, declared here)."""

    __slots__ = ()

    name: str
    harness: Port
    events: list[Event]
    _changed: Wakeup
    _network: list[NetworkFault]
    _add: Callable[..., Expectation]  # the scenario's
    _require_entered: Callable[[], None]

    @property
    def _owned(self) -> contextlib.AsyncExitStack:  # the scenario's
        raise NotImplementedError

    async def network_fault(
        self,
        service: str,
        toxic: Toxic,
        *,
        broker: str | None = None,
        duration: float | None = None,
        name: str | None = None,
    ) -> NetworkFault:
        """Apply ``toxic`` (:mod:`eventharness.env.proxy`: ``Latency(0.2)``, ``Cut()``, ...)
        between ``service`` and ``broker`` (left out: the one it reaches) now; lifted after
        ``duration`` seconds when given, by ``await fault.lift()``, and when the scenario ends
        at the latest. Returns the fault (an async context manager too)."""
        self._require_entered()
        network = self.harness.network
        if network is None:
            raise UsageError(f"network fault on {service!r}: {NO_NETWORK}")
        fault = NetworkFault(
            network,
            service,
            toxic,
            broker=broker,
            duration=duration,
            name=name,
            wake=self._changed.wake,
        )
        self._owned.push_async_callback(fault.lift)
        await fault.apply()
        self._network.append(fault)
        return fault

    def network_faults(self, name: str | None = None) -> list[NetworkFault]:
        """The faults applied so far (named ``name``, when given)."""
        return [f for f in self._network if name is None or f.name == name]

    def expect_recovery(
        self,
        channel: str,
        *,
        type: str | None = None,
        match: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
        fault: NetworkFault | str | None = None,
        by: str = "key",
        of: str | Sequence[str] | None = None,
        within: float | None = None,
        allow_duplicates: bool = False,
        name: str | None = None,
    ) -> Expectation:
        """Once ``fault`` (a handle, the name of one, or None: the last one the scenario
        applies) is lifted, every message the scenario published before the lift whose flow
        had not completed when the fault was applied is completed, within ``within`` seconds
        of the lift, by one event on ``channel`` that matches and carries the same value at
        ``by`` (``key``, ``value.order_id``): none lost, none twice unless
        ``allow_duplicates``. ``of``: only messages published on these channels. Declare it
        before the fault, so the channel is watched from the start."""
        optional_seconds("within", within)
        if not isinstance(by, str) or not by:
            raise UsageError(f"by must be a path like 'key' or 'value.order_id', got {by!r}")
        return self._add(
            Recovery,
            channel,
            Matcher(type=type, match=match, fields=fields),
            within=within,
            after=None,
            name=name,
            default_name="recovery",
            allow_duplicates=allow_duplicates,
            fault=self._finder(fault),
            by=by,
            of=(of,) if isinstance(of, str) else of,
            published=lambda: [ev for ev in self.events if ev.direction == "out"],
        )

    def _finder(self, fault: NetworkFault | str | None) -> Callable[[], NetworkFault | None]:
        if isinstance(fault, NetworkFault):
            return lambda: fault
        if fault is not None and not isinstance(fault, str):
            raise UsageError(f"fault must be a NetworkFault or its name, got {fault!r}")

        def find() -> NetworkFault | None:
            found = self.network_faults(fault)
            return found[-1] if found else None

        return find

    def network_notes(self) -> list[Note]:
        """The faults on the timeline: applied, lifted."""
        return [note for fault in self._network for note in fault.notes()]
