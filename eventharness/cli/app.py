"""``eventharness``: the command line, one module per command group.

    eventharness run scenarios/ [--profile P] [--broker name=URL] [-k PATTERN] ...   cli/run.py
    eventharness validate scenarios/                                                 cli/run.py
    eventharness load SCENARIO --rate 200/s --duration 60s [--slo p99<500ms]       cli/load.py
    eventharness watch scenarios/ --every 60s [--alert-webhook URL]                cli/watch.py
    eventharness up | down | status                                                  cli/env.py
    eventharness doctor                                                              cli/doctor.py
    eventharness record ... | replay ...                                             cli/record.py
    eventharness schemas ...                                                         cli/schemas.py
    eventharness contracts verify | write ...                                      cli/contracts.py
    eventharness report merge REPORTS... --json OUT --junit OUT                    cli/report.py
    eventharness report history DIR -o dashboard.html                                cli/report.py
    eventharness asyncapi check | export | scaffold ...                              cli/asyncapi.py
    eventharness init [--from-asyncapi DOC]                                          cli/init.py
    eventharness map [RECORDINGS] [--asyncapi DOC] [--format mermaid|dot|json|text]  cli/map.py

Each command's module is imported when the command runs (:mod:`eventharness.cli.lazy`):
``--help`` lists them from :data:`COMMANDS`, whose summaries are the first paragraph of each
command's help (a test keeps them equal).

Exit codes (DESIGN §7, :mod:`eventharness.cli.errors`): 0 all passed · 1 a scenario failed ·
2 usage, config or connection error, with a one-line cause and the remedy (never a traceback).
"""

from __future__ import annotations

import typer

from eventharness.cli.lazy import LazyCommand, LazyGroup, help_settings

__all__ = ["COMMANDS", "app", "contracts_app", "main"]

_CLI = "eventharness.cli."

COMMANDS: dict[str, LazyCommand] = {
    "run": LazyCommand(
        _CLI + "run",
        "run",
        "Run scenario files; exit 0 when all pass, 1 when one fails, 2 when they cannot run.",
    ),
    "validate": LazyCommand(
        _CLI + "run",
        "validate",
        "Check scenario files and the configuration without touching any broker.",
    ),
    "load": LazyCommand(
        _CLI + "load",
        "load",
        "Run one scenario at a constant arrival rate; report throughput and latency percentiles.",
    ),
    "watch": LazyCommand(
        _CLI + "watch",
        "watch",
        "Run scenarios round after round against a long-lived environment, with Prometheus "
        "metrics and webhook alerts; Ctrl-C stops it (exit 130).",
    ),
    "up": LazyCommand(
        _CLI + "env",
        "up",
        "Start the profile's embedded brokers and services and keep them running.",
    ),
    "down": LazyCommand(
        _CLI + "env", "down", "Stop everything `eventharness up` started (by pid; nothing else)."
    ),
    "status": LazyCommand(
        _CLI + "env",
        "status",
        "Show what `eventharness up` started and whether it still runs (exit 1 if not all).",
    ),
    "clean": LazyCommand(
        _CLI + "clean",
        "clean",
        "Remove topics, consumer groups, exchanges and queues that crashed runs left behind.",
    ),
    "doctor": LazyCommand(
        _CLI + "doctor",
        "doctor",
        "Check brokers, services and schemas; exit 2 with the cause when something is wrong.",
    ),
    "record": LazyCommand(
        _CLI + "record",
        "record_command",
        "Record what a running system emits (secret-looking headers redacted, --mask fields "
        "masked).",
    ),
    "replay": LazyCommand(
        _CLI + "record",
        "replay_command",
        "Publish a recording again, as a load: at its pace, N times faster or at full speed.",
    ),
    "mask": LazyCommand(
        _CLI + "record",
        "mask_command",
        "Mask payload fields of a recording (to share it): the profile's mask and --mask.",
    ),
    "map": LazyCommand(
        _CLI + "map",
        "map_command",
        "Draw the map of services and channels, with counts, hop latencies and risks.",
    ),
    "init": LazyCommand(
        _CLI + "init",
        "init",
        "Write eventharness.toml, scenarios and a CI workflow (refuses to overwrite).",
    ),
    "schema": LazyCommand(
        _CLI + "schema",
        "schema",
        "Print the JSON Schema of a file kind (scenario) on stdout, for editors.",
    ),
    "report": LazyCommand(
        _CLI + "report", "app", "Reports from the reports of runs: merge, history."
    ),
    "schemas": LazyCommand(_CLI + "schemas", "app", "Schema conformance and compatibility checks."),
    "asyncapi": LazyCommand(
        _CLI + "asyncapi", "app", "AsyncAPI documents: check, export, scaffold."
    ),
    "contracts": LazyCommand(
        _CLI + "app",
        "contracts_app",
        "Message contracts (Pact): write, verify, publish, can-i-deploy, check.",
        factory=True,
    ),
}


def contracts_app() -> typer.Typer:
    """The ``contracts`` group: its own commands plus the store's (publish,
    record-deployment, can-i-deploy, matrix, check)."""
    from eventharness.cli import contracts, contracts_store

    if "publish" not in {info.name for info in contracts.app.registered_commands}:
        contracts_store.register(contracts.app)
    return contracts.app


class _Commands(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(
    name="eventharness",
    help="Test event-driven systems: run YAML scenarios against Kafka, RabbitMQ or memory.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Commands,
    **help_settings(),  # output that is not a terminal is not wrapped
)


@app.callback()
def _root() -> None:
    """Test event-driven systems: run YAML scenarios against Kafka, RabbitMQ or memory."""


def main() -> None:
    app()
