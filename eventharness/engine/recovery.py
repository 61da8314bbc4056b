"""Recovery: after a network fault is lifted, the flow completes for every message it caught.

    s.expect_recovery("kafka:payments", type="PaymentAuthorized", by="value.order_id",
                      within=30)

The messages a fault caught are those the scenario published before the fault was lifted
whose flow had not completed when it was applied: the ones in flight then, and the ones sent
during it. Each must be followed, within ``within`` seconds of the lift, by an event on the
recovery's channel that its matcher accepts and that carries the same value at ``by`` (a path
both carry: ``key``, ``value.order_id``) — nothing lost — and by only one, unless duplicates
are allowed. A failure names the messages (their ``by`` values) that were lost or duplicated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from eventharness.engine.expectations import Expectation, Judgement
from eventharness.engine.network import NetworkFault
from eventharness.model.events import Event, lookup
from eventharness.model.result import Failure

__all__ = ["Recovery"]

_SHOWN = 20  # values named in a failure's message; the details list every one


@dataclass(eq=False, slots=True)
class Recovery(Expectation):
    """The flow completes, once each, for the messages a fault caught (see the module)."""

    nearest_misses: ClassVar[bool] = False  # every event it is about is its own
    fault: Callable[[], NetworkFault | None] = field(default=lambda: None)
    by: str = "key"
    of: Sequence[str] | None = None  # the channels of the messages; None: every publish
    published: Callable[[], list[Event]] = field(default=list)

    def deadline(self, started: float) -> float | None:
        fault = self.fault()
        lift = fault.planned_lift if fault is not None else None
        return None if lift is None else lift + self.within

    def judge(self, now: float, started: float, final: bool = False) -> Judgement:
        fault = self.fault()
        if fault is None or fault.applied_at is None:
            return "failed", Failure(
                "error",
                self.name,
                "no network fault was applied before the scenario ended: a recovery is judged "
                "after one (apply it with a network step, or s.network_fault)",
            )
        lift = fault.planned_lift
        if lift is None:
            return "failed", Failure(
                "error",
                self.name,
                f"{fault.describe()} was never lifted before the scenario ended, so its "
                "recovery cannot be judged; give the fault a duration (for: 5s) or lift it "
                "(a lift step, or await fault.lift()) before the scenario ends",
            )
        caught = self._caught(fault.applied_at, lift)
        if isinstance(caught, Failure):
            return "failed", caught
        lost = [value for value, (sent, got) in caught.items() if len(got) < len(sent)]
        doubled = [value for value, (sent, got) in caught.items() if len(got) > len(sent)]
        doubled = [] if self.allow_duplicates else doubled
        if lost and now < lift + self.within and not final:
            return "pending", None
        if lost:
            return "failed", self._lost(fault, lost, doubled, caught, started)
        if doubled:
            return "failed", self._doubled(fault, doubled, caught, started)
        if fault.lifted_at is None and not final:
            return "pending", None  # what it catches is not known before it is lifted
        return "met", None

    def _caught(
        self, applied: float, lift: float
    ) -> dict[Any, tuple[list[Event], list[Event]]] | Failure:
        """By ``by`` value: the messages the fault caught and the events that completed them."""
        sent: dict[Any, list[Event]] = {}
        for event in self.published():
            if event.received > lift or (self.of is not None and event.channel not in self.of):
                continue
            value = _hashable(lookup(event, self.by))
            if value is None:
                return Failure(
                    "error",
                    self.name,
                    f"{event.channel} {event.type or 'message'} key={event.key} carries no "
                    f"{self.by!r} to follow it by; name a "
                    "path both the message and its outcome carry with by: (key, "
                    "value.order_id)",
                )
            sent.setdefault(value, []).append(event)
        got: dict[Any, list[Event]] = {}
        for event in self.matched:
            got.setdefault(_hashable(lookup(event, self.by)), []).append(event)
        return {
            value: (messages, got.get(value, []))
            for value, messages in sent.items()
            if not any(ev.received < applied for ev in got.get(value, []))
        }

    def _head(self, fault: NetworkFault) -> str:
        return (
            f"recovery after {fault.describe()}: {self.describe()} by {self.by}, within "
            f"{self.within:g}s of the lift"
        )

    def _lost(
        self,
        fault: NetworkFault,
        lost: list[Any],
        doubled: list[Any],
        caught: dict[Any, tuple[list[Event], list[Event]]],
        started: float,
    ) -> Failure:
        lines = [
            f"lost: {self.by}={value} (sent at t={caught[value][0][0].received - started:.3f}s "
            f"on {caught[value][0][0].channel})"
            for value in lost
        ]
        lines += [f"duplicated: {self.by}={v} {len(caught[v][1])} times" for v in doubled]
        return Failure(
            "timeout",
            self.name,
            f"{self._head(fault)}: {len(lost)} of the {len(caught)} message(s) the fault "
            f"caught never completed — lost: {_names(lost)}",
            tuple(lines),
        )

    def _doubled(
        self,
        fault: NetworkFault,
        doubled: list[Any],
        caught: dict[Any, tuple[list[Event], list[Event]]],
        started: float,
    ) -> Failure:
        lines = [
            f"{self.by}={value}: "
            + ", ".join(f"t={ev.received - started:.3f}s" for ev in caught[value][1])
            for value in doubled
        ]
        return Failure(
            "duplicate",
            self.name,
            f"{self._head(fault)}: {len(doubled)} of the {len(caught)} message(s) the fault "
            f"caught completed more than once — duplicated: {_names(doubled)} (allow it with "
            "duplicates: allowed / allow_duplicates=True)",
            tuple(lines),
        )


def _names(values: list[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:_SHOWN])
    return shown + (f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else "")


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | None) else repr(value)
