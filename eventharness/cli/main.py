"""``eventharness``: run scenario files, validate them, and manage the environment.

    eventharness run scenarios/ [--profile P] [--broker name=URL] [-k PATTERN] ...
    eventharness validate scenarios/
    eventharness up | down | status | doctor
    eventharness schemas ...

Exit codes (DESIGN §7): 0 all passed · 1 a scenario failed · 2 usage, config or connection
error, with a one-line cause and the remedy (never a traceback).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from eventharness.env.config import (
    EMBEDDED,
    Config,
    Profile,
    load_config,
    parse_broker_overrides,
)
from eventharness.files.checks import FileContext
from eventharness.files.loader import discover, load_files
from eventharness.files.model import ScenarioFile
from eventharness.model.channels import redact
from eventharness.model.errors import BrokerUnavailable, EventHarnessError, ScenarioFileError

app = typer.Typer(
    name="eventharness",
    help="Test event-driven systems: run YAML scenarios against Kafka, RabbitMQ or memory.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="eventharness.toml or pyproject.toml to use "
                              "(default: found by walking up from the current folder).")
]
ProfileOption = Annotated[
    str | None, typer.Option("--profile", "-p", help="Profile for files that name none "
                             "(config: default_profile).")
]
BrokerOption = Annotated[
    list[str] | None, typer.Option("--broker", "-b", help="name=URL, overrides the profile's "
                                   "broker (repeatable); URL may be 'embedded'.")
]
StateOption = Annotated[
    Path | None, typer.Option("--state-dir", help="Where logs and the state of `up` go "
                              "(default: .eventharness next to the config file).",
                              envvar="EVENTHARNESS_STATE_DIR")
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print the cause (and remedy) and exit; multi-line only for lists of problems."""
    errors.print(Text(f"error: {redact(message)}", style="red"), soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def friendly() -> Iterator[None]:
    """Turn every eventharness error into a message and exit code 2 (no traceback)."""
    try:
        yield
    except ScenarioFileError as exc:
        fail(str(exc))
    except EventHarnessError as exc:
        text = str(exc)
        fail(text if "\n" not in text or not isinstance(exc, BrokerUnavailable)
             else text.splitlines()[0])


def quiet_clients(verbose: bool) -> None:
    level = logging.WARNING if verbose else logging.CRITICAL
    for name in ("aiokafka", "aiormq", "aio_pika", "kafka"):
        logging.getLogger(name).setLevel(level)


def state_dir_of(config: Config, state_dir: Path | None) -> Path:
    return (state_dir or config.root / ".eventharness").resolve()


# --- shared set-up ------------------------------------------------------------------------


@dataclass
class Setup:
    """The configuration, the broker overrides, and a FileContext per profile."""

    config: Config
    default: str
    overrides: dict[str, str]
    _stores: dict[str, Any] = field(default_factory=dict)

    def profile(self, name: str | None) -> Profile:
        return self.config.profile(name or self.default)

    def store(self, profile: Profile) -> Any:
        path = self.config.schema_path(profile)
        if path is None:
            return None
        if profile.name not in self._stores:
            from eventharness.schemas import LocalSchemaStore

            self._stores[profile.name] = LocalSchemaStore(path)
        return self._stores[profile.name]

    def context_for(self, name: str | None) -> FileContext:
        profile = self.profile(name)
        brokers = {**profile.brokers, **self.overrides}
        return FileContext(brokers=set(brokers), variables=set(profile.vars),
                           schemas=self.store(profile), profile=profile.name)


def make_setup(config_path: Path | None, profile: str | None,
               brokers: list[str] | None) -> Setup:
    config = load_config(config_path)
    setup = Setup(config, profile or config.default_profile,
                  parse_broker_overrides(brokers or []))
    setup.profile(None)  # an unknown --profile is an error even before any file names it
    return setup


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


# --- run -----------------------------------------------------------------------------------


@app.command()
def run(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Scenario files or folders (config: paths; default: scenarios).")] = None,
    profile: ProfileOption = None,
    broker: BrokerOption = None,
    select: Annotated[str | None, typer.Option(
        "-k", help="Only scenarios whose name contains PATTERN (or matches the glob) "
        "(config: select).")] = None,
    report_json: Annotated[Path | None, typer.Option(
        "--report-json", help="Write the JSON report here (config: report_json).")] = None,
    junit: Annotated[Path | None, typer.Option(
        "--junit", help="Write JUnit XML here (config: junit).")] = None,
    concurrency: Annotated[int | None, typer.Option(
        "--concurrency", "-j", min=1, help="Scenarios run at once on one harness "
        "(config: concurrency, default 4).")] = None,
    fail_fast: Annotated[bool | None, typer.Option(
        "--fail-fast/--no-fail-fast", help="Start no new scenario after the first failure "
        "(config: fail_fast).")] = None,
    verbose: Annotated[bool | None, typer.Option(
        "--verbose/--quiet", "-v", help="Show each scenario as it starts and the "
        "environment's steps (config: verbose).")] = None,
    no_up: Annotated[bool, typer.Option(
        "--no-up", "--no-services", help="Start nothing: use the environment of `eventharness "
        "up`, or the brokers as configured (config: start_services = false).")] = False,
    connect_timeout: Annotated[float | None, typer.Option(
        "--connect-timeout", help="Seconds to reach each broker (config: connect_timeout).")
    ] = None,
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
        chosen = [str(p) for p in paths] if paths else base.paths
        loaded = load_scenarios(setup, chosen, explicit=config is not None)
        from eventharness.files.runner import select_files

        kept = {id(f) for f in select_files([f for _, f in loaded], select or base.select)}
        if not kept:
            fail(f"no scenario matches -k {select or base.select!r} in {' '.join(chosen)}")
        groups: dict[tuple[Path | None, str], tuple[Setup, list[ScenarioFile]]] = {}
        for owner, file in loaded:
            if id(file) in kept:
                key = (owner.config.path, owner.profile(file.profile).name)
                groups.setdefault(key, (owner, []))[1].append(file)
        options = RunOptions(
            concurrency=concurrency or base.concurrency,
            fail_fast=base.fail_fast if fail_fast is None else fail_fast,
            verbose=verbose,
            start=not no_up and base.start_services,
            connect_timeout=connect_timeout,
            state_dir=state_dir_of(setup.config, state_dir),
        )
        from eventharness.reports import TerminalReport

        report = TerminalReport(console, verbose=verbose)
        outcomes: list[Any] = []
        broker_down = False
        for (_, name), (owner, group) in groups.items():
            if options.fail_fast and any(o.status != "passed" for o in outcomes):
                break
            options.state_dir = state_dir_of(owner.config, state_dir)
            found, down = run_group(owner, owner.profile(name), group, options, report)
            outcomes.extend(found)
            broker_down = broker_down or down
        duration = time.monotonic() - started
        report.summary(outcomes, duration)
        from eventharness.reports import write_json, write_junit

        json_path = report_json or base.report_json
        if json_path:
            write_json(json_path, outcomes, duration)
            report.line(f"JSON report: {json_path}", "dim")
        junit_path = junit or base.junit
        if junit_path:
            write_junit(junit_path, outcomes, duration)
            report.line(f"JUnit XML: {junit_path}", "dim")
    if broker_down:
        fail("a broker became unreachable during the run (see the failures above); check it "
             "is running and run again")
    raise typer.Exit(0 if all(o.status == "passed" for o in outcomes) else 1)


@dataclass
class RunOptions:
    concurrency: int
    fail_fast: bool
    verbose: bool
    start: bool
    connect_timeout: float | None
    state_dir: Path


def used_brokers(files: list[ScenarioFile]) -> set[str]:
    """Broker names the files' channels name (``kafka`` of ``kafka:orders``)."""
    found: set[str] = set()
    for file in files:
        for channel in file.channels:
            if "${" not in channel.partition(":")[0]:
                found.add(channel.partition(":")[0])
    return found


def run_group(
    setup: Setup, profile: Profile, files: list[ScenarioFile], options: RunOptions,
    report: Any,
) -> tuple[list[Any], bool]:
    """Run the files of one profile: bring its environment up (or reuse one), run, stop."""
    from eventharness.env.environment import Environment, read_state, state_alive

    wanted = {**profile.brokers, **setup.overrides}
    needed = used_brokers(files) or set(wanted)
    state = read_state(options.state_dir)
    env: Environment | None = None
    if state is not None and state_alive(state) and state.get("profile") == profile.name:
        brokers = {**wanted, **{n: b["url"] for n, b in state["embedded"].items()},
                   **setup.overrides}
        variables = dict(state.get("variables") or {})
        report.line(f"using the environment of `eventharness up` (run id {state['run_id']})",
                    "dim")
    else:
        embedded = [n for n, url in wanted.items() if url == EMBEDDED and n in needed]
        if embedded and not options.start:
            fail(f"broker {embedded[0]!r} is 'embedded' and no environment is up; run "
                 "`eventharness up` first, or drop --no-up")
        env = Environment(
            setup.config, profile, brokers=setup.overrides, state_dir=options.state_dir,
            start_services=options.start,
            log=(lambda line: report.line(f"  {line}", "dim")) if options.verbose else
            (lambda line: None),
        )
    report.header(profile.name, setup.config.source, len(files))
    try:
        if env is not None:
            began = time.monotonic()
            env.start()
            brokers, variables = env.brokers, env.variables
            started = [*env.embedded, *env.services]
            if started:
                report.line(f"environment up in {time.monotonic() - began:.1f}s: "
                            f"{', '.join(started)}", "dim")
            for name, reason in env.skipped.items():
                if options.start:
                    report.line(f"service {name} not started: {reason}", "yellow")
        chosen = {n: u for n, u in brokers.items() if n in needed}
        report.brokers(chosen)
        return asyncio.run(_run_files(setup, profile, files, chosen, variables, options, report))
    finally:
        if env is not None:
            env.stop()


async def _run_files(
    setup: Setup, profile: Profile, files: list[ScenarioFile], brokers: dict[str, str],
    variables: dict[str, Any], options: RunOptions, report: Any,
) -> tuple[list[Any], bool]:
    from eventharness.engine.harness import Harness
    from eventharness.files.runner import run_files

    rules: dict[str, str] = {}
    for file in files:
        rules.update(file.correlation)
    harness = Harness.from_profile(
        profile, brokers=brokers, correlation=rules, schemas=setup.store(profile),
        connect_timeout=options.connect_timeout,
    )
    async with harness:
        outcomes = await run_files(
            harness, files, variables=variables, concurrency=options.concurrency,
            fail_fast=options.fail_fast, on_start=report.started, on_result=report.finished,
        )
    return outcomes, any(o.broker_down for o in outcomes)


# --- validate ------------------------------------------------------------------------------


@app.command()
def validate(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Scenario files or folders (default: the profile's paths).")] = None,
    profile: ProfileOption = None,
    broker: BrokerOption = None,
    config: ConfigOption = None,
) -> None:
    """Check scenario files and the configuration without touching any broker."""
    with friendly():
        setup = make_setup(config, profile, broker)
        chosen = [str(p) for p in paths] if paths else setup.profile(None).paths
        loaded = load_scenarios(setup, chosen, explicit=config is not None)
    sources = ", ".join(sorted({owner.config.source for owner, _ in loaded}))
    console.print(Text(f"✓ {len(loaded)} scenario file{'s' if len(loaded) != 1 else ''} and "
                       f"{sources} are valid", style="green"))


# --- up / down / status --------------------------------------------------------------------


@app.command()
def up(
    profile: ProfileOption = None,
    broker: BrokerOption = None,
    config: ConfigOption = None,
    state_dir: StateOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for everything.")] = 180.0,
) -> None:
    """Start the profile's embedded brokers and services and keep them running."""
    from eventharness.env.environment import launch_supervisor, read_state, state_alive

    with friendly():
        setup = make_setup(config, profile, broker)
        chosen = setup.profile(None)
        folder = state_dir_of(setup.config, state_dir)
        state = read_state(folder)
        if state is not None and state_alive(state):
            fail(f"an environment (profile {state['profile']}) is already up in {folder}; "
                 "`eventharness down` first")
        began = time.monotonic()
        with console.status(f"starting profile {chosen.name}…"):
            state = launch_supervisor(setup.config, chosen, brokers=setup.overrides,
                                      state_dir=folder, timeout=timeout)
        console.print(Text(f"✓ up in {time.monotonic() - began:.1f}s (profile {chosen.name}, "
                           f"run id {state['run_id']})", style="green"))
        show_state(state)


@app.command()
def down(config: ConfigOption = None, state_dir: StateOption = None) -> None:
    """Stop everything `eventharness up` started (by pid; nothing else)."""
    from eventharness.env.environment import bring_down

    with friendly():
        folder = state_dir_of(load_config(config), state_dir)
        outcome = bring_down(folder)
    if not outcome:
        console.print("nothing is up")
        return
    for label, pid, what in outcome:
        console.print(f"{label} (pid {pid}): {what}")


@app.command()
def status(config: ConfigOption = None, state_dir: StateOption = None) -> None:
    """Show what `eventharness up` started and whether it still runs (exit 1 if not all)."""
    from eventharness.env.environment import read_state

    with friendly():
        folder = state_dir_of(load_config(config), state_dir)
        state = read_state(folder)
    if state is None:
        console.print(f"nothing is up (no {folder / 'state.json'})")
        return
    if not show_state(state):
        raise typer.Exit(1)


def show_state(state: dict[str, Any]) -> bool:
    from eventharness.env.environment import is_same, processes_of

    table = Table(show_edge=False, pad_edge=False)
    for column in ("what", "pid", "state", "detail"):
        table.add_column(column)
    alive = True
    for label, pid, start in processes_of(state):
        running = is_same(pid, start)
        alive = alive and running
        name = label.split(" ", 1)[-1]
        detail = ""
        if label.startswith("service"):
            svc = state["services"][name]
            detail = f"ready: {svc['ready'] or '-'} · log {svc['log']}"
        elif label.startswith("broker"):
            detail = f"{state['embedded'][name]['url']} · log {state['embedded'][name]['log']}"
        table.add_row(label, str(pid), Text("running" if running else "gone",
                                            style="green" if running else "red"), detail)
    for name, reason in (state.get("skipped") or {}).items():
        table.add_row(f"service {name}", "-", Text("not started", style="yellow"), reason)
    console.print(table)
    brokers = ", ".join(f"{k}={v}" for k, v in state.get("brokers", {}).items())
    console.print(Text(f"brokers: {brokers}", style="dim"))
    return alive


# --- doctor --------------------------------------------------------------------------------


@app.command()
def doctor(
    profile: ProfileOption = None,
    broker: BrokerOption = None,
    config: ConfigOption = None,
    state_dir: StateOption = None,
) -> None:
    """Check brokers, services and schemas; exit 2 with the cause when something is wrong."""
    from eventharness.cli.doctor import run_checks

    with friendly():
        setup = make_setup(config, profile, broker)
        chosen = setup.profile(None)
        folder = state_dir_of(setup.config, state_dir)
        console.print(Text(f"profile {chosen.name} ({setup.config.source})", style="bold"))
        problems = run_checks(setup.config, chosen, setup.overrides, folder, console)
    if problems:
        fail(problems[0] + (f" (and {len(problems) - 1} more problems above)"
                            if len(problems) > 1 else ""))
    console.print(Text("✓ all checks passed", style="green"))


# --- optional command groups ---------------------------------------------------------------


def _mount_optional() -> None:
    """``schemas`` and ``record``/``replay`` come from their own modules, when installed."""
    import importlib

    try:
        schemas_cli = importlib.import_module("eventharness.cli.schemas")
    except ImportError:
        pass
    else:
        app.add_typer(schemas_cli.app, name="schemas",
                      help="Schema conformance and compatibility checks.")
    try:
        recording = importlib.import_module("eventharness.engine.recording")
    except ImportError:
        return
    # Commands are checked on a scratch app first: a broken plug-in must not break the CLI.
    scratch = typer.Typer()
    scratch.command("noop")(lambda: None)
    try:
        recording.register_commands(scratch)
        typer.main.get_command(scratch)
    except Exception as exc:
        logging.getLogger("eventharness").warning("record/replay commands unavailable: %s", exc)
    else:
        recording.register_commands(app)


_mount_optional()


def main() -> None:
    app()


__all__ = ["app", "discover", "main"]
