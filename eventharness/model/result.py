"""What a scenario run produced: status, failures and the timeline, as text and as data.

The data shape is the JSON report of DESIGN §7; its field names are a public interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from eventharness.model.events import Event
from eventharness.model.spans import Span

__all__ = ["FAILURE_KINDS", "Failure", "FailureKind", "Note", "ScenarioResult", "Status"]

FailureKind = Literal[
    "timeout", "schema", "ordering", "unexpected", "duplicate", "consistency", "trace", "error"
]
FAILURE_KINDS: tuple[FailureKind, ...] = (
    "timeout",
    "schema",
    "ordering",
    "unexpected",
    "duplicate",
    "consistency",
    "trace",
    "error",
)
Status = Literal["passed", "failed", "error"]


@dataclass(frozen=True, slots=True)
class Failure:
    """One thing that did not hold. ``details`` are extra lines: nearest misses, diffs."""

    kind: FailureKind
    step: str
    message: str
    details: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "step": self.step, "message": self.message}

    def render(self) -> str:
        lines = [f"✗ [{self.kind}] {self.step}: {self.message}"]
        lines.extend(f"    {line}" for line in self.details)
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Note:
    """Something that happened to the system during a scenario, not an event: a network fault
    applied or lifted. ``at`` is monotonic, like an event's ``received``."""

    at: float
    text: str


@dataclass(slots=True)
class ScenarioResult:
    name: str
    correlation_id: str
    status: Status = "passed"
    duration_s: float = 0.0
    file: str | None = None
    failures: list[Failure] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    started: float = 0.0  # monotonic time the scenario began; timeline t is relative to it
    spans: list[Span] = field(default_factory=list)  # the services' spans of its trace
    started_unix_ns: int = 0  # wall-clock time of ``started``: places spans on the timeline
    notes: list[Note] = field(default_factory=list)  # network faults applied and lifted

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def kinds(self) -> list[str]:
        return [f.kind for f in self.failures]

    def t(self, event: Event) -> float:
        return max(0.0, event.received - self.started)

    def span_t(self, span: Span) -> float:
        """Where ``span`` starts on the timeline (seconds since ``started``)."""
        return (span.start_ns - self.started_unix_ns) / 1e9

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "correlation_id": self.correlation_id,
            "failures": [f.to_dict() for f in self.failures],
            "events": [
                {
                    "t": round(self.t(ev), 3),
                    "direction": ev.direction,
                    "channel": ev.channel,
                    "type": ev.type,
                    "correlation_id": ev.correlation_id,
                    "key": ev.key,
                }
                for ev in self.events
            ],
            **({"spans": [self._span_dict(span) for span in self.spans]} if self.spans else {}),
            **(
                {"notes": [{"t": round(self.note_t(n), 3), "text": n.text} for n in self.notes]}
                if self.notes
                else {}
            ),
        }

    def note_t(self, note: Note) -> float:
        return note.at - self.started

    def _span_dict(self, span: Span) -> dict[str, Any]:
        return {"t": round(self.span_t(span), 6), **span.to_dict()}

    def timeline(self, limit: int = 200) -> str:
        """One line per event: t, direction, channel, type, key."""
        if not self.events and not self.notes:
            return "  (no events were published or collected)"
        rows = []
        shown = self.events if len(self.events) <= limit else self.events[-limit:]
        if shown is not self.events:
            rows.append(f"  ... {len(self.events) - limit} earlier events not shown")
        width = max([len(ev.channel) for ev in shown] or [8])
        lines: list[tuple[float, str]] = []
        for ev in shown:
            arrow = "→" if ev.direction == "out" else "←"
            extra = f"  ! {ev.decode_error}" if ev.decode_error else ""
            extra += f"  ! {ev.note}" if ev.note else ""
            lines.append(
                (
                    self.t(ev),
                    f"  {self.t(ev):8.3f}s {arrow} {ev.channel:<{width}}  {ev.type or '-':<24} "
                    f"key={ev.key if ev.key is not None else '-'}{extra}",
                )
            )
        for span in self.spans:  # interleaved by start time; error spans marked
            mark = "  ! error" if span.status == "error" else ""
            t = self.span_t(span)
            lines.append((t, f"  {t:8.3f}s ◆ {span.service or '-':<{width}}  {span.name}{mark}"))
        for note in self.notes:  # network faults: applied, lifted
            t = self.note_t(note)
            lines.append((t, f"  {t:8.3f}s ⚡ {note.text}"))
        lines.sort(key=lambda line: line[0])
        rows.extend(text for _, text in lines)
        return "\n".join(rows)

    def explain(self) -> str:
        """The readable story of the run: verdict, failures with nearest misses, timeline."""
        where = f" ({self.file})" if self.file else ""
        head = (
            f"scenario {self.name!r}{where} {self.status} in {self.duration_s:.2f}s "
            f"— correlation id {self.correlation_id}"
        )
        parts = [head]
        if self.failures:
            parts.append("")
            parts.extend(f.render() for f in self.failures)
        parts.extend(["", "timeline (t from scenario start, → sent, ← received):", self.timeline()])
        return "\n".join(parts)
