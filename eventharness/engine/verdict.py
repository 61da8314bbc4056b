"""The verdict: how a scenario is judged once its waiting is over.

In this order: channels whose collection broke, events that violate the schema bound to their
channel, every expectation (a timeout names the nearest misses, with field diffs), ordering,
duplicate deliveries, and — only when all of that held — the cross-event ``check`` callables,
which read step events through :class:`Facts`. Everything here is pure bookkeeping on what the
scenario collected; nothing waits.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eventharness.engine.expectations import Expectation, InOrder, KeyOrder, StepValue, identity
from eventharness.engine.port import Port
from eventharness.model.errors import UsageError
from eventharness.model.events import Event, is_missing, lookup, monotonic
from eventharness.model.result import Failure, ScenarioResult

__all__ = [
    "Check",
    "Evidence",
    "Facts",
    "Steps",
    "Violation",
    "append_detail",
    "bound_violation",
    "broken_channels",
    "equal",
    "judge",
    "outcome",
    "step_reference",
]

Check = Callable[["Facts"], Any]
Violation = tuple[Event, Any, list[Any]]  # an event, the validator bound to its channel, problems


class Steps(Protocol):
    """Where steps are looked up by name: a scenario."""

    def step(self, ref: Expectation | str) -> Expectation: ...


class Facts:
    """What ``check`` callables see: ``facts[expectation]`` is its first matched event."""

    def __init__(self, scenario: Steps) -> None:
        self._scenario = scenario

    def __getitem__(self, step: Expectation | str) -> Event:
        exp = self._scenario.step(step)
        if exp.first is None:
            raise LookupError(f"step {exp.name!r} has no matched event")
        return exp.first

    def all(self, step: Expectation | str) -> list[Event]:
        return list(self._scenario.step(step).matched)

    def value(self, ref: str | StepValue) -> Any:
        """``"pay.value.amount"``: a path on the first event of step ``pay``; or what a
        :class:`~eventharness.engine.expectations.StepValue` (``pay.value("amount")``) names."""
        step: Expectation | str
        if isinstance(ref, StepValue):
            step, path = ref.step, ref.path
        else:
            step, _, path = ref.partition(".")
        event = self[step]
        found = lookup(event, path or "value", _NOTHING)
        if found is _NOTHING or is_missing(found):
            raise LookupError(f"{str(ref)!r}: the event of step {_name(step)!r} has no {path!r}")
        return found


_NOTHING = object()


def _name(step: Expectation | str) -> str:
    return step.name if isinstance(step, Expectation) else step


def equal(items: tuple[Any, ...]) -> Check:
    """A check that all ``items`` agree; a :class:`StepValue` item is read from its step's
    first event when the check runs, anything else is a literal."""

    def agree(facts: Facts) -> Any:
        values = [facts.value(item) if isinstance(item, StepValue) else item for item in items]
        if all(v == values[0] for v in values[1:]):
            return True
        shown = ", ".join(f"{i}={v!r}" for i, v in zip(items, values, strict=True))
        raise AssertionError(f"values differ: {shown}")

    return agree


_NAME_LIKE = re.compile(r"[A-Za-z_][\w-]*")


def step_reference(item: Any, steps: Sequence[Expectation], scenario: str) -> Any:
    """What ``check_equal`` compares for ``item``: a :class:`StepValue` for a handle
    (``pay.value("amount")``) or a ``"NAME.path"`` string whose NAME is one of ``steps``; the
    item itself when it is a literal. UsageError for a handle of another scenario, a step
    itself, and a dotted string that starts like a name but names no step."""
    names = [exp.name for exp in steps]
    if isinstance(item, StepValue):
        if item.step not in steps:
            raise UsageError(f"step {item.step.name!r} belongs to another scenario")
        return item
    if isinstance(item, Expectation):
        raise UsageError(
            f"check_equal compares values, not steps: write {item.name!r}'s value as "
            "pay.value('amount') or pay['key'] (pay being the handle s.expect returned)"
        )
    if not isinstance(item, str) or "." not in item:
        return item
    for name in sorted(names, key=len, reverse=True):  # step names may hold dots themselves
        if item.startswith(name + "."):
            return StepValue(steps[names.index(name)], item[len(name) + 1 :])
    head, _, path = item.partition(".")
    if not _NAME_LIKE.fullmatch(head):
        return item  # text that cannot be a reference: 1.5, a@b.c, https://...
    field = path.removeprefix("value.") if path.startswith("value.") else None
    handle = f"{head}.value({field!r}) or " if field else ""
    raise UsageError(
        f"check_equal: {item!r} names no step of scenario {scenario!r} (steps: "
        f"{', '.join(map(repr, names)) or 'none yet'}); step names default to the event type, "
        f"not the Python variable holding the handle. Pass the handle: {handle}"
        f"{head}[{path!r}], where {head} = s.expect(...) (or name the step "
        f"name={head!r}); for literal text with a dot, compare in s.check(lambda facts: ...)"
    )


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a scenario collected and declared, as the verdict reads it."""

    correlation_id: str
    began: float  # when the scenario's block was entered
    started: float  # when its windows opened: its first arming completed
    events: list[Event]
    expectations: list[Expectation]
    orders: list[InOrder | KeyOrder]
    checks: list[tuple[str, Check]]
    violations: list[Violation]
    allow_duplicates: bool


