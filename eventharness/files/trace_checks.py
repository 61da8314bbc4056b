"""The checks of trace steps: an ``expect_span``'s references, attribute spec and durations,
and that a file judging spans runs under a profile whose services send them.
"""

from __future__ import annotations

from eventharness.files.check_base import CheckBase
from eventharness.files.model import ScenarioFile
from eventharness.files.steps import Expect, ExpectSpan

__all__ = [
    "TraceChecks",
]


class TraceChecks(CheckBase):
    """The checks of ``expect_span`` steps and of the spans a file needs."""

    def expect_span(self, step: ExpectSpan) -> None:
        for key in ("service", "span", "attributes"):
            line = step.at("name" if key == "span" else key)
            self.refs(getattr(step, key), line, steps=False)
        if step.attributes is not None:
            self.spec(step.attributes, "attributes", step.at("attributes"), step.kind)
        low, high = step.min_duration, step.max_duration
        if low is not None and high is not None and low > high:
            self.add(
                step.at("min_duration"),
                f"expect_span: min_duration {low:g}s is above max_duration {high:g}s",
            )

    def trace_source(self) -> None:
        """A file that judges spans needs a profile that hands its services ``${otlp}``."""
        file = self.file
        if file.checks_traces and self.context.spans is False:
            self.add(
                file.lines.get("trace", 0) or _first_trace_line(file),
                f"trace checks need the spans the services send, and profile "
                f"{self.context.profile or 'default'!r} hands no service ${{otlp}}: add "
                'OTEL_EXPORTER_OTLP_ENDPOINT = "${otlp}" to its env',
            )


def _first_trace_line(file: ScenarioFile) -> int:
    for step in file.steps:
        if isinstance(step, ExpectSpan):
            return step.line
        if isinstance(step, Expect) and step.trace is not None:
            return step.at("trace")
    return file.line
