"""``eventharness run`` and ``eventharness validate``: scenario files, loaded with the
configuration that governs each, run on one harness per profile.

    eventharness run scenarios/ [--profile P] [--broker name=URL] [-k PATTERN] ...
    eventharness run scenarios/ --shard 2/3 [--durations-from REPORT.json]   (CI matrices)
    eventharness validate scenarios/

``run`` exits 0 when all pass, 1 when one fails, 2 when they cannot run (DESIGN §7), and 130
on Ctrl-C: it stops what it started, marks each scenario that did not finish as an ``error``
"interrupted by Ctrl-C", writes the reports and prints one line,
``interrupted: N of M scenarios finished; reports written``.

The environment and the harness of each profile's group: :mod:`eventharness.cli.session`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from eventharness.cli.errors import ERROR, FAILED, INTERRUPTED, OK, errors, fail, friendly
from eventharness.cli.session import RunOptions, run_group, used_brokers
from eventharness.cli.setup import (
    BrokerOption,
    ConcurrencyOption,
    ConfigOption,
    ConnectTimeoutOption,
    ProfileOption,
    SelectOption,
    Setup,
    StateOption,
    check_connect_timeout,
    console,
    make_setup,
    quiet_clients,
    state_dir_of,
)
from eventharness.env.config import load_config
from eventharness.files.loader import discover, load_files
from eventharness.files.model import ScenarioFile
from eventharness.model.channels import redact
from eventharness.model.errors import ScenarioFileError
from eventharness.model.problems import closest
from eventharness.tracing import resolve_endpoint

__all__ = [
    "INTERRUPTED_MESSAGE",
    "check_overrides",
    "check_run_options",
    "check_writable",
    "group_by_profile",
    "interrupted_outcome",
    "load_scenarios",
    "run",
    "sharding",
    "validate",
]

INTERRUPTED_MESSAGE = "interrupted by Ctrl-C"


def load_scenarios(
    main: Setup, paths: list[str], explicit: bool
) -> list[tuple[Setup, ScenarioFile]]:
    """Load every file with the configuration that governs it: the ``--config`` file when
    given, else the nearest eventharness.toml (or pyproject.toml) above the file — so a
    folder can carry its own profiles. ``--profile`` applies to files of the main config."""
    from eventharness.env.config import find_config

    setups: dict[Path | None, Setup] = {main.config.path: main}
    groups: dict[Path | None, list[Path]] = {}
    for path in discover(paths):
        found = None if explicit else find_config(path.resolve().parent)
        key = found[0].resolve() if found is not None else main.config.path
        if key not in setups and key is not None:
            config = load_config(key)
            setups[key] = Setup(config, config.default_profile, main.overrides)
        groups.setdefault(key, []).append(path)
    problems: list[str] = []
    loaded: list[tuple[Setup, ScenarioFile]] = []
    for key, group in groups.items():
        setup = setups[key]
        try:
            loaded.extend((setup, f) for f in load_files(group, setup.context_for))
        except ScenarioFileError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioFileError(problems)
    return loaded


def run(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Scenario files or folders (config: paths; default: scenarios)."),
    ] = None,
    profile: ProfileOption = None,
    broker: BrokerOption = None,
    select: SelectOption = None,
    report_json: Annotated[
        Path | None,
        typer.Option("--report-json", help="Write the JSON report here (config: report_json)."),
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Write JUnit XML here (config: junit).")
    ] = None,
    report_html: Annotated[
        Path | None,
        typer.Option(
            "--report-html",
            help="Write the HTML report (one self-contained page) here (config: report_html).",
        ),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(
            "--record",
            metavar="FILE.jsonl",
            help="Write every event the scenarios sent and received as a recording "
            "(for asyncapi check/export and map).",
        ),
    ] = None,
    concurrency: ConcurrencyOption = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", help="Seed of generated test data ($generate, examples:); replays a failure."
        ),
    ] = None,
    fail_fast: Annotated[
        bool | None,
        typer.Option(
            "--fail-fast/--no-fail-fast",
            help="Start no new scenario after the first failure (config: fail_fast).",
        ),
    ] = None,
    verbose: Annotated[
        bool | None,
        typer.Option(
            "--verbose/--quiet",
            "-v",
            help="Show each scenario as it starts and the environment's steps (config: verbose).",
        ),
    ] = None,
    no_up: Annotated[
        bool,
        typer.Option(
            "--no-up",
            "--no-services",
            help="Start nothing: use the environment of `eventharness "
            "up`, or the brokers as configured (config: start_services = false).",
        ),
    ] = False,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="K/N",
            help="Run only share K of N (CI matrices): the same on every machine; "
            "together the N shards run every scenario exactly once.",
        ),
    ] = None,
    durations_from: Annotated[
        Path | None,
        typer.Option(
            "--durations-from",
            metavar="REPORT.json",
            help="Balance --shard by the durations in this JSON report of an earlier run.",
        ),
    ] = None,
    otlp: Annotated[
        str | None,
        typer.Option(
            "--otlp",
            metavar="URL",
            help="Export spans over OTLP/HTTP to this base URL, e.g. http://127.0.0.1:4318 "
            "(config: otlp; default: $OTEL_EXPORTER_OTLP_ENDPOINT, else off).",
        ),
    ] = None,
    mask: Annotated[
        list[str] | None,
        typer.Option(
            "--mask",
            metavar="PATH",
            help="Mask this payload field in every report, keeping its shape, e.g. "
            "value.card.number, headers.x-token, key (repeatable; config: mask).",
        ),
    ] = None,
    connect_timeout: ConnectTimeoutOption = None,
    config: ConfigOption = None,
    state_dir: StateOption = None,
) -> None:
    """Run scenario files; exit 0 when all pass, 1 when one fails, 2 when they cannot run."""
    started = time.monotonic()
    with friendly():
        setup = make_setup(config, profile, broker)
        base = setup.profile(None)
        verbose = base.verbose if verbose is None else verbose
        quiet_clients(verbose)
        json_path = report_json or base.report_json
        junit_path = junit or base.junit
        html_path = report_html or base.report_html
        check_run_options(connect_timeout, json_path, junit_path, html_path)
        if record is not None:
            check_writable(record, "--record")
        resolve_endpoint(otlp, base.otlp)  # a bad endpoint fails before anything starts
        chosen = [str(p) for p in paths] if paths else base.paths
        loaded = load_scenarios(setup, chosen, explicit=config is not None)
        check_overrides(setup, loaded)
        keep = sharding(shard, durations_from)
        groups = group_by_profile(loaded, select or base.select, chosen, keep)
        masks = masks_of(mask or [])
        seed = random.randrange(2**32) if seed is None else seed
        options = RunOptions(
            concurrency=concurrency or base.concurrency,
            fail_fast=base.fail_fast if fail_fast is None else fail_fast,
            seed=seed,
            verbose=verbose,
            start=not no_up and base.start_services,
            connect_timeout=connect_timeout,
            state_dir=state_dir_of(setup.config, state_dir),
            otlp=otlp,
        )
        from eventharness.reports import TerminalReport

        report = TerminalReport(console, verbose=verbose)
        if shard is not None:
            count = sum(len(files) for _, files in groups.values())
            report.line(f"shard {shard}: {count} scenario{'s' if count != 1 else ''}", "dim")
        if any(uses_generated_data(f) for _, files in groups.values() for f in files):
            report.line(f"seed {seed} (--seed {seed} replays the generated values)", "dim")
        outcomes: list[Any] = []
        finished: dict[int, Any] = {}  # id(file) → its outcome, as each scenario finishes
        masking = masks(None)

        def on_result(outcome: Any) -> None:
            outcome.result = masking.result(outcome.result)  # before any report sees it
            finished[id(outcome.file)] = outcome
            report.finished(outcome)

        broker_down = interrupted = False
        try:
            for (_, name), (owner, group) in groups.items():
                if options.fail_fast and any(o.status != "passed" for o in outcomes):
                    break
                options.state_dir = state_dir_of(owner.config, state_dir)
                masking = masks(owner.profile(name))
                found, down = run_group(
                    owner, owner.profile(name), group, options, report, on_result
                )
                outcomes.extend(found)
                broker_down = broker_down or down
        except KeyboardInterrupt:  # Ctrl-C: what it started is stopped; report what finished
            interrupted = True
            chosen_files = [file for _, files in groups.values() for file in files]
            outcomes = [finished.get(id(f)) or interrupted_outcome(f) for f in chosen_files]
        duration = time.monotonic() - started
        if not interrupted:
            report.summary(outcomes, duration)
        from eventharness.reports import write_html, write_json, write_junit

        if json_path:
            write_json(json_path, outcomes, duration, cleanup_report(options.cleanup))
            report.line(f"JSON report: {json_path}", "dim")
        if junit_path:
            write_junit(junit_path, outcomes, duration)
            report.line(f"JUnit XML: {junit_path}", "dim")
        if html_path:
            write_html(html_path, outcomes, duration)
            report.line(f"HTML report: {html_path}", "dim")
        if record is not None:
            from eventharness.engine.recordfile import recording_of

            recording = recording_of(e for o in outcomes for e in o.result.events)
            recording.save(record)
            report.line(f"recording: {record} ({len(recording)} events)", "dim")
    if interrupted:
        written = "; reports written" if json_path or junit_path or html_path else ""
        errors.print(
            f"interrupted: {len(finished)} of {len(outcomes)} scenarios finished{written}",
            soft_wrap=True,
        )
        raise typer.Exit(INTERRUPTED)
    if broker_down:
        fail(
            "a broker became unreachable during the run (see the failures above); check it "
            "is running and run again",
            ERROR,
        )
    raise typer.Exit(OK if all(o.status == "passed" for o in outcomes) else FAILED)


def masks_of(paths: list[str]) -> Callable[[Any], Any]:
    """``--mask`` paths (checked now) → the mask of a group's profile: its ``mask`` and them."""
    from eventharness.engine.masking import Mask

    Mask(paths)  # a bad path fails before anything starts

    def of(profile: Any) -> Mask:
        return Mask([*(profile.mask if profile is not None else ()), *paths])

    return of