def bound_violation(port: Port, event: Event) -> Violation | None:
    """How ``event`` breaks the schema bound to its channel (in the profile), if it does."""
    validator = port.bound_validator(event.channel, event.type)
    if validator is None:
        return None
    problems = [
        *([event.decode_error] if event.decode_error else []),
        *validator.validate(event.value),
    ]
    return (event, validator, problems) if problems else None


def broken_channels(port: Port, expectations: list[Expectation]) -> list[str]:
    """The channels of ``expectations`` whose collection stopped."""
    return [exp.channel for exp in expectations if port.collect_error(exp.channel) is not None]


def judge(
    port: Port, evidence: Evidence, failures: list[Failure], facts: Facts, now: float
) -> None:
    """Add to ``failures`` (which may hold some already) everything that went wrong."""
    started = evidence.started
    _infrastructure(port, evidence, failures)
    _violations(evidence, failures)
    still: list[str] = []
    for exp in evidence.expectations:
        verdict, failure = exp.judge(now, started)
        if failure is not None:
            failures.append(_with_misses(port, evidence, exp, failure))
        elif verdict == "pending":
            still.append(exp.name)
    if still and failures:
        failures[-1] = append_detail(
            failures[-1], f"not judged (scenario stopped first): {', '.join(still)}"
        )
    for order in evidence.orders:
        found = order.judge()
        if found is not None:
            failures.append(found)
    duplicate = _duplicate(evidence)
    if duplicate is not None:
        failures.append(duplicate)
    if failures:  # checks read events of steps that did not hold: only noise now
        if evidence.checks:
            names = ", ".join(label for label, _ in evidence.checks)
            failures[-1] = append_detail(
                failures[-1], f"checks not run after this failure: {names}"
            )
        return
    for label, fn in evidence.checks:
        try:
            ok = fn(facts)
        except (LookupError, AssertionError) as exc:
            failures.append(Failure("consistency", label, str(exc) or "check failed"))
            continue
        except Exception as exc:
            failures.append(Failure("error", label, f"check raised {type(exc).__name__}: {exc}"))
            continue
        if not ok:
            failures.append(Failure("consistency", label, f"returned {ok!r}"))


def _infrastructure(port: Port, evidence: Evidence, failures: list[Failure]) -> None:
    """Faults around the scenario: incidents the environment reported, broken collection."""
    began, started = evidence.began, evidence.started
    for incident in port.incidents_during(began):
        message = incident.describe(began, started)
        failures.append(Failure("error", incident.source, message, incident.details))
    if not port.collecting_broken():  # the usual case: one dict test
        return
    for channel in dict.fromkeys(broken_channels(port, evidence.expectations)):
        failures.append(Failure("error", channel, _stopped(port.collect_error(channel), started)))


def _stopped(error: BaseException | None, started: float) -> str:
    """How collection on a channel stopped: when (``t`` on the scenario's timeline) and why."""
    at = getattr(error, "at", None)
    when = f" at t={at - started:.2f}s" if at is not None else ""
    return (
        f"collecting stopped{when}: the connection to the broker was lost ({error}); the "
        "events collected before are kept, and the next scenario subscribes again"
    )


def outcome(
    evidence: Evidence, failures: list[Failure], name: str, file: str | None
) -> ScenarioResult:
    """The result: passed, failed, or error (when every failure is an error), with the
    timeline in the order things happened."""
    status = "passed"
    if failures:
        status = "error" if all(f.kind == "error" for f in failures) else "failed"
    return ScenarioResult(
        name=name,
        correlation_id=evidence.correlation_id,
        status=status,  # type: ignore[arg-type]
        duration_s=monotonic() - evidence.began,
        file=file,
        failures=list(failures),
        events=sorted(evidence.events, key=_ARRIVAL),
        started=evidence.started,
    )


_ARRIVAL = operator.attrgetter("received", "seq")  # timeline order (a key made in C)


def append_detail(failure: Failure, *lines: str) -> Failure:
    return Failure(failure.kind, failure.step, failure.message, (*failure.details, *lines))


def _violations(evidence: Evidence, failures: list[Failure]) -> None:
    """One ``schema`` failure per channel whose events broke the schema bound to it."""
    reported: set[str] = set()
    for event, validator, problems in evidence.violations:
        if event.channel in reported:
            continue
        reported.add(event.channel)
        count = sum(1 for v in evidence.violations if v[0].channel == event.channel)
        failures.append(
            Failure(
                "schema",
                event.channel,
                f"{count} event(s) on {event.channel} violate {validator.name!r} (bound to the "
                f"channel); first: {event.type or 'event'} key={event.key or '-'} at "
                f"t={event.received - evidence.started:.3f}s",
                tuple(str(p) for p in problems[:10]),
            )
        )


