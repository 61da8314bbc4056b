"""Hops: how long an event took to travel from one channel to the next, read off a timeline.

A scenario's timeline holds what it published and what it collected, in order. Each event a
stub sent, and each collected event that is not a copy of one the scenario or a stub sent,
was caused (as far as the timeline can tell) by the latest earlier event on *another*
channel: that pair of channels is a hop (``kafka:orders → kafka:payments``), its latency the
time between the two. The services in between are not seen, the hops they make are; the JSON
report carries them per scenario, the history dashboard and ``watch`` aggregate them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eventharness.model.durations import percentile

__all__ = ["Hop", "Step", "hops_of", "percentile", "read_timeline"]


@dataclass(frozen=True, slots=True)
class Hop:
    """One hop: the source channel, the channel it arrived on, and the seconds between."""

    source: str
    target: str
    latency_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "latency_s": round(self.latency_s, 6)}


@dataclass(frozen=True, slots=True)
class Step:
    """One event of a timeline, read: ``role`` is ``publish`` (the scenario sent it),
    ``stub`` (a stub of the scenario sent it; ``service`` its name), ``echo`` (a collected
    copy of what the scenario or a stub sent), ``hop`` (collected, caused by ``source``) or
    ``collect`` (collected, no cause on the timeline)."""

    event: Mapping[str, Any]
    role: str
    source: Mapping[str, Any] | None = None
    service: str | None = None


def read_timeline(events: Iterable[Mapping[str, Any]]) -> list[Step]:
    """The events of a JSON-report scenario (``t``, ``direction``, ``channel``, ``type``,
    ``key``, ``note``), in time order, each with its role and, for a hop or a stub's
    response, the latest earlier event on another channel as its cause."""
    ordered = sorted(enumerate(events), key=lambda item: (float(item[1]["t"]), item[0]))
    steps: list[Step] = []
    causes: list[Mapping[str, Any]] = []  # what was sent or arrived, echoes left out
    sent: list[tuple[str, Any, Any]] = []
    for _, event in ordered:
        channel = str(event["channel"])
        same = (channel, event.get("type"), event.get("key"))
        note = str(event.get("note") or "")
        if event.get("direction") == "out":
            sent.append(same)
            if note.startswith("stub "):
                service = note[5:].split(";")[0].split(":")[0].strip()
                steps.append(Step(event, "stub", _source_of(causes, channel), service))
            else:
                steps.append(Step(event, "publish"))
            causes.append(event)
        elif same in sent:
            sent.remove(same)
            steps.append(Step(event, "echo"))
        else:
            source = _source_of(causes, channel)
            steps.append(Step(event, "hop" if source is not None else "collect", source))
            causes.append(event)
    return steps


def hops_of(events: Iterable[Mapping[str, Any]]) -> list[Hop]:
    """The hops of a timeline given as JSON-report events: each event a stub sent or the
    scenario collected (not an echo of its own), from the event that caused it."""
    return [
        Hop(
            str(step.source["channel"]),
            str(step.event["channel"]),
            max(0.0, float(step.event["t"]) - float(step.source["t"])),
        )
        for step in read_timeline(events)
        if step.source is not None
    ]


def _source_of(seen: Sequence[Mapping[str, Any]], channel: str) -> Mapping[str, Any] | None:
    """The latest event of ``seen`` on a channel other than ``channel``."""
    found: Mapping[str, Any] | None = next(
        (earlier for earlier in reversed(seen) if str(earlier["channel"]) != channel), None
    )
    return found
