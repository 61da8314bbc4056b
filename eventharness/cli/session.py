"""One profile's session: bring its environment up (or reuse the one `eventharness up` left),
make the harness from the profile, do the work, stop what was started.

``run``, ``load`` and ``watch`` differ only in the work done on the harness: ``run`` runs the
files once, ``load`` runs one at a constant arrival rate. The work is an async callable given
the started harness and the environment's variables (``${...}`` of the scenario files).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from eventharness.cli.errors import fail
from eventharness.cli.setup import Setup, receives_spans
from eventharness.env.brokers import EMBEDDED
from eventharness.env.config import Profile
from eventharness.files.model import ScenarioFile
from eventharness.model.channels import redact
from eventharness.tracing import resolve_endpoint

if TYPE_CHECKING:  # annotations only: the engine is imported when a session starts
    from eventharness.engine.harness import Harness

__all__ = ["RunOptions", "Work", "run_group", "run_session", "span_receiver", "used_brokers"]

T = TypeVar("T")

#: The work of a session: given the started harness and the environment's variables.
Work = Callable[["Harness", dict[str, Any]], Awaitable[T]]


@dataclass
class RunOptions:
    concurrency: int
    fail_fast: bool
    verbose: bool
    start: bool
    connect_timeout: float | None
    state_dir: Path
    otlp: str | None = None  # --otlp as given ("" turns tracing off)
    seed: int | None = None  # --seed: generated values ($generate, examples:) replay
    #: Listen for the services' spans when the profile hands them ``${otlp}`` (a run shows
    #: them on its timelines); a load does only when its file checks traces.
    receive_spans: bool = True
    #: What each session removed at its end, and what it could not (env.leftovers.Removal).
    cleanup: list[Any] = field(default_factory=list)


def used_brokers(files: list[ScenarioFile]) -> set[str]:
    """Broker names the files' channels name (``kafka`` of ``kafka:orders``)."""
    found: set[str] = set()
    for file in files:
        for channel in file.channels:
            if "${" not in channel.partition(":")[0]:
                found.add(channel.partition(":")[0])
    return found


def run_group(
    setup: Setup,
    profile: Profile,
    files: list[ScenarioFile],
    options: RunOptions,
    report: Any,
    on_result: Callable[[Any], None],
) -> tuple[list[Any], bool]:
    """``run``: the files of one profile, once each; their outcomes, and whether a broker
    went down during the run."""
    from eventharness.files.properties import run_any
    from eventharness.files.runner import run_files

    async def work(harness: Harness, variables: dict[str, Any]) -> tuple[list[Any], bool]:
        outcomes = await run_files(
            harness,
            files,
            variables=variables,
            concurrency=options.concurrency,
            fail_fast=options.fail_fast,
            on_start=report.started,
            on_result=on_result,
            seed=options.seed,
            run_one=run_any,
        )
        return outcomes, any(o.broker_down for o in outcomes)

    return run_session(setup, profile, files, options, report, work)


def run_session(
    setup: Setup,
    profile: Profile,
    files: list[ScenarioFile],
    options: RunOptions,
    report: Any,
    work: Work[T],
) -> T:
    """Bring the profile's environment up (or reuse one), do ``work`` on a harness, stop."""
    from eventharness.env.environment import Environment
    from eventharness.files.rules import profile_channels

    needed = used_brokers(files) or {*profile.brokers, *setup.overrides}
    running = setup.running(profile, options.state_dir)
    env: Environment | None = None
    ledger: Any = None  # what the run records it creates (its own environment only)
    kept: dict[str, str] = {}  # the brokers that outlive the run (not embedded, not memory)
    receiver = (
        span_receiver(profile, running.otlp if running is not None else None)
        if options.receive_spans
        else None
    )
    if running is not None:
        brokers = setup.brokers(profile, running)
        variables = dict(running.variables)
        report.line(f"using the environment of `eventharness up` (run id {running.run_id})", "dim")
    else:
        wanted = setup.brokers(profile, None)
        embedded = [n for n, url in wanted.items() if url == EMBEDDED and n in needed]
        if embedded and not options.start:
            fail(
                f"broker {embedded[0]!r} is 'embedded' and no environment is up; run "
                "`eventharness up` first, or drop --no-up"
            )
        env = Environment(
            setup.config,
            profile,
            brokers=setup.overrides,
            state_dir=options.state_dir,
            start_services=options.start,
            needed=needed,
            connect_timeout=options.connect_timeout,
            log=(lambda line: report.line(f"  {line}", "dim"))
            if options.verbose
            else (lambda line: None),
            otlp=receiver.url if receiver is not None else None,
        )
    report.header(profile.name, setup.config.source, len(files))
    try:
        if env is not None:
            began = time.monotonic()
            env.start()
            brokers, variables = env.brokers, env.variables
            started = [*env.embedded, *env.services]
            if started:
                report.line(
                    f"environment up in {time.monotonic() - began:.1f}s: {', '.join(started)}",
                    "dim",
                )
            for name, reason in env.skipped.items():
                if options.start:
                    report.line(f"service {name} not started: {reason}", "yellow")
        chosen = {n: u for n, u in brokers.items() if n in needed}
        report.brokers(chosen)
        run_id = running.run_id if running is not None else env.run_id if env else ""
        profile = profile_channels(profile, variables, run_id=run_id)
        scenario_vars: dict[str, Any] = {**variables, "run": {"id": run_id}, "vars": variables}
        if env is not None:
            kept = {n: u for n, u in chosen.items() if env.wanted.get(n) != EMBEDDED}
            ledger = begin_ledger(files, variables, run_id, profile.name, kept, options.state_dir)
        if receiver is not None:
            report.line(f"receiving spans (OTLP/HTTP) at {receiver.url}", "dim")
        return asyncio.run(
            _on_harness(
                setup, profile, files, chosen, scenario_vars, options, report, work, env, receiver
            )
        )
    finally:
        if env is not None:
            env.stop()
        if receiver is not None:
            receiver.close()
        timeout = options.connect_timeout or 10.0
        removal = remove_created(ledger, kept, report, timeout) if ledger is not None else None
        if removal is not None:
            options.cleanup.append(removal)