def _duplicate(evidence: Evidence) -> Failure | None:
    """The first event delivered twice that no one allowed to be, as a failure."""
    seen: dict[tuple[Any, ...], Event] = {}
    for event in evidence.events:
        if event.direction != "in":
            continue
        first = seen.setdefault(identity(event), event)
        if first is event:
            continue
        owner = next((e for e in evidence.expectations if any(m is event for m in e.matched)), None)
        if evidence.allow_duplicates or (owner is not None and owner.allow_duplicates):
            continue
        how = f"message id {event.message_id}" if event.message_id else "identical payload"
        return Failure(
            "duplicate",
            owner.name if owner is not None else event.channel,
            f"{event.channel}: {event.type or 'event'} key={event.key} delivered twice "
            f"({how}) at t={first.received - evidence.started:.3f}s and "
            f"t={event.received - evidence.started:.3f}s",
        )
    return None


def _with_misses(port: Port, evidence: Evidence, exp: Expectation, failure: Failure) -> Failure:
    """Add the nearest misses: events on the same channel or of the same type."""
    if failure.kind != "timeout" or not exp.nearest_misses:
        return failure
    taken = {id(ev) for ev in exp.matched}
    mine = [
        ev
        for ev in evidence.events
        if ev.direction == "in"
        and id(ev) not in taken
        and (ev.channel == exp.channel or (exp.matcher.type and ev.type == exp.matcher.type))
    ]
    others = port.unrelated(exp.channel)
    scored: list[tuple[int, int, Event, list[str]]] = []
    for origin, pool in ((0, mine), (1, others)):
        for ev in pool[-200:]:
            diffs = (
                exp.matcher.diff(ev)
                if ev.channel == exp.channel
                else [f"channel: expected {exp.channel}, got {ev.channel}"]
            )
            score = len(diffs)
            if origin:
                diffs.insert(
                    0,
                    f"correlation: carries {ev.correlation_id or 'no correlation id'}, "
                    f"not this scenario's {evidence.correlation_id}",
                )
                hint = _business_key_hint(evidence.events, ev)
                if hint is not None:
                    diffs.insert(1, hint)
                score += 1
            scored.append((score, origin, ev, diffs))
    if not scored:
        detail = [
            f"no events at all on {exp.channel} during the scenario",
            _subscribed(port, evidence, exp.channel),
        ]
        return append_detail(failure, *detail, _widen_hint(exp))
    scored.sort(key=lambda item: (item[0], item[1]))
    lines = ["nearest misses:"]
    for _, _, ev, diffs in scored[:3]:
        t = ev.received - evidence.started
        lines.append(f"  t={t:.3f}s {ev.channel} {ev.type or '-'} key={ev.key or '-'}")
        lines.extend(f"      {d}" for d in diffs[:6])
    return append_detail(failure, *lines, _widen_hint(exp))


def _business_key_hint(timeline: list[Event], event: Event) -> str | None:
    """When ``event`` (not claimed by this scenario) carries, in a top-level field or its key,
    a value this scenario published (its order id, say): the one-line rule that would claim
    such events by that business key."""
    published: set[str] = set()  # short values (amounts, flags) would suggest nonsense
    for sent in timeline:
        if sent.direction != "out":
            continue
        if sent.key:
            published.add(str(sent.key))
        if isinstance(sent.value, Mapping):
            for name, value in sent.value.items():
                if name != "type" and isinstance(value, str | int) and len(str(value)) >= 3:
                    published.add(str(value))
    if not published:
        return None
    where: str | None = None
    value = event.value
    if isinstance(value, Mapping):
        for name, found in value.items():
            if name != "type" and isinstance(found, str | int) and str(found) in published:
                where = f"value.{name}"
                break
    if where is None and event.key and str(event.key) in published:
        where = "key"
    if where is None:
        return None
    return (
        f"it carries {_lookup_text(event, where)!r} ({where}), a value this scenario published: "
        f"claim such events by it with the rule  correlation: {{{event.channel}: {where}}}"
    )


def _lookup_text(event: Event, where: str) -> str:
    if where == "key":
        return str(event.key)
    value = event.value
    return str(value.get(where.removeprefix("value."))) if isinstance(value, Mapping) else ""


def _subscribed(port: Port, evidence: Evidence, channel: str) -> str:
    """Whether, and since when, the collector really observed ``channel``."""
    since = port.subscribed_since(channel)
    if since is None:
        return f"the collector never subscribed to {channel}: nothing published there was seen"
    if since <= evidence.began:
        return (
            f"the collector was subscribed to {channel} before the scenario began; nothing arrived"
        )
    return (
        f"the collector subscribed to {channel} from t={since - evidence.started:.3f}s, "
        f"{since - evidence.began:.3f}s after the scenario began: whatever was published there "
        "before was not seen (trigger the system after `await s.armed()`, or with s.publish, "
        "which waits for it)"
    )


def _widen_hint(exp: Expectation) -> str:
    return f"(window {exp.within:g}s: widen it with within=... on this step)"
