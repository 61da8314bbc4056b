"""``eventharness load``: one scenario as an open workload at a constant arrival rate.

    eventharness load scenarios/shop/happy_path.yaml --rate 50/s --duration 30s --ramp 5s \\
        --slo "p99<500ms" --slo "errors<0.1%" --json load.json

Flows start on schedule whether or not earlier ones finished (late starts are counted, never
skipped: :mod:`eventharness.files.load`); a live line shows flows started, in flight, passed
and failed; at the end a table gives throughput, success rate, failures by kind, and the
end-to-end and per-hop latency percentiles (:mod:`eventharness.reports.load`).

Exit 0 when every SLO holds (with no SLO: when every flow passed), 1 when one does not, 2 when
the load cannot run (bad option, file, broker), 130 on Ctrl-C (the report is still written).
Several load processes (one per machine, each ``--rate`` a share) give JSON reports that
``eventharness report merge`` adds up exactly.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from eventharness.cli.errors import FAILED, INTERRUPTED, OK, errors, fail, friendly
from eventharness.cli.run import check_run_options, load_scenarios
from eventharness.cli.session import RunOptions, run_session
from eventharness.cli.setup import (
    BrokerOption,
    ConfigOption,
    ConnectTimeoutOption,
    ProfileOption,
    StateOption,
    console,
    make_setup,
    quiet_clients,
    state_dir_of,
)
from eventharness.engine.templates import parse_duration
from eventharness.reports.load import LoadStats, Slo, parse_slo
from eventharness.reports.terminal import TerminalReport

if TYPE_CHECKING:  # annotations only: the engine is imported when the load starts
    from eventharness.engine.harness import Harness
    from eventharness.files.load import Plan

__all__ = ["load", "parse_rate", "render"]

_RATE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(/s|/m|/min)?\s*$")


def parse_rate(text: str) -> float:
    """``200/s``, ``200``, ``600/m`` → flows per second; ``ValueError`` otherwise."""
    found = _RATE.match(text)
    if found is None or float(found[1]) <= 0:
        raise ValueError(
            f"--rate {text!r}: give flows per second (e.g. 200/s) or per minute (e.g. 600/m), "
            "more than 0"
        )
    per_minute = found[2] in ("/m", "/min")
    return float(found[1]) / 60 if per_minute else float(found[1])


def _plan(rate: str, duration: str, ramp: str | None) -> Plan:
    from eventharness.files.load import Plan

    try:
        per_second = parse_rate(rate)
        seconds = parse_duration(duration)
        ramp_s = parse_duration(ramp, allow_zero=True) if ramp else 0.0
    except ValueError as exc:
        fail(str(exc) if str(exc).startswith("--") else f"{exc} (in --duration/--ramp)")
    try:
        return Plan(per_second, seconds, ramp_s)
    except ValueError as exc:
        fail(f"{exc}; change --rate, --duration or --ramp")


def load(
    scenario: Annotated[Path, typer.Argument(help="The scenario file to run as a load.")],
    rate: Annotated[
        str,
        typer.Option(
            "--rate",
            metavar="N/s",
            help="Arrival rate: flows per second (N/s) or per minute (N/m).",
        ),
    ],
    duration: Annotated[
        str,
        typer.Option(
            "--duration",
            metavar="DURATION",
            help="How long flows start, ramp included (e.g. 60s, 5m).",
        ),
    ],
    ramp: Annotated[
        str | None,
        typer.Option(
            "--ramp", metavar="DURATION", help="Grow the rate linearly from 0 over this long first."
        ),
    ] = None,
    slo: Annotated[
        list[str] | None,
        typer.Option(
            "--slo",
            metavar="SLO",
            help="An objective the run must meet, e.g. 'p99<500ms', 'errors<0.1%', "
            "'rate>=195/s' (repeatable); exit 1 when one is missed.",
        ),
    ] = None,
    report_json: Annotated[
        Path | None, typer.Option("--json", help="Write the load report (JSON, mergeable) here.")
    ] = None,
    profile: ProfileOption = None,
    broker: BrokerOption = None,
    no_up: Annotated[
        bool,
        typer.Option(
            "--no-up",
            help="Start nothing: use the environment of `eventharness up`, or the brokers "
            "as configured.",
        ),
    ] = False,
    connect_timeout: ConnectTimeoutOption = None,
    config: ConfigOption = None,
    state_dir: StateOption = None,
) -> None:
    """Run one scenario at a constant arrival rate; report throughput and latency percentiles."""
    with friendly():
        plan = _plan(rate, duration, ramp)
        slos = [_slo(text) for text in slo or []]
        setup = make_setup(config, profile, broker)
        quiet_clients(False)
        check_run_options(connect_timeout, report_json, None)
        if scenario.is_dir():
            fail(
                f"{scenario}: is a folder; load runs one scenario file, e.g. "
                f"{scenario / 'flow.yaml'}"
            )
        loaded = load_scenarios(setup, [str(scenario)], explicit=config is not None)
        owner, file = loaded[0]
        chosen = owner.profile(file.profile)
        options = RunOptions(
            concurrency=1,
            fail_fast=False,
            verbose=False,
            start=not no_up and chosen.start_services,
            connect_timeout=connect_timeout,
            state_dir=state_dir_of(owner.config, state_dir),
            receive_spans=file.checks_traces,  # a load keeps no spans it does not judge
        )
        stats = LoadStats(file.name, plan.rate, plan.duration, plan.ramp)
        report = TerminalReport(console)
        interrupted = False
        try:
            run_session(owner, chosen, [file], options, report, _work(file, plan, stats))
        except KeyboardInterrupt:
            interrupted = True
        render(stats, slos)
        if report_json is not None:
            report_json.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(stats.to_dict(slos), indent=2)
            report_json.write_text(text + "\n", encoding="utf-8")
            console.print(Text(f"load report: {report_json}", style="dim"))
    if interrupted:
        errors.print(f"interrupted: {stats.flows} flows finished", soft_wrap=True)
        raise typer.Exit(INTERRUPTED)
    ok = all(s.holds(stats) for s in slos) if slos else stats.not_passed == 0
    raise typer.Exit(OK if ok else FAILED)


def _slo(text: str) -> Slo:
    try:
        return parse_slo(text)
    except ValueError as exc:
        fail(str(exc))


def _work(file: Any, plan: Plan, stats: LoadStats) -> Any:
    from eventharness.files.load import file_flow, open_workload

    async def work(harness: Harness, variables: dict[str, Any]) -> None:
        harness.keep_results = False  # thousands of flows: each result is counted, then dropped
        flow = file_flow(harness, file, variables)
        started = [0]

        async def counted(index: int) -> Any:
            started[0] += 1
            return await flow(index)

        columns = (
            TextColumn("[bold]load[/]"),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("", total=plan.duration)
            began = time.monotonic()

            def on_flow(done: Any) -> None:
                stats.record(done)
                progress.update(task, completed=min(plan.duration, time.monotonic() - began))
                progress.update(task, description=_live(stats, started[0]))

            ticker = asyncio.create_task(_tick(progress, task, began, plan, stats, started))
            try:
                workload = await open_workload(plan, counted, on_flow)
            finally:
                ticker.cancel()
            stats.finish(workload)
            progress.update(task, completed=plan.duration, description=_live(stats, started[0]))

    return work


async def _tick(
    progress: Progress, task: Any, began: float, plan: Plan, stats: LoadStats, started: list[int]
) -> None:
    """Keep the live line moving when no flow finishes (a stalled system)."""
    while True:
        await asyncio.sleep(0.25)
        elapsed = min(plan.duration, time.monotonic() - began)
        progress.update(task, completed=elapsed, description=_live(stats, started[0]))


def _live(stats: LoadStats, started: int) -> str:
    in_flight = started - stats.flows
    return (
        f"started {started} · in flight {in_flight} · [green]passed {stats.passed}[/] · "
        f"[red]failed {stats.not_passed}[/] · p99 {stats.latency.at(99):.0f}ms"
    )


def render(stats: LoadStats, slos: list[Slo]) -> None:
    """The end-of-load summary: counts, rate, latency percentiles, hops, failures, SLOs."""
    head = Table(title=f"load: {stats.scenario}", title_justify="left", show_header=False)
    head.add_row(
        "flows",
        f"{stats.flows} ({stats.passed} passed, {stats.failed} failed, {stats.errors} errors)",
    )
    head.add_row("rate", f"{stats.achieved_rate:.1f}/s achieved of {stats.rate:g}/s planned")
    head.add_row("late starts", f"{stats.late} (start lag p99 {stats.start_lag.at(99):.1f}ms)")
    head.add_row("success", f"{(1 - stats.error_rate) * 100:.2f}%")
    for kind, count in sorted(stats.kinds.items()):
        head.add_row(f"  failures: {kind}", str(count))
    console.print(head)
    table = Table(title="latency (ms)", title_justify="left")
    for column in ("", "count", "p50", "p90", "p99", "p99.9", "max"):
        table.add_column(column, justify="left" if not column else "right")
    rows = [("end to end", stats.latency), *sorted(stats.hops.items())]
    for name, hist in rows:
        figures = hist.summary()
        table.add_row(
            name,
            str(hist.count),
            *(f"{figures[k]:.1f}" for k in ("p50", "p90", "p99", "p99.9", "max")),
        )
    console.print(table)
    for one in slos:
        ok = one.holds(stats)
        mark, style = ("✓", "green") if ok else ("✗", "red")
        console.print(Text(f"{mark} SLO {one.text}: {one.actual(stats)}", style=style))
