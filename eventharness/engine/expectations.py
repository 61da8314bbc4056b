"""Expectations: what a scenario waits for, and how each one is judged.

An expectation watches one channel for events that its
:class:`~eventharness.engine.matchers.Matcher` accepts. It is judged against a window — ``within``
seconds from the scenario's start, or from the first event of the expectation named in ``after``
— and a count (exactly, at least, at most). ``expect_none`` inverts it: any matching event during
its window is a failure.

Judging is pure: :meth:`Expectation.judge` looks at what arrived and the current time and says
``pending``, ``met`` or ``failed`` (with a :class:`~eventharness.model.result.Failure`). The
scenario engine calls it when events arrive and when a deadline passes; nothing here sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from eventharness.engine.matchers import Matcher
from eventharness.model.errors import UsageError
from eventharness.model.events import Event, lookup
from eventharness.model.result import Failure

__all__ = [
    "Absence",
    "Expectation",
    "InOrder",
    "Judgement",
    "KeyOrder",
    "StepValue",
    "Verdict",
    "arrived_before",
    "check_counts",
    "identity",
    "unique_name",
]

Verdict = Literal["pending", "met", "failed"]
Judgement = tuple[Verdict, Failure | None]


@dataclass(eq=False, slots=True)
class _Tally:
    window: tuple[float | None, float | None]
    seen: int = 0
    in_window: int = 0
    early: list[Event] = field(default_factory=list)
    late: list[Event] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Expectation:
    """A positive expectation: ``count`` (or ``at_least``/``at_most``) matching events in time."""

    nearest_misses: ClassVar[bool] = True  # a timeout lists the events nearest to a match
    name: str
    channel: str
    matcher: Matcher
    within: float
    after: Expectation | None = None
    count: int | None = None
    at_least: int | None = None
    at_most: int | None = None
    validator: Any = None  # a schemas.Validator, or None
    allow_duplicates: bool = False
    order_slack: float = 0.0  # how much earlier than ``after`` an event may be seen
    matched: list[Event] = field(default_factory=list)
    schema_errors: list[tuple[Event, list[Any]]] = field(default_factory=list)
    negative: bool = False
    _tally: _Tally | None = field(default=None, repr=False)
    _distinct: set[tuple[Any, ...]] = field(default_factory=set, repr=False)

    # -- counting --------------------------------------------------------------------------

    @property
    def needed(self) -> int:
        if self.count is not None:
            return self.count
        return self.at_least if self.at_least is not None else (0 if self.negative else 1)

    @property
    def most(self) -> int | None:
        return self.count if self.count is not None else self.at_most

    def offer(self, event: Event) -> bool:
        """Take ``event`` if it is on this channel and matches; validate it if a schema is set."""
        if event.channel != self.channel or not self.matcher.matches(event):
            return False
        self.matched.append(event)
        if self.count is not None or self.at_most is not None:
            self._distinct.add(identity(event))
        if self.validator is not None:
            problems = self.validator.validate(event.value)
            if event.decode_error:
                problems = [event.decode_error, *problems]
            if problems:
                self.schema_errors.append((event, problems))
        return True

    @property
    def first(self) -> Event | None:
        return self.matched[0] if self.matched else None

    # -- references for checks -------------------------------------------------------------

    def value(self, path: str = "") -> StepValue:
        """``pay.value("amount")``: the payload's ``amount`` of this step's first matched event,
        read when checks run (for ``check_equal``); ``pay.value()`` is the whole payload."""
        return StepValue(self, f"value.{path}" if path else "value")

    __iter__ = None  # ``pay[...]`` is a path, not an index: an expectation is no sequence

    def __getitem__(self, path: str) -> StepValue:
        """``pay["value.amount"]``, ``pay["key"]``, ``pay["headers.tenant"]``: a dotted path on
        this step's first matched event, read when checks run."""
        if not isinstance(path, str) or not path:
            raise UsageError(f"a step path is a dotted string like 'value.amount', got {path!r}")
        return StepValue(self, path)

    # -- the window ------------------------------------------------------------------------

    def window_start(self, started: float) -> float | None:
        """When the window opens; None while the ``after`` expectation has not been met."""
        if self.after is None:
            return started
        anchor = self.after.first
        return None if anchor is None else anchor.received

    def deadline(self, started: float) -> float | None:
        start = self.window_start(started)
        if start is None:
            parent = self.after.deadline(started) if self.after is not None else None
            return None if parent is None else parent + self.within
        return start + self.within

    # -- judging ---------------------------------------------------------------------------

    def judge(self, now: float, started: float, final: bool = False) -> Judgement:
        if self.schema_errors:
            event, problems = self.schema_errors[0]
            lines = [str(p) for p in problems[:10]]
            return "failed", Failure(
                "schema",
                self.name,
                f"{self.describe()}: {len(self.schema_errors)} event(s) violate schema "
                f"{getattr(self.validator, 'name', 'schema')!r}; first at "
                f"t={event.received - started:.3f}s (key={event.key})",
                tuple(lines),
            )
        start = self.window_start(started)
        deadline = start + self.within if start is not None else self.deadline(started)
        tally = self._count(start, deadline)
        if tally.early:
            ev = tally.early[0]
            assert self.after is not None and start is not None
            return "failed", Failure(
                "ordering",
                self.name,
                f"{self.describe()} arrived at t={ev.received - started:.3f}s, before "
                f"{self.after.name!r} (t={start - started:.3f}s) which it must follow",
            )
        most = self.most
        if most is not None and len(self._distinct) > most:  # duplicates are judged apart
            return "failed", Failure(
                "unexpected",
                self.name,
                f"{self.describe()}: expected at most {most} event(s), got {len(self._distinct)}",
                tuple(_event_line(ev, started) for ev in self.matched[: most + 3]),
            )
        if tally.in_window >= self.needed and most is None:
            return "met", None
        expired = deadline is not None and now >= deadline
        if not expired and not final:
            return "pending", None
        if tally.in_window >= self.needed:
            return "met", None  # an upper bound holds only once its window has closed
        return "failed", self._timeout(tally.in_window, tally.late, started)

    def _count(self, start: float | None, deadline: float | None) -> _Tally:
        """Sort matched events into early / in the window / late, only looking at new ones."""
        tally = self._tally
        if tally is None or tally.window != (start, deadline):
            tally = self._tally = _Tally((start, deadline))
        if start is None or deadline is None:
            return tally
        anchor = self.after.first if self.after is not None else None
        matched = self.matched
        for ev in matched[tally.seen :]:
            if anchor is not None and arrived_before(ev, anchor, self.order_slack):
                tally.early.append(ev)
            elif ev.received <= deadline:
                tally.in_window += 1
            else:
                tally.late.append(ev)
        tally.seen = len(matched)
        return tally

    def _timeout(self, in_window: int, late: list[Event], started: float) -> Failure:
        if self.after is not None and self.after.first is None:
            why = f"never started: {self.after.name!r} (which it must follow) did not happen"
        else:
            got = f"got {in_window}" if in_window else "nothing matched"
            why = f"expected {self._wanted()} within {self.within:g}s, {got}"
        if late:
            why += f"; a match arrived late at t={late[0].received - started:.3f}s"
        return Failure("timeout", self.name, f"{self.describe()}: {why}")

    def _wanted(self) -> str:
        if self.count is not None:
            return f"exactly {self.count} event(s)"
        if self.at_least is not None:
            return f"at least {self.at_least} event(s)"
        return "an event"

    def describe(self) -> str:
        return f"{self.channel} [{self.matcher.describe()}]"