def uses_generated_data(file: ScenarioFile) -> bool:
    """Whether ``file`` draws values from the run's seed ($generate, generate:, ${fake.*})."""
    text = repr((file.vars, file.steps, file.stubs))
    return bool(file.examples or file.generate or "$generate" in text or "${fake." in text)


def cleanup_report(removals: list[Any]) -> dict[str, Any] | None:
    """The JSON report's ``cleanup``: every session's removal merged; None when none ran."""
    if not removals:
        return None
    merged: dict[str, Any] = {"removed": [], "not_removed": []}
    for removal in removals:
        for key, entries in removal.to_dict().items():
            merged[key].extend(entries)
    return merged


def interrupted_outcome(file: ScenarioFile) -> Any:
    """The outcome of a scenario a Ctrl-C stopped, or kept from starting: an ``error`` whose
    failure says so (the statuses of the JSON report stay passed | failed | error)."""
    from eventharness.files.outcome import Outcome
    from eventharness.model.result import Failure, ScenarioResult

    failure = Failure("error", "", INTERRUPTED_MESSAGE)
    return Outcome(file, ScenarioResult(file.name, "", "error", file=file.path, failures=[failure]))


def check_run_options(
    connect_timeout: float | None,
    json_path: str | Path | None,
    junit_path: str | Path | None,
    html_path: str | Path | None = None,
) -> None:
    """Options that would only fail after the run (or be silently replaced) fail now."""
    check_connect_timeout(connect_timeout)
    reports = (("--report-json", json_path), ("--junit", junit_path), ("--report-html", html_path))
    for option, target in reports:
        if target:
            check_writable(Path(target), option)


