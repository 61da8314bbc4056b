"""Incidents: faults of the infrastructure around a run, reported to the harness from outside.

The environment that started the system under test (a service that exited, a broker that went
away) reports each one to :meth:`Incidents.report` — from any thread, through
:meth:`Incidents.report_threadsafe`. Every scenario running at that moment fails with kind
``error`` naming it, when it happened on the scenario's timeline, and the details given (a log
tail); a *standing* incident (a service that stays down) also fails every scenario that starts
before it is :meth:`resolved <Incidents.resolve>` (the service was restarted), as not run.

    incidents.report("service 'payments'", "exited with code 137", details=tail, standing=True)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eventharness.model.events import monotonic

__all__ = ["Incident", "Incidents"]


@dataclass(frozen=True)
class Incident:
    """One fault: what (``source``: ``service 'payments'``), what happened, when (monotonic)."""

    source: str
    message: str
    at: float
    details: tuple[str, ...] = ()
    standing: bool = False
    resolved_at: float | None = field(default=None, compare=False)

    def describe(self, began: float, started: float) -> str:
        """The failure text for a scenario that began (monotonic) at ``began``."""
        if self.at < began:
            return (
                f"not run: {self.source} {self.message} at t={self.at - started:.1f}s, before "
                "this scenario started, and has not come back"
            )
        return f"{self.source} {self.message} at t={self.at - started:.1f}s during this scenario"


class Incidents:
    """The incidents of one harness, and who to wake when one comes."""

    def __init__(self, notify: Callable[[], None]) -> None:
        self._notify = notify
        self._all: list[Incident] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop scenarios run on (for :meth:`report_threadsafe`)."""
        self._loop = loop

    def report(
        self,
        source: str,
        message: str,
        *,
        details: Sequence[str] = (),
        standing: bool = False,
        at: float | None = None,
    ) -> Incident:
        incident = Incident(
            source, message, monotonic() if at is None else at, tuple(details), standing
        )
        self._all.append(incident)
        self._notify()
        return incident

    def report_threadsafe(
        self, source: str, message: str, *, details: Sequence[str] = (), standing: bool = False
    ) -> None:
        """:meth:`report` from another thread (a process watcher); the time is taken now."""
        at = monotonic()
        loop = self._loop
        if loop is None or loop.is_closed():
            self._all.append(Incident(source, message, at, tuple(details), standing))
            return
        loop.call_soon_threadsafe(
            lambda: self.report(source, message, details=details, standing=standing, at=at)
        )

    def resolve(self, source: str) -> None:
        """``source`` is back: its standing incidents no longer fail new scenarios."""
        now = monotonic()
        self._all = [
            Incident(i.source, i.message, i.at, i.details, i.standing, now)
            if i.source == source and i.standing and i.resolved_at is None
            else i
            for i in self._all
        ]

    def resolve_threadsafe(self, source: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            self.resolve(source)
        else:
            loop.call_soon_threadsafe(self.resolve, source)

    def during(self, began: float) -> list[Incident]:
        """The incidents that fail a scenario that began at ``began``: those since then, and
        the standing ones still unresolved then."""
        return [
            i
            for i in self._all
            if i.at >= began or (i.standing and (i.resolved_at is None or i.resolved_at > began))
        ]

    def any(self) -> bool:
        return bool(self._all)
