"""``eventharness``: the command line, one module per command group.

    eventharness run scenarios/ [--profile P] [--broker name=URL] [-k PATTERN] ...   cli/run.py
    eventharness validate scenarios/                                                 cli/run.py
    eventharness load SCENARIO --rate 200/s --duration 60s [--slo p99<500ms]       cli/load.py
    eventharness watch scenarios/ --every 60s [--alert-webhook URL]                cli/watch.py
    eventharness up | down | status                                                  cli/env.py
    eventharness clean [--profile P] [--prefix PREFIX] [--dry-run]                   cli/clean.py
    eventharness doctor                                                              cli/doctor.py
    eventharness record ... | replay ... | mask ...                                  cli/record.py
    eventharness schemas ...                                                         cli/schemas.py
    eventharness contracts verify | write ...                                      cli/contracts.py
    eventharness report merge REPORTS... --json OUT --junit OUT                    cli/report.py
    eventharness report history DIR -o dashboard.html                                cli/report.py
    eventharness asyncapi check | export | scaffold ...                              cli/asyncapi.py
    eventharness init [--from-asyncapi DOC]                                          cli/init.py
    eventharness map [RECORDINGS] [--asyncapi DOC] [--format mermaid|dot|json|text]  cli/map.py

Exit codes (DESIGN §7, :mod:`eventharness.cli.errors`): 0 all passed · 1 a scenario failed ·
2 usage, config or connection error, with a one-line cause and the remedy (never a traceback).
"""

from __future__ import annotations

import typer

from eventharness.cli import (
    asyncapi,
    clean,
    contracts,
    contracts_store,
    doctor,
    env,
    init,
    load,
    map,
    record,
    report,
    run,
    schema,
    schemas,
    setup,
    watch,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="eventharness",
    help="Test event-driven systems: run YAML scenarios against Kafka, RabbitMQ or memory.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    **setup.help_settings(),  # output that is not a terminal is not wrapped
)

app.command()(run.run)
app.command()(run.validate)
app.command()(load.load)
app.command()(watch.watch)
app.command()(env.up)
app.command()(env.down)
app.command()(env.status)
app.command()(clean.clean)
app.command()(doctor.doctor)
app.command("record")(record.record_command)
app.command("replay")(record.replay_command)
app.command("mask")(record.mask_command)
app.command("map")(map.map_command)
app.command()(init.init)
app.command()(schema.schema)
app.add_typer(report.app, name="report", help="Reports from the reports of runs: merge, history.")
app.add_typer(schemas.app, name="schemas", help="Schema conformance and compatibility checks.")
app.add_typer(asyncapi.app, name="asyncapi", help="AsyncAPI documents: check, export, scaffold.")
contracts_store.register(contracts.app)  # publish, record-deployment, can-i-deploy, matrix, check
app.add_typer(
    contracts.app,
    name="contracts",
    help="Message contracts (Pact): write, verify, publish, can-i-deploy, check.",
)


def main() -> None:
    app()