def sharding(
    shard: str | None, durations_from: Path | None
) -> Callable[[list[ScenarioFile]], list[ScenarioFile]] | None:
    """``--shard K/N`` (and ``--durations-from``) as a filter of the selected files."""
    from eventharness.files.shards import durations_from as read_durations
    from eventharness.files.shards import parse_shard, shard_files

    if shard is None:
        if durations_from is not None:
            fail("--durations-from balances shards: give --shard K/N with it")
        return None
    chosen = parse_shard(shard)
    durations = read_durations(durations_from) if durations_from is not None else None
    return lambda files: shard_files(files, chosen, durations)


def group_by_profile(
    loaded: list[tuple[Setup, ScenarioFile]],
    pattern: str | None,
    chosen: list[str],
    keep: Callable[[list[ScenarioFile]], list[ScenarioFile]] | None = None,
) -> dict[tuple[Path | None, str], tuple[Setup, list[ScenarioFile]]]:
    """The files ``-k`` keeps (then ``keep``, a shard), by (config file, profile): each
    group runs on one harness. A shard may hold no file: the run then has nothing to do."""
    from eventharness.files.runner import select_files

    selected = select_files([f for _, f in loaded], pattern)
    if not selected:
        fail(f"no scenario matches -k {pattern!r} in {' '.join(chosen)}")
    kept = {id(f) for f in (keep(selected) if keep is not None else selected)}
    groups: dict[tuple[Path | None, str], tuple[Setup, list[ScenarioFile]]] = {}
    for owner, file in loaded:
        if id(file) in kept:
            key = (owner.config.path, owner.profile(file.profile).name)
            groups.setdefault(key, (owner, []))[1].append(file)
    return groups


