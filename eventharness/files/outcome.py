"""The outcome of running one scenario file: its result with the file's ``xfail`` verdict
applied (:class:`Outcome`), what the reports read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventharness.files.model import ScenarioFile
from eventharness.model.result import Failure, ScenarioResult

__all__ = ["Outcome"]


@dataclass
class Outcome:
    """A file's result, with its ``xfail`` verdict applied: ``status`` is what counts."""

    file: ScenarioFile
    result: ScenarioResult
    broker_down: bool = False

    @property
    def xfail_outcome(self) -> str | None:
        if self.file.xfail is None:
            return None
        if self.result.passed:
            return "xpassed"
        return "xfailed" if self.file.xfail.kind in self.result.kinds else "failed"

    @property
    def status(self) -> str:
        verdict = self.xfail_outcome
        if verdict == "xfailed":
            return "passed"
        if verdict == "xpassed":
            return "failed"
        return self.result.status

    @property
    def failures(self) -> list[Failure]:
        if self.xfail_outcome == "xpassed" and self.file.xfail is not None:
            return [
                Failure(
                    "unexpected",
                    "xfail",
                    f"expected to fail with kind {self.file.xfail.kind!r}, but passed",
                )
            ]
        return list(self.result.failures)

    def to_dict(self) -> dict[str, Any]:
        """The DESIGN §7 shape; ``xfail`` is added only for files that declare it."""
        data = self.result.to_dict()
        data["file"] = self.file.path
        data["status"] = self.status
        data["failures"] = [f.to_dict() for f in self.failures]
        if self.file.xfail is not None:
            data["xfail"] = {"kind": self.file.xfail.kind, "outcome": self.xfail_outcome}
        return data

    def explain(self) -> str:
        text = self.result.explain()
        verdict = self.xfail_outcome
        kind = self.file.xfail.kind if self.file.xfail is not None else ""
        if verdict == "xpassed":
            return f"{text}\n\n✗ [unexpected] xfail: expected to fail with {kind!r}, but passed"
        if verdict == "failed":
            return f"{text}\n\n(xfail expected a failure of kind {kind!r}; it failed otherwise)"
        return text