@dataclass(frozen=True, slots=True)
class StepValue:
    """A lazy reference to ``path`` on the first matched event of ``step`` (made by
    ``step.value(...)`` or ``step[...]``); shown as ``PaymentAuthorized.value.amount``."""

    step: Expectation
    path: str

    def __str__(self) -> str:
        return f"{self.step.name}.{self.path}"


@dataclass(eq=False, slots=True)
class Absence(Expectation):
    """``expect_none``: no matching event during the window."""

    negative: bool = True

    def judge(self, now: float, started: float, final: bool = False) -> Judgement:
        start = self.window_start(started)
        deadline = self.deadline(started)
        if start is None or deadline is None:
            return ("met" if final else "pending"), None
        seen = [ev for ev in self.matched if start <= ev.received <= deadline]
        if seen:
            ev = seen[0]
            return "failed", Failure(
                "unexpected",
                self.name,
                f"{self.describe()}: expected none during {self.within:g}s, "
                f"got {len(seen)}; first at t={ev.received - started:.3f}s",
                tuple(_event_line(e, started) for e in seen[:3]),
            )
        return ("met" if final or now >= deadline else "pending"), None


@dataclass(eq=False, slots=True)
class InOrder:
    """Events of several expectations must arrive in the listed order (by first match)."""

    name: str
    steps: Sequence[Expectation]

    def judge(self) -> Failure | None:
        previous: Expectation | None = None
        for step in self.steps:
            if (
                previous is not None
                and previous.first
                and step.first
                and arrived_before(step.first, previous.first)
            ):
                return Failure(
                    "ordering",
                    self.name,
                    f"{step.name!r} arrived before {previous.name!r}; expected order: "
                    + " → ".join(s.name for s in self.steps),
                )
            previous = step
        return None


