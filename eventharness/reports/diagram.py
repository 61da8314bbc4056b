"""The sequence diagram of one scenario, as inline SVG: lanes across, time down.

The diagram draws *entries*, not events: an :class:`Entry` is one arrow (or, with a
``duration_s``, a bar) from a lane to a lane at a time. :func:`entries_of` turns the events of
a JSON-report scenario into entries — a publish is an arrow from the ``harness`` lane to its
channel, a stub's response one from the stub's lane (a service), a collected event one from
the channel of the hop that caused it (:mod:`eventharness.reports.hops`) to its own — so
other kinds of timeline entry (spans of the services, say) join the same diagram by adding
entries with their own lanes and kind.
Faults (an event's ``note``) and undecodable events are marked in red with the note beside.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from eventharness.reports.hops import read_timeline

__all__ = ["HARNESS", "MARKERS", "Entry", "entries_of", "sequence_svg"]

HARNESS = "harness"
_LANE_W = 150
_ROW_H = 22
_TOP = 34
_LEFT = 64
_MAX_ROWS = 400


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing on a timeline: ``kind`` is ``publish``, ``collect`` (or any other, drawn the
    same); ``fault`` a note of what a fault did to it; ``duration_s`` draws a bar."""

    t: float
    source: str
    target: str
    label: str
    kind: str = "collect"
    fault: str | None = None
    duration_s: float | None = None


def entries_of(events: Sequence[Mapping[str, Any]]) -> list[Entry]:
    """The entries of a JSON-report scenario's events, in time order: a publish goes from the
    harness to its channel, a stub's response from the stub's lane, a collected copy from
    the channel back to the harness, a hop from the channel of its cause to its own."""
    entries: list[Entry] = []
    for step in read_timeline(events):
        event = step.event
        channel = str(event["channel"])
        label = str(event.get("type") or "-")
        if event.get("key") is not None:
            label += f" key={event['key']}"
        note = event.get("note")
        if step.role == "stub" and note and ";" not in str(note):
            note = None  # only "stub NAME": the lane says so
        fault = note or event.get("decode_error")
        fault = str(fault).split("; ", 1)[-1] if fault and step.role == "stub" else fault
        ends = {
            "publish": (HARNESS, channel),
            "stub": (f"stub {step.service}", channel),
            "echo": (channel, HARNESS),
            "collect": (channel, HARNESS),
        }.get(step.role) or (str(step.source["channel"]) if step.source else channel, channel)
        kind = "publish" if step.role in ("publish", "stub") else "collect"
        entries.append(Entry(float(event["t"]), *ends, label, kind, fault or None))
    return entries


def _lanes(entries: Iterable[Entry]) -> list[str]:
    lanes = [HARNESS]
    for entry in entries:
        for lane in (entry.source, entry.target):
            if lane not in lanes:
                lanes.append(lane)
    return lanes


def sequence_svg(entries: Sequence[Entry], title: str = "") -> str:
    """An ``<svg>`` element (no external references): one lane per service or channel, one
    row per entry with its time on the left; at most a few hundred rows, then a note."""
    shown = list(entries[:_MAX_ROWS])
    lanes = _lanes(shown)
    x = {lane: _LEFT + _LANE_W * i + _LANE_W // 2 for i, lane in enumerate(lanes)}
    width = _LEFT + _LANE_W * len(lanes) + 10
    height = _TOP + _ROW_H * (len(shown) + 1) + (_ROW_H if len(entries) > len(shown) else 0)
    out = [
        f'<svg class="seq" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="sequence diagram {escape(title, quote=True)}">'
    ]
    for lane in lanes:
        name = lane if len(lane) <= 22 else lane[:10] + "…" + lane[-10:]
        out.append(
            f'<line class="lane" x1="{x[lane]}" y1="{_TOP - 8}" x2="{x[lane]}" '
            f'y2="{height - 4}"/><text class="lane-name" x="{x[lane]}" y="16">'
            f"<title>{escape(lane)}</title>{escape(name)}</text>"
        )
    for row, entry in enumerate(shown):
        out.append(_row(entry, _TOP + _ROW_H * row + _ROW_H // 2, x))
    if len(entries) > len(shown):
        y = _TOP + _ROW_H * len(shown) + _ROW_H // 2
        out.append(
            f'<text class="more" x="{_LEFT}" y="{y}">… {len(entries) - len(shown)} more '
            "entries not drawn (see the event table)</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _row(entry: Entry, y: int, x: Mapping[str, int]) -> str:
    """One row, kept small (a report may hold thousands): the arrowheads are the page's
    markers (:data:`MARKERS`), the full text is in the label."""
    x1, x2 = x[entry.source], x[entry.target]
    css = _KIND_CLASS.get(entry.kind, "o") + (" f" if entry.fault else "")
    head = "hf" if entry.fault else "h"
    parts = [f'<g class="{css}"><text class="t" x="4" y="{y + 4}">{entry.t:.3f}s</text>']
    if entry.duration_s is not None:
        parts.append(f'<rect x="{min(x1, x2) - 4}" y="{y - 5}" width="8" height="10"/>')
    elif x1 == x2:  # to itself: a small loop
        parts.append(f'<path d="M{x1} {y - 6}h24v12h-20" marker-end="url(#{head})"/>')
    else:
        end = x2 - 3 if x2 > x1 else x2 + 3
        parts.append(f'<line x1="{x1}" y1="{y}" x2="{end}" y2="{y}" marker-end="url(#{head})"/>')
    label = entry.label if len(entry.label) <= 48 else entry.label[:47] + "…"
    if entry.fault:
        label += f" ⚡ {entry.fault}"
    parts.append(f'<text x="{min(x1, x2) + 6}" y="{y - 4}">{escape(label)}</text></g>')
    return "".join(parts)


_KIND_CLASS = {"publish": "p", "collect": "c"}

MARKERS = (
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
    '<marker id="h" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
    'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#445"/></marker>'
    '<marker id="hf" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
    'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#c0392b"/></marker>'
    "</defs></svg>"
)
"""The arrowheads every diagram refers to: put once in the page, before the diagrams."""
