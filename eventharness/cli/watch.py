"""``eventharness watch``: synthetic monitoring — the scenarios of PATH, round after round,
against a long-lived environment, with Prometheus metrics and webhook alerts.

    eventharness watch scenarios/smoke --every 60s --no-up \\
        --metrics-port 9477 --alert-webhook https://hooks.slack.com/services/... --flaky-after 3

One harness lives for the whole watch: the environment is brought up once (or, with
``--no-up``, the running one and the configured brokers are used) and every round runs the
selected files on it, one round every ``--every`` (a round that takes longer starts the next
at once). A broker that goes away fails that round's scenarios with kind ``error``; the
harness reconnects and the next rounds pass again. One line per round on the terminal; the
metrics and alerts: :mod:`eventharness.reports.monitor`, :mod:`eventharness.reports.alerts`.

Exit codes: with ``--rounds N``, 0 when every round passed and 1 when one failed; 2 for a bad
option (``--every 0``, a webhook that is not http(s), a metrics port that is taken) before
anything starts; 130 on Ctrl-C (or SIGTERM, as ``docker stop`` and systemd send) — the running
round is abandoned (reported as interrupted), everything started is stopped, and one line says
how far it got.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eventharness.cli.errors import FAILED, INTERRUPTED, OK, errors, fail, friendly
from eventharness.cli.run import check_overrides, group_by_profile, load_scenarios
from eventharness.cli.session import RunOptions, run_session
from eventharness.cli.setup import (
    BrokerOption,
    ConcurrencyOption,
    ConfigOption,
    ConnectTimeoutOption,
    ProfileOption,
    SelectOption,
    StateOption,
    check_connect_timeout,
    console,
    make_setup,
    quiet_clients,
    state_dir_of,
)
from eventharness.engine.templates import parse_duration
from eventharness.env.watch_settings import DEFAULT_METRICS_PORT, check_webhook
from eventharness.model.channels import redact
from eventharness.reports.alerts import AlertPolicy, send_webhook, webhook_origin
from eventharness.reports.monitor import MetricsServer, WatchMetrics, WatchRound
from eventharness.reports.terminal import TerminalReport

if TYPE_CHECKING:  # annotations only: the engine is imported when the watch starts
    from eventharness.engine.harness import Harness
    from eventharness.files.model import ScenarioFile

__all__ = ["DEFAULT_METRICS_PORT", "watch"]

WEBHOOK_TIMEOUT_S = 5.0


@dataclass
class _Watch:
    """What the rounds so far came to, and where each one goes (terminal, metrics, webhook)."""

    report: TerminalReport
    metrics: WatchMetrics
    policy: AlertPolicy
    webhook: str | None
    rounds: int = 0
    failed: int = 0
    running: int | None = None  # the round under way, if any

    async def finished(self, found: WatchRound) -> None:
        self.rounds += 1
        self.failed += 0 if found.passed else 1
        self.metrics.observe(found)
        self.report.line(found.line(), "green" if found.passed else "red")
        alert = self.policy.after(found)
        if alert is None or self.webhook is None:
            return
        problem = await asyncio.to_thread(send_webhook, self.webhook, alert, WEBHOOK_TIMEOUT_S)
        self.metrics.alerted(alert.reasons, problem is None)
        if problem is not None:
            self.report.line(f"alert of round {found.number} not delivered: {problem}", "yellow")


def _every(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError:
        fail(f"--every {text!r}: give a duration of more than 0, e.g. --every 60s, 500ms, 5m")


def _serve(metrics: WatchMetrics, host: str, port: int) -> MetricsServer:
    try:
        return metrics.serve(port, host)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        fail(
            f"--metrics-port {port}: cannot serve /metrics on {host}:{port} ({reason}); "
            "choose another port, or 0 for a free one"
        )


def watch(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Scenario files or folders (default: the profile's paths)."),
    ] = None,
    every: Annotated[
        str | None,
        typer.Option(
            "--every",
            metavar="DURATION",
            help="One round every DURATION, e.g. 60s (config: watch.every, default 60s).",
        ),
    ] = None,
    rounds: Annotated[
        int | None,
        typer.Option(
            "--rounds",
            min=1,
            help="Stop after N rounds (exit 0 if all passed, 1 if one failed); "
            "default: until Ctrl-C.",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="Serve Prometheus metrics on /metrics at this port (config: "
            f"watch.metrics_port, default {DEFAULT_METRICS_PORT}; 0: a free one, printed).",
        ),
    ] = None,
    metrics_host: Annotated[
        str | None,
        typer.Option(
            "--metrics-host",
            help="Address /metrics listens on (config: watch.metrics_host, default "
            "127.0.0.1; 0.0.0.0: every interface, for a remote Prometheus).",
        ),
    ] = None,
    alert_webhook: Annotated[
        str | None,
        typer.Option(
            "--alert-webhook",
            metavar="URL",
            envvar="EVENTHARNESS_ALERT_WEBHOOK",
            show_envvar=True,
            help="POST a Slack-compatible JSON message here for every failing round, on a "
            "flaky streak and when a scenario passes again (config: watch.alert_webhook).",
        ),
    ] = None,
    flaky_after: Annotated[
        int | None,
        typer.Option(
            "--flaky-after",
            min=2,
            metavar="K",
            help="Alert when a scenario alternates between passing and failing K times "
            "in a row (config: watch.flaky_after).",
        ),
    ] = None,
    recovered: Annotated[
        bool | None,
        typer.Option(
            "--alert-recovered/--no-alert-recovered",
            help="Alert when a failing scenario passes again (config: "
            "watch.alert_recovered, default on).",
            show_default=False,
        ),
    ] = None,
    select: SelectOption = None,
    concurrency: ConcurrencyOption = None,
    no_up: Annotated[
        bool,
        typer.Option(
            "--no-up",
            help="Start nothing: use the environment of `eventharness up`, or the brokers "
            "as configured (services already running, e.g. staging) (config: start_services).",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Show the environment's steps."),
    ] = False,
    profile: ProfileOption = None,
    broker: BrokerOption = None,
    connect_timeout: ConnectTimeoutOption = None,
    config: ConfigOption = None,
    state_dir: StateOption = None,
) -> None:
    """Run scenarios round after round against a long-lived environment, with Prometheus
    metrics and webhook alerts; Ctrl-C stops it (exit 130)."""
    server: MetricsServer | None = None
    state: _Watch | None = None
    interrupted = False
    try:
        with friendly():
            given: dict[str, Any] = {  # options given on the command line win
                "every": _every(every) if every is not None else None,
                "metrics_port": metrics_port,
                "metrics_host": metrics_host,
                "alert_webhook": _webhook(alert_webhook),
                "flaky_after": flaky_after,
                "alert_recovered": recovered,
            }
            check_connect_timeout(connect_timeout)
            setup = make_setup(config, profile, broker)
            base = setup.profile(None)
            quiet_clients(verbose)
            chosen = [str(p) for p in paths] if paths else base.paths
            loaded = load_scenarios(setup, chosen, explicit=config is not None)
            check_overrides(setup, loaded)
            groups = group_by_profile(loaded, select or base.select, chosen)
            if len(groups) > 1:
                names = ", ".join(sorted(name for _, name in groups))
                fail(
                    f"watch runs the scenarios of one profile; these files use {names}: "
                    "give the folder of one profile, or -k"
                )
            (_, name), (owner, files) = next(iter(groups.items()))
            watched = owner.profile(name)
            settings = replace(watched.watch, **{k: v for k, v in given.items() if v is not None})
            options = RunOptions(
                concurrency=concurrency or watched.concurrency,
                fail_fast=False,
                verbose=verbose,
                start=not no_up and watched.start_services,
                connect_timeout=connect_timeout,
                state_dir=state_dir_of(owner.config, state_dir),
            )
            metrics = WatchMetrics()
            server = _serve(metrics, settings.metrics_host, settings.metrics_port)
            report = TerminalReport(console, verbose=verbose)
            policy = AlertPolicy(settings.flaky_after, settings.alert_recovered)
            state = _Watch(report, metrics, policy, settings.alert_webhook)
            webhook = settings.alert_webhook
            alerts = f" · alerts to {webhook_origin(webhook)}" if webhook else ""
            report.line(
                f"watch: {len(files)} scenario{'s' if len(files) != 1 else ''} every "
                f"{settings.every:g}s · metrics at {server.url}{alerts}",
                "bold",
            )
            work = _work(files, options.concurrency, settings.every, rounds, state)
            try:
                with _sigterm_as_ctrl_c():
                    run_session(owner, watched, files, options, report, work)
            except KeyboardInterrupt:
                interrupted = True
    finally:
        if server is not None:
            server.close()
    assert state is not None
    if interrupted:
        where = f"in round {state.running}" if state.running is not None else "between rounds"
        errors.print(
            f"interrupted {where}: watch stopped after {state.rounds} round"
            f"{'s' if state.rounds != 1 else ''} ({state.failed} failed)",
            soft_wrap=True,
        )
        raise typer.Exit(INTERRUPTED)
    raise typer.Exit(OK if state.failed == 0 else FAILED)


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """A watch is often stopped as a service is (``docker stop``, systemd, Kubernetes): with
    SIGTERM. It then stops as on Ctrl-C: what it started is stopped, one line, exit 130."""
    previous = signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _webhook(url: str | None) -> str | None:
    if url is not None and (problem := check_webhook(url)):
        fail(
            f"--alert-webhook {redact(url)!r}: {problem}; give the http(s) URL of a webhook, "
            "e.g. https://hooks.slack.com/services/..."
        )
    return url


def _work(
    files: list[ScenarioFile],
    concurrency: int,
    every: float,
    rounds: int | None,
    state: _Watch,
) -> Any:
    from eventharness.files.properties import run_any
    from eventharness.files.runner import run_files

    async def work(harness: Harness, variables: dict[str, Any]) -> None:
        harness.keep_results = False  # a watch runs for days: each result goes to its round
        number = 0
        due = time.monotonic()
        while rounds is None or number < rounds:
            number += 1
            state.running = number
            began = time.monotonic()
            outcomes = await run_files(
                harness, files, variables=variables, concurrency=concurrency, run_one=run_any
            )
            state.running = None
            await state.finished(WatchRound.of(number, outcomes, time.monotonic() - began))
            if rounds is not None and number >= rounds:
                break
            due = max(due + every, time.monotonic())  # a late round: the next starts at once
            await asyncio.sleep(due - time.monotonic())  # the schedule, not synchronisation

    return work
