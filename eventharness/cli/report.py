"""``eventharness report ...``: reports made from saved JSON reports, one sub-app.

    eventharness report history DIR -o dashboard.html

``history`` reads every JSON report (``--report-json``) in DIR and writes the history
dashboard: flaky scenarios (mixed outcomes on one commit), pass rate per scenario over time,
the slowest hops (p50/p95 per channel pair) and their trend, failure kinds over time. Exit 0,
or 2 with a one-line cause when the folder or a report in it cannot be used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from eventharness.cli.errors import friendly
from eventharness.cli.run import check_writable
from eventharness.cli.setup import console, help_settings

__all__ = ["app", "history"]

app = typer.Typer(
    name="report",
    help="Reports from saved JSON reports: the run history dashboard.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    **help_settings(),
)


@app.command()
def history(
    folder: Annotated[
        Path, typer.Argument(help="The folder of JSON reports (--report-json files), one a run.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Write the dashboard (HTML) here.")
    ] = Path("dashboard.html"),
    title: Annotated[str, typer.Option("--title", help="The dashboard's title.")] = (
        "eventharness history"
    ),
) -> None:
    """Write the history dashboard of a folder of JSON reports."""
    with friendly():
        check_writable(output, "--output")
        from eventharness.reports.dashboard import dashboard_html
        from eventharness.reports.history import analyse, load_history

        found = analyse(load_history(folder))
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(dashboard_html(found, title), encoding="utf-8")
    flaky = ", ".join(s.name for s in found.flaky) or "none"
    console.print(
        Text(
            f"history of {len(found.runs)} runs, {len(found.scenarios)} scenarios · "
            f"flaky: {flaky} · dashboard: {output}"
        ),
        soft_wrap=True,
    )
