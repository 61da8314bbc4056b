"""Checks on traces: ``trace: propagated`` and ``expect_span``, judged on the spans the system
under test sent (a span receiver's) once the scenario's expectations are judged.

* :class:`Propagation` — every collected event (of the scenario, or of one expectation)
  carries the scenario's trace id, and its parent span is a span of the flow: one the harness
  published or one a service exported. Where the chain breaks, the ``trace`` failure names
  the first channel in time order, and the service that last had the context — one that
  received in the trace and published nothing in it.
* :class:`SpanExpectation` — a span of the trace with this service, name, attributes (the
  matcher vocabulary of :mod:`~eventharness.engine.matchers`), status and duration bounds.

Spans come late (services export in batches): the scenario waits, woken by the receiver, until
every check holds or its window passes (:func:`hold`), then :func:`trace_failures` judges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventharness.engine.expectations import Expectation
from eventharness.engine.matchers import check_spec, compare
from eventharness.model.errors import UsageError
from eventharness.model.events import Event
from eventharness.model.result import Failure
from eventharness.model.spans import Span

__all__ = [
    "SPAN_STATUSES",
    "Propagation",
    "SpanExpectation",
    "SpanLookup",
    "hold",
    "propagated",
    "propagation_break",
    "trace_failures",
]

SPAN_STATUSES = ("unset", "ok", "error")


@dataclass(frozen=True)
class Propagation:
    """``trace: propagated`` on the scenario (``step`` None) or on one expectation."""

    step: Expectation | None = None

    @property
    def name(self) -> str:
        return f"{self.step.name if self.step else 'scenario'} trace propagated"

    def events(self, events: Sequence[Event]) -> list[Event]:
        if self.step is not None:
            return list(self.step.matched)
        return [event for event in events if event.direction == "in"]


@dataclass(frozen=True)
class SpanExpectation:
    """A span the trace must hold."""

    name: str
    service: str | None = None
    span: str | None = None  # the span's name
    attributes: Mapping[str, Any] = field(default_factory=dict)
    status: str | None = None
    min_duration: float | None = None
    max_duration: float | None = None

    def __post_init__(self) -> None:
        check_spec(dict(self.attributes), "attributes")
        if self.status is not None and self.status not in SPAN_STATUSES:
            raise UsageError(
                f"expect_span {self.name!r}: status {self.status!r} is not one of "
                f"{', '.join(SPAN_STATUSES)}"
            )
        low, high = self.min_duration, self.max_duration
        if low is not None and high is not None and low > high:
            raise UsageError(
                f"expect_span {self.name!r}: min_duration {low}s is above max_duration {high}s"
            )

    def diff(self, span: Span) -> list[str]:
        """Why ``span`` is not it (empty: it is)."""
        diffs: list[str] = []
        if self.service is not None and span.service != self.service:
            diffs.append(f"service: expected {self.service!r}, got {span.service!r}")
        if self.span is not None and span.name != self.span:
            diffs.append(f"name: expected {self.span!r}, got {span.name!r}")
        for key, spec in self.attributes.items():
            compare(span.attributes.get(key), spec, f"attributes.{key}", diffs)
        if self.status is not None and span.status != self.status:
            diffs.append(f"status: expected {self.status}, got {span.status}")
        duration = span.duration_s
        if self.min_duration is not None and duration < self.min_duration:
            diffs.append(f"duration: {duration:.3f}s is under {self.min_duration}s")
        if self.max_duration is not None and duration > self.max_duration:
            diffs.append(f"duration: {duration:.3f}s is over {self.max_duration}s")
        return diffs

    def describe(self) -> str:
        parts = [f"service={self.service}"] if self.service else []
        parts += [f"name={self.span}"] if self.span else []
        parts += [f"attributes={dict(self.attributes)}"] if self.attributes else []
        parts += [f"status={self.status}"] if self.status else []
        return " ".join(parts) or "any span"


def propagated(value: str) -> bool:
    """``trace=`` is ``"propagated"`` (the one trace rule there is); UsageError otherwise."""
    if value != "propagated":
        raise UsageError(f"trace: {value!r} is not a trace rule; write trace: propagated")
    return True


def _parent(event: Event) -> str | None:
    parts = (event.traceparent or "").split("-")
    return parts[2] if len(parts) >= 4 else None


def _lost_after(spans: Sequence[Span]) -> str | None:
    """The service that last had the context: it received in the trace, sent nothing in it."""
    sent = {span.service for span in spans if span.kind == "producer"}
    received = [span for span in spans if span.kind in ("consumer", "server")]
    for span in sorted(received, key=lambda s: s.start_ns, reverse=True):
        if span.service not in sent:
            return f"service {span.service!r} ({span.name}) received it and did not pass it on"
    return None


def propagation_break(
    check: Propagation,
    trace_id: str,
    events: Sequence[Event],
    spans: Sequence[Span],
    own: Iterable[str],
) -> tuple[Event, str] | None:
    """(the first event where the context was lost, what is wrong); None if none."""
    known = {span.span_id for span in spans} | set(own)
    for event in sorted(check.events(events), key=lambda ev: (ev.received, ev.seq)):
        found = event.trace_id
        if found is None:
            return event, f"{event.summary()} carries no trace context (traceparent)"
        if found != trace_id:
            return event, f"{event.summary()} carries trace {found}, not the scenario's"
        parent = _parent(event)
        if parent not in known:
            return event, (
                f"{event.summary()} names parent span {parent}, which is not a span of the "
                "flow (did its service export its spans?)"
            )
    return None


#: Finds a span by trace id and span id among all the spans received (any trace).
SpanLookup = Callable[[str, str], Span | None]


def _sender(event: Event, trace_id: str, lookup: SpanLookup | None) -> Span | None:
    """The span that sent ``event`` in a trace other than the scenario's: the service that
    started a trace of its own instead of continuing the one it received."""
    found, parent = event.trace_id, _parent(event)
    if lookup is None or found is None or found == trace_id or parent is None:
        return None
    return lookup(found, parent)


def _own_spans(events: Sequence[Event]) -> set[str]:
    return {p for ev in events if ev.direction == "out" and (p := _parent(ev)) is not None}


def hold(
    checks: Sequence[Propagation | SpanExpectation],
    trace_id: str,
    events: Sequence[Event],
    spans: Sequence[Span],
) -> bool:
    """Does every check hold on the spans received so far?"""
    own = _own_spans(events)
    for check in checks:
        if isinstance(check, Propagation):
            if propagation_break(check, trace_id, events, spans, own) is not None:
                return False
        elif not any(not check.diff(span) for span in spans):
            return False
    return True


def trace_failures(
    checks: Sequence[Propagation | SpanExpectation],
    trace_id: str,
    events: Sequence[Event],
    spans: Sequence[Span],
    window: float,
    lookup: SpanLookup | None = None,
) -> list[Failure]:
    """One ``trace`` failure per check that does not hold. ``lookup`` finds the span that
    sent an event in another trace (its service is named as the one that lost the context)."""
    own = _own_spans(events)
    failures: list[Failure] = []
    for check in checks:
        if isinstance(check, Propagation):
            broken = propagation_break(check, trace_id, events, spans, own)
            if broken is not None:
                failures.append(_propagation_failure(check, trace_id, spans, *broken, lookup))
        elif not any(not check.diff(span) for span in spans):
            failures.append(_span_failure(check, spans, window))
    return failures


def _propagation_failure(
    check: Propagation,
    trace_id: str,
    spans: Sequence[Span],
    event: Event,
    problem: str,
    lookup: SpanLookup | None,
) -> Failure:
    sender = _sender(event, trace_id, lookup)
    if sender is not None:
        message = f"trace context lost on {event.channel} by service {sender.service!r}: {problem}"
        details = (
            f"service {sender.service!r} sent it from span {sender.name!r} of a new trace "
            "instead of continuing the context it received",
        )
        return Failure("trace", check.name, message, details)
    where = _lost_after(spans)
    message = f"trace context lost on {event.channel}: {problem}"
    return Failure(
        "trace", check.name, message, (f"last in the trace before it: {where}",) if where else ()
    )


def _span_failure(check: SpanExpectation, spans: Sequence[Span], window: float) -> Failure:
    ranked = sorted(spans, key=lambda span: len(check.diff(span)))[:3]
    details = [f"nearest: {span.summary()}: {'; '.join(check.diff(span))}" for span in ranked]
    if not spans:
        details.append("no span of this trace arrived: do the services export to ${otlp}?")
    message = (
        f"no span {check.describe()} in the trace within {window:g}s ({len(spans)} spans received)"
    )
    return Failure("trace", check.name, message, tuple(details))