def begin_ledger(
    files: list[ScenarioFile],
    variables: dict[str, Any],
    run_id: str,
    profile: str,
    brokers: dict[str, str],
    state_dir: Path,
) -> Any:
    """The record of what the run will create (named with its id), written before it starts;
    None when no broker outlives the run (embedded, in-memory)."""
    from eventharness.env.leftovers import Ledger
    from eventharness.files.isolation import planned
    from eventharness.transports.admin import broker_family

    if not any(broker_family(url) for url in brokers.values()):
        return None
    items = planned(files, variables, run_id=run_id, brokers=brokers)
    return Ledger.begin(state_dir, run_id, profile, items)


def remove_created(
    ledger: Any, brokers: dict[str, str], report: Any, connect_timeout: float = 10.0
) -> Any:
    """Remove what the run created: its recorded names, and on Kafka every topic and group
    named with its id. Says what could not be removed; the record keeps only that."""
    from eventharness.env.leftovers import find_named, remove_leftovers

    async def work() -> Any:
        found, problems = await find_named(
            brokers, contains=[ledger.run_id], connect_timeout=connect_timeout
        )
        removal = await remove_leftovers(
            [*ledger.items, *found], brokers, connect_timeout=connect_timeout
        )
        return removal, problems

    try:
        removal, problems = asyncio.run(work())
    except Exception as exc:  # the run's verdict stands; the record stays for `clean`
        report.line(f"could not remove what run {ledger.run_id} created: {exc}", "yellow")
        return None
    ledger.settle(item for item, _ in removal.failed)
    if removal.removed:
        shown = ", ".join(str(item) for item in removal.removed)
        report.line(f"removed what run {ledger.run_id} created: {shown}", "dim")
    for problem in problems:
        report.line(f"could not list what run {ledger.run_id} created on {problem}", "yellow")
    for item, why in removal.failed:
        report.line(
            f"could not remove {item}: {why}; `eventharness clean` removes it later", "yellow"
        )
    return removal


def span_receiver(profile: Profile, url: str | None = None) -> Any:
    """A started span receiver when the profile hands ``${otlp}`` to its services — on the
    port of ``url`` when an ``up`` environment gave its services that one; None otherwise (a
    run that needs none starts none)."""
    if not receives_spans(profile):
        return None
    from urllib.parse import urlsplit

    from eventharness.tracing.receiver import SpanReceiver

    port = urlsplit(url).port if url else None
    try:
        return SpanReceiver(port=port or 0).start()
    except OSError as exc:
        fail(
            f"cannot receive spans at {url} (the port `eventharness up` gave its services): "
            f"{exc}; run `eventharness down` and `up` again"
        )


async def _on_harness(
    setup: Setup,
    profile: Profile,
    files: list[ScenarioFile],
    brokers: dict[str, str],
    variables: dict[str, Any],
    options: RunOptions,
    report: Any,
    work: Work[T],
    env: Any = None,
    receiver: Any = None,
) -> T:
    from eventharness.engine.harness import Harness
    from eventharness.files.rules import correlation_rules
    from eventharness.tracing import make_tracing

    rules = correlation_rules(files, variables)
    endpoint = resolve_endpoint(options.otlp, profile.otlp)
    tracing = make_tracing(endpoint)
    if endpoint is not None:
        report.line(f"spans: OTLP/HTTP to {redact(endpoint)}", "dim")
    harness = Harness.from_profile(
        profile,
        brokers=brokers,
        correlation=rules,
        schemas=setup.store(profile),
        connect_timeout=options.connect_timeout,
        tracing=tracing,
        aliases=setup.aliases(profile),
        receiver=receiver,
        network=env.network if env is not None else None,  # the services' proxies
    )
    try:
        async with harness:
            if env is not None:  # a service that exits fails the scenarios running then
                incidents = harness.incidents
                env.watch(
                    lambda source, message, details, standing: incidents.report_threadsafe(
                        source, message, details=details, standing=standing
                    ),
                    incidents.resolve_threadsafe,
                )
            return await work(harness, variables)
    finally:
        if tracing is not None:
            tracing.shutdown()  # exports the spans still batched