def check_writable(path: Path, option: str) -> None:
    """Fail now (exit 2), before anything runs, when a report could not be written at the
    end: a folder, a place that cannot be created or written. Leaves no file behind."""
    if path.is_dir():
        fail(f"{option} {path}: is a folder; give a file name, e.g. {path / 'report.xml'}")
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a"):
            pass
    except OSError as exc:
        fail(f"{option} {path}: cannot be written ({exc.strerror or exc}); choose another path")
    if not existed:
        path.unlink(missing_ok=True)


def check_overrides(setup: Setup, loaded: list[tuple[Setup, ScenarioFile]]) -> None:
    """A ``--broker NAME=URL`` whose NAME no profile of the run has and no scenario uses
    would be ignored: that is a mistake (a typo), so say so."""
    known: set[str] = set()
    for owner, file in loaded:
        known.update(owner.profile(file.profile).brokers)
    if not loaded:
        known.update(setup.profile(None).brokers)
    known.update(used_brokers([file for _, file in loaded]))
    for name, url in setup.overrides.items():
        if name not in known:
            near = closest(name, known)
            hint = f"; did you mean {near!r}?" if near else ""
            fail(
                f"--broker {name}={redact(url)}: no profile of this run has a broker named "
                f"{name!r} and no scenario uses one{hint} (brokers: "
                f"{', '.join(sorted(known)) or 'none'})"
            )


def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Scenario files or folders (default: the profile's paths)."),
    ] = None,
    profile: ProfileOption = None,
    broker: BrokerOption = None,
    config: ConfigOption = None,
) -> None:
    """Check scenario files and the configuration without touching any broker."""
    with friendly():
        setup = make_setup(config, profile, broker)
        chosen = [str(p) for p in paths] if paths else setup.profile(None).paths
        loaded = load_scenarios(setup, chosen, explicit=config is not None)
        check_overrides(setup, loaded)
    sources = ", ".join(sorted({owner.config.source for owner, _ in loaded}))
    console.print(
        Text(
            f"✓ {len(loaded)} scenario file{'s' if len(loaded) != 1 else ''} and "
            f"{sources} are valid",
            style="green",
        )
    )