@dataclass(eq=False, slots=True)
class KeyOrder:
    """Events sharing a key arrive in the order their causes were published.

    ``by`` is a path present both in what the scenario published and in the events expected
    (e.g. ``value.seq`` or ``value.order_id``); for each key, arrivals must follow the publish
    order of those values.
    """

    name: str
    expectation: Expectation
    by: str
    published: Callable[[], list[Event]]

    def judge(self) -> Failure | None:
        rank: dict[tuple[str | None, Any], int] = {}
        for i, ev in enumerate(self.published()):
            rank.setdefault((ev.key, _hashable(lookup(ev, self.by))), i)
        last: dict[str | None, tuple[int, Event]] = {}
        for ev in self.expectation.matched:
            position = rank.get((ev.key, _hashable(lookup(ev, self.by))))
            if position is None:
                continue
            before = last.get(ev.key)
            if before is not None and position < before[0]:
                return Failure(
                    "ordering",
                    self.name,
                    f"key {ev.key!r} on {self.expectation.channel}: {self.by}="
                    f"{lookup(ev, self.by)!r} arrived after {self.by}="
                    f"{lookup(before[1], self.by)!r}, but was published before it",
                )
            last[ev.key] = (position, ev)
        return None


def arrived_before(event: Event, other: Event, slack: float = 0.0) -> bool:
    """Did ``event`` reach the harness before ``other``? Equal receive times (one fetch
    batch) are ordered by arrival sequence; ``slack`` forgives that much earlier."""
    if slack:
        return event.received < other.received - slack
    return (event.received, event.seq) < (other.received, other.seq)


def check_counts(count: int | None, at_least: int | None, at_most: int | None) -> None:
    """UsageError unless ``count``/``at_least``/``at_most`` make a possible count."""
    if count is None and at_least is None and at_most is None:
        return  # the usual case: one match wanted
    for label, value in (("count", count), ("at_least", at_least), ("at_most", at_most)):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise UsageError(f"{label} must be a whole number ≥ 0, got {value!r}")
    if count is not None and (at_least is not None or at_most is not None):
        raise UsageError("give either count= or at_least=/at_most=, not both")
    if at_least is not None and at_most is not None and at_least > at_most:
        raise UsageError(f"at_least={at_least} is more than at_most={at_most}")


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name#2``, ``name#3``... when steps already have it."""
    if name not in taken:
        return name
    n = 2
    while f"{name}#{n}" in taken:
        n += 1
    return f"{name}#{n}"


def identity(event: Event) -> tuple[Any, ...]:
    """What makes two deliveries the same message: its message id, else key and bytes."""
    if event.message_id:
        return (event.channel, "id", event.message_id)
    return (event.channel, "payload", event.key, event.raw)


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | None) else repr(value)


def _event_line(ev: Event, started: float) -> str:
    return f"t={ev.received - started:.3f}s {ev.channel} {ev.type or '-'} key={ev.key or '-'}"
