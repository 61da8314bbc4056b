"""A scenario's spans, when tracing is on: the engine's side of :mod:`eventharness.tracing`.

:func:`traced` is None when the harness has no tracing — the scenario then tests one
attribute per publish and per event, and nothing else runs. Otherwise it opens the scenario's
root span; :meth:`Traced.publish` opens a PRODUCER span whose traceparent the message carries,
:func:`sent` closes it with the broker's answer, :meth:`Traced.collected` records a CONSUMER
span per collected event, :func:`polled` makes a ``probe NAME`` span of an ``eventually`` and
:meth:`Traced.end` closes the root with the verdict. (A stub's answers and the faults applied
to messages have spans too: :mod:`~eventharness.engine.stubs`, :mod:`~eventharness.engine.faults`.)
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any

from eventharness.engine.port import Port
from eventharness.engine.probes import Probe, ProbeResult, describe_probe, poll
from eventharness.model.channels import Channel, parse_channel
from eventharness.model.events import Event, monotonic
from eventharness.model.result import ScenarioResult
from eventharness.tracing.base import PublishSpan, ScenarioTrace, messaging_system

__all__ = ["Traced", "join_spans", "polled", "sent", "traced"]


class Traced:
    """One scenario's trace, and the ``messaging.system`` of each broker it uses."""

    def __init__(self, port: Port, trace: ScenarioTrace) -> None:
        self._port = port
        self._trace = trace
        self._systems: dict[str, str] = {}

    def _system(self, broker: str) -> str:
        system = self._systems.get(broker)
        if system is None:
            try:
                url: Any = getattr(self._port.transport(broker), "url", None)
            except Exception:  # an unknown broker fails elsewhere, with its own message
                url = None
            system = self._systems[broker] = messaging_system(getattr(url, "scheme", None))
        return system

    def publish(self, channel: Channel) -> PublishSpan:
        return self._trace.publish(channel, self._system(channel.broker))

    def collected(self, event: Event) -> None:
        self._trace.collected(event, self._system(parse_channel(event.channel).broker))

    async def polled(
        self, probe: Probe, name: str | None, *, within: float, interval: float
    ) -> tuple[ProbeResult, int]:
        label = name or describe_probe(probe)
        tracing = self._port.tracing
        assert tracing is not None  # a Traced exists only when tracing is on
        span = tracing.span(
            f"probe {label}", self._trace.traceparent, attributes={"eventharness.probe": label}
        )
        outcome, attempts = await poll(probe, within=within, interval=interval)
        span.end(
            error=None if outcome.ok else f"did not hold within {within:g}s: {outcome.detail}",
            attributes={
                "eventharness.probe.attempts": attempts,
                "eventharness.probe.ok": outcome.ok,
            },
        )
        return outcome, attempts

    def end(self, result: ScenarioResult) -> None:
        failures = [f"{f.kind}: {f.step}" for f in result.failures]
        self._trace.end(passed=result.passed, failures=failures)


def traced(port: Port, name: str, correlation_id: str) -> Traced | None:
    """The scenario's trace, its root span open; None when tracing is off."""
    tracing = port.tracing
    if tracing is None:
        return None
    return Traced(port, tracing.scenario(name, correlation_id))


def join_spans(port: Port, result: ScenarioResult) -> None:
    """Put the spans received for the scenario's trace on its result, with the wall-clock
    time of its start that places them on the timeline."""
    receiver = port.receiver
    if receiver is None:
        return
    result.spans = receiver.spans(result.correlation_id)
    result.started_unix_ns = time.time_ns() - int((monotonic() - result.started) * 1e9)


async def polled(
    trace: Traced | None, probe: Probe, name: str | None, *, within: float, interval: float
) -> tuple[ProbeResult, int]:
    """:func:`~eventharness.engine.probes.poll`, in a ``probe NAME`` span when tracing is on."""
    if trace is None:
        return await poll(probe, within=within, interval=interval)
    return await trace.polled(probe, name, within=within, interval=interval)


async def sent(span: PublishSpan, event: Event, sending: Awaitable[Any]) -> None:
    """Await ``sending`` and close the publish span with its outcome (the error, if any)."""
    try:
        await sending
    except BaseException as exc:
        span.end(event, f"{type(exc).__name__}: {exc}")
        raise
    span.end(event)
