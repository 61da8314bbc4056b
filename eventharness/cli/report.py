"""``eventharness report ...``: reports made from the reports of runs.

    eventharness report merge shard-*.json --json merged.json
    eventharness report merge shard-*.xml --junit merged.xml
    eventharness report history DIR -o dashboard.html

``merge``: each input is a JSON report (``run --report-json``) or JUnit XML (``run --junit``),
told apart by content; JSON inputs make ``--json``, XML inputs make ``--junit``. Exit 0 when the
merged reports were written, 2 (with the file and the cause) when an input cannot be read or
would be left out.

``history`` reads every JSON report in DIR and writes the history dashboard: flaky scenarios
(mixed outcomes on one commit), pass rate per scenario over time, the slowest hops (p50/p95 per
channel pair) and their trend, failure kinds over time. Exit 0, or 2 with a one-line cause when
the folder or a report in it cannot be used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from eventharness.cli.errors import FAILED, fail, friendly
from eventharness.cli.run import check_writable
from eventharness.cli.setup import console, help_settings

__all__ = ["app", "history", "merge"]

app = typer.Typer(
    name="report",
    help="Reports from the reports of runs: merge, history.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    **help_settings(),
)


def _read(paths: list[Path]) -> tuple[list[tuple[str, Any]], list[tuple[str, str]]]:
    reports: list[tuple[str, Any]] = []
    xml: list[tuple[str, str]] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"{path}: cannot be read ({exc.strerror or exc}); give report files")
        if text.lstrip().startswith("<"):
            xml.append((str(path), text))
            continue
        try:
            reports.append((str(path), json.loads(text)))
        except json.JSONDecodeError as exc:
            fail(f"{path}:{exc.lineno}: neither JSON nor JUnit XML ({exc.msg})")
    return reports, xml


@app.command()
def merge(
    reports: Annotated[
        list[Path], typer.Argument(help="JSON reports and/or JUnit XML files of the shards.")
    ],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the merged JSON report here.")
    ] = None,
    junit_out: Annotated[
        Path | None, typer.Option("--junit", help="Write the merged JUnit XML here.")
    ] = None,
    slo: Annotated[
        list[str] | None,
        typer.Option(
            "--slo",
            metavar="SLO",
            help="Load reports: an objective the merged figures must meet, e.g. 'p99<500ms' "
            "(repeatable); exit 1 when one is missed.",
        ),
    ] = None,
) -> None:
    """Merge the JSON and JUnit reports of shards (or any runs) into one of each; load
    reports (``load --json``) merge into one load report, histograms added exactly."""
    from eventharness.reports.merge import merge_json, merge_junit

    with friendly():
        if json_out is None and junit_out is None:
            fail("nothing to write: give --json OUT and/or --junit OUT")
        found, xml = _read(reports)
        loads = [
            path for path, data in found if isinstance(data, dict) and data.get("kind") == "load"
        ]
        if loads:
            _merge_loads(found, loads, json_out, xml, slo or [])
            return
        if slo:
            fail(
                "--slo applies to load reports (`eventharness load --json`); these are run reports"
            )
        for option, out, inputs, kind in (
            ("--json", json_out, found, "JSON reports"),
            ("--junit", junit_out, xml, "JUnit XML files"),
        ):
            if out is None and inputs:
                fail(f"{inputs[0][0]} would be left out: give {option} OUT for {kind}")
            if out is not None and not inputs:
                fail(f"{option} {out}: none of the inputs are {kind}")
            if out is not None:
                check_writable(out, option)
        if json_out is not None:
            merged = merge_json(found)
            json_out.write_text(json.dumps(merged, indent=2, default=str) + "\n", "utf-8")
            console.print(f"JSON report: {json_out} ({len(merged['scenarios'])} scenarios)")
        if junit_out is not None:
            junit_out.write_text(merge_junit(xml) + "\n", "utf-8")
            console.print(f"JUnit XML: {junit_out} ({len(xml)} files merged)")


def _merge_loads(
    found: list[tuple[str, Any]],
    loads: list[str],
    out: Path | None,
    xml: list[tuple[str, str]],
    slos: list[str],
) -> None:
    """Load reports of processes that ran side by side, as one; exit 1 when an SLO fails."""
    from eventharness.cli.load import render
    from eventharness.reports.load import LoadStats, merge_load, parse_slo

    others = [path for path, _ in found if path not in loads] + [path for path, _ in xml]
    if others:
        fail(f"{others[0]}: not a load report; load reports merge only with load reports")
    if out is None:
        fail("give --json OUT for the merged load report")
    check_writable(out, "--json")
    stats = []
    for path, data in found:
        try:
            stats.append(LoadStats.from_dict(data))
        except (KeyError, TypeError, ValueError) as exc:
            fail(
                f"{path}: a load report that cannot be read ({exc}); "
                "write it again with load --json"
            )
    try:
        objectives = [parse_slo(text) for text in slos]
    except ValueError as exc:
        fail(str(exc))
    merged = merge_load(stats)
    render(merged, objectives)
    out.write_text(json.dumps(merged.to_dict(objectives), indent=2) + "\n", "utf-8")
    console.print(f"load report: {out} ({len(stats)} reports merged, {merged.flows} flows)")
    if not all(one.holds(merged) for one in objectives):
        raise typer.Exit(FAILED)


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
