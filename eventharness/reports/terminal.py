"""The terminal report: the run header, one line per finished scenario, a summary table and
the failure timeline of each scenario that did not pass."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from eventharness.files.model import ScenarioFile
from eventharness.files.outcome import Outcome
from eventharness.model.channels import redact
from eventharness.reports.counts import count_outcomes

__all__ = ["TerminalReport"]

_MARKS = {"passed": ("✓", "green"), "failed": ("✗", "red"), "error": ("!", "yellow")}


class TerminalReport:
    def __init__(self, console: Console | None = None, verbose: bool = False) -> None:
        self.console = console or Console(highlight=False)
        self.verbose = verbose

    def print(self, *objects: object, **options: object) -> None:
        """Print, unless stdout has gone (``| head``): then stay quiet, never raise — the run
        must still finish and stop what it started."""
        if self.console.quiet:
            return
        try:
            self.console.print(*objects, **options)  # type: ignore[arg-type]
        except (SystemExit, OSError):  # rich turns a broken pipe into SystemExit
            self.console.quiet = True

    def line(self, text: str, style: str | None = None) -> None:
        self.print(Text(text, style=style or ""), soft_wrap=True)

    def rule(self, title: Text) -> None:
        """A rule across a terminal; elsewhere (a pipe, a log) a plain title line, never a
        rule as wide as the console's unwrapped width."""
        if self.console.quiet:
            return
        if self.console.is_terminal:
            self.console.rule(title)
        else:
            self.print(Text("── ").append_text(title).append(" ──"), soft_wrap=True)

    def header(self, profile: str, source: str, count: int) -> None:
        self.line(
            f"eventharness · profile {profile} ({source}) · {count} scenario"
            f"{'s' if count != 1 else ''}",
            "bold",
        )

    def brokers(self, brokers: Mapping[str, str]) -> None:
        shown = ", ".join(f"{name}={redact(url)}" for name, url in brokers.items()) or "none"
        self.line(f"brokers: {shown}", "dim")

    def started(self, file: ScenarioFile) -> None:
        if self.verbose:
            self.line(f"  … {file.name}  ({file.path})", "dim")

    def finished(self, outcome: Outcome) -> None:
        mark, style = _MARKS.get(outcome.status, ("?", "yellow"))
        note = ""
        if outcome.xfail_outcome == "xfailed":
            note = f"  xfail: failed as expected ({outcome.file.xfail.kind})"  # type: ignore[union-attr]
        elif outcome.status != "passed":
            kinds = sorted({f.kind for f in outcome.failures})
            note = f"  [{', '.join(kinds)}]" if kinds else ""
        text = Text(f"{mark} ", style=style)
        text.append(f"{outcome.file.name}")
        text.append(
            f"  {outcome.result.duration_s:.2f}s{note}",
            style="dim" if outcome.status == "passed" else style,
        )
        self.print(text, soft_wrap=True)
        for failure in outcome.result.teardown:
            self.line(f"    teardown failed: {failure.step}: {failure.message}", "yellow")

    def summary(self, outcomes: Sequence[Outcome], duration_s: float) -> None:
        """Each failure's timeline (with ``-v`` each expected failure's too), a table, and the
        counts, expected failures apart from passes (as pytest counts them)."""
        shown = [
            o
            for o in outcomes
            if o.status != "passed" or (self.verbose and o.xfail_outcome == "xfailed")
        ]
        for outcome in shown:
            self.print()
            xfailed = outcome.xfail_outcome == "xfailed"
            title = f"{outcome.file.name} — " + (
                f"xfailed (expected {outcome.file.xfail.kind})"  # type: ignore[union-attr]
                if xfailed
                else outcome.status
            )
            self.rule(Text(title, style="yellow" if xfailed else "red"))
            self.print(Text(outcome.explain()), soft_wrap=True)
        self.print()
        table = Table(show_edge=False, pad_edge=False, expand=False)
        table.add_column("", no_wrap=True)
        table.add_column("scenario", ratio=1)
        table.add_column("time", justify="right", no_wrap=True)
        table.add_column("failures")
        for outcome in outcomes:
            mark, style = _MARKS.get(outcome.status, ("?", "yellow"))
            kinds = ", ".join(f"{f.kind}:{f.step}" for f in outcome.failures[:3])
            if outcome.xfail_outcome == "xfailed":
                kinds = f"xfail ({kinds})"
            name = Text(outcome.file.name)
            name.append(f"  {outcome.file.path}", style="dim")
            table.add_row(
                Text(mark, style=style),
                name,
                f"{outcome.result.duration_s:.2f}s",
                Text(kinds, style=style),
            )
        self.print(table)
        counts = count_outcomes(outcomes)
        style = "bold green" if counts["failed"] + counts["errors"] == 0 else "bold red"
        expected = f"{counts['xfailed']} xfailed, " if counts["xfailed"] else ""
        self.line(
            f"{counts['passed']} passed, {expected}{counts['failed']} failed, "
            f"{counts['errors']} errors in {duration_s:.2f}s",
            style,
        )
