"""``eventharness asyncapi ...``: AsyncAPI documents in and out (docs/asyncapi.md).

    eventharness asyncapi check docs/asyncapi.yaml                       # the document itself
    eventharness asyncapi check docs/asyncapi.yaml --against shop.jsonl  # ... and what was seen
    eventharness asyncapi check docs/asyncapi.yaml --run scenarios/      # ... and a run's events
    eventharness asyncapi export shop.jsonl -o asyncapi.yaml             # what was seen, as 3.0
    eventharness asyncapi scaffold docs/asyncapi.yaml --out scenarios/  # a scenario per flow

Exit codes: 0 all good · 1 an observed event broke the document (or a channel it does not
have) · 2 the document (or a recording) is unusable: every problem with file:line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from eventharness.cli.errors import FAILED, OK, friendly
from eventharness.cli.recorded import recorded_run
from eventharness.cli.setup import ConfigOption, ProfileOption, console, make_setup
from eventharness.model.errors import AsyncApiError, UsageError

if TYPE_CHECKING:
    from eventharness.asyncapi.source import Source

__all__ = ["app", "check", "checked_document", "export", "scaffold", "write_new"]

app = typer.Typer(
    name="asyncapi",
    help="AsyncAPI documents: check them (and what was observed against them), export, scaffold.",
    no_args_is_help=True,
    add_completion=False,
)

DocArgument = Annotated[Path, typer.Argument(help="The AsyncAPI document (2.6, 3.0, 3.1).")]


def checked_document(path: Path) -> Source:
    """The document at ``path``; AsyncApiError (exit 2) listing every problem otherwise."""
    # lazy, as in every command module: `eventharness --help` imports no command's work
    from eventharness.asyncapi.source import Source
    from eventharness.asyncapi.structure import check_structure

    source = Source.open(path)
    problems = check_structure(source)
    if problems:
        raise AsyncApiError(problems)
    return source


@app.command()
def check(
    document: DocArgument,
    against: Annotated[
        list[Path] | None,
        typer.Option(
            "--against", help="Recordings (.jsonl): every event must keep to the document."
        ),
    ] = None,
    run_paths: Annotated[
        list[Path] | None,
        typer.Option(
            "--run",
            metavar="PATH",
            help="Run these scenarios (as `eventharness run` does) and use what they sent "
            "and received (repeatable).",
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="A declared message nobody sent fails too.")
    ] = False,
    profile: ProfileOption = None,
    config: ConfigOption = None,
) -> None:
    """Check the document (structure, refs, examples); with --against, the recorded events."""
    from eventharness.asyncapi.conformance import conformance
    from eventharness.asyncapi.reader import read_document
    from eventharness.engine.recordfile import Recording

    with friendly():
        doc = read_document(checked_document(document))
        console.print(
            f"{document}: AsyncAPI {doc.version}, {len(doc.channels)} channels, "
            f"{sum(len(c.messages) for c in doc.channels.values())} messages, "
            f"{len(doc.operations)} operations: valid"
        )
        if not against and not run_paths:
            raise typer.Exit(OK)
        brokers = make_setup(config, profile, None).profile(None).brokers
        observed = [(str(path), Recording.load(path)) for path in against or []]
        failed = False
        if run_paths:
            recording, passed = recorded_run(run_paths, profile=profile, config=config)
            observed.append((f"the run of {' '.join(map(str, run_paths))}", recording))
            if not passed:
                failed = True
                console.print("✗ the run had failing scenarios (above); its events are checked")
        for where, recording in observed:
            report = conformance(doc, recording, brokers)
            lines = report.lines()
            broken = not report.ok or (strict and bool(report.unsent))
            failed = failed or broken
            mark = "✗" if broken else "✓"
            console.print(
                f"{mark} {where}: {report.events} events, {len(report.problems)} problems, "
                f"{len(report.unknown)} unknown channels, {len(report.unsent)} messages never seen",
                soft_wrap=True,
            )
            for line in lines:
                console.print(f"  {line}", soft_wrap=True, markup=False, highlight=False)
        raise typer.Exit(FAILED if failed else OK)


@app.command()
def export(
    recordings: Annotated[
        list[Path] | None, typer.Argument(help="Recordings (.jsonl) to describe.")
    ] = None,
    run_paths: Annotated[
        list[Path] | None,
        typer.Option(
            "--run",
            metavar="PATH",
            help="Run these scenarios (as `eventharness run` does) and use what they sent "
            "and received (repeatable).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the document here (default: stdout)."),
    ] = None,
    title: Annotated[str, typer.Option("--title", help="info.title of the document.")] = "observed",
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service",
            help="CHANNEL=SERVICE: who sends on a channel, e.g. kafka:payments=payments "
            "(repeatable).",
        ),
    ] = None,
    profile: ProfileOption = None,
    config: ConfigOption = None,
) -> None:
    """Write what the recordings hold as an AsyncAPI 3.0.0 document (schemas inferred)."""
    from eventharness.asyncapi.export import export_document, to_yaml
    from eventharness.engine.recordfile import Recording

    with friendly():
        owners: dict[str, str] = {}
        for text in service or []:
            channel, sep, name = text.rpartition("=")
            if not sep or not channel or not name:
                raise UsageError(
                    f"--service {text!r}: write CHANNEL=SERVICE, e.g. kafka:payments=payments"
                )
            owners[channel] = name
        brokers = make_setup(config, profile, None).profile(None).brokers
        if not recordings and not run_paths:
            raise UsageError("nothing to describe: give recordings (.jsonl) and/or --run PATH")
        loaded = [Recording.load(path) for path in recordings or []]
        if run_paths:
            loaded.append(recorded_run(run_paths, profile=profile, config=config)[0])
        text = to_yaml(export_document(loaded, brokers=brokers, services=owners, title=title))
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            console.print(f"wrote {output}: {sum(len(r) for r in loaded)} events described")


def write_new(root: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` (relative path → text) under ``root``; none if any already exists."""
    paths = [root / name for name in files]
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise UsageError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "nothing was written (move them away or choose another folder)"
        )
    for path, text in zip(paths, files.values(), strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return paths


@app.command()
def scaffold(
    document: DocArgument,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write the scenario files into.")
    ] = Path("scenarios"),
    profile: ProfileOption = None,
    config: ConfigOption = None,
) -> None:
    """Write one scenario per flow of the document (a send some other operation receives)."""
    from eventharness.asyncapi.reader import read_document
    from eventharness.asyncapi.scaffold import scaffold as make_scenarios

    with friendly():
        doc = read_document(checked_document(document))
        brokers = make_setup(config, profile, None).profile(None).brokers
        files = make_scenarios(doc, brokers)
        if not files:
            raise UsageError(
                f"{document}: no flow found (a send operation whose messages another "
                "operation receives); nothing was written"
            )
        for path in write_new(out, files):
            console.print(f"wrote {path}")
