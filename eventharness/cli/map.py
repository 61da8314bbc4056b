"""``eventharness map``: the integration map — which service talks to which, over what, how fast.

    eventharness map shop.jsonl --asyncapi examples/shop/asyncapi.yaml     # Mermaid (default)
    eventharness map --asyncapi docs/asyncapi.yaml --format text --scenarios scenarios/
    eventharness map shop.jsonl --format dot -o map.dot
    eventharness map --run scenarios/shop --asyncapi examples/shop/asyncapi.yaml

Recordings (or ``--run PATH``: the scenarios run, what they sent and received) give what was
observed (events per channel and message, hop latencies by correlation id); an AsyncAPI document
(``--asyncapi``, or the profile's ``asyncapi``) gives who sends and who receives. ``--scenarios``
adds the flows no scenario covers to the risks. Exit codes: 0 the map was drawn · 2 unusable input
(a recording, a document), with file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eventharness.cli.errors import friendly
from eventharness.cli.recorded import recorded_run
from eventharness.cli.setup import ConfigOption, ProfileOption, console, make_setup
from eventharness.model.errors import UsageError

__all__ = ["map_command"]


def map_command(
    recordings: Annotated[
        list[Path] | None, typer.Argument(help="Recordings (.jsonl) of the system.")
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
    asyncapi: Annotated[
        Path | None,
        typer.Option("--asyncapi", help="An AsyncAPI document: who sends and receives what."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="mermaid, dot, json or text.")
    ] = "mermaid",
    scenarios: Annotated[
        list[Path] | None,
        typer.Option("--scenarios", help="Scenario files or folders: report flows none covers."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the map here (default: stdout).")
    ] = None,
    profile: ProfileOption = None,
    config: ConfigOption = None,
) -> None:
    """Draw the map of services and channels, with counts, hop latencies and risks."""
    # lazy, as in every command module: `eventharness --help` imports no command's work
    from eventharness.asyncapi.binding import bind_profile
    from eventharness.asyncapi.coverage import scenario_channels
    from eventharness.asyncapi.graph import build_map
    from eventharness.asyncapi.reader import load_document
    from eventharness.asyncapi.render import FORMATS, render
    from eventharness.engine.recordfile import Recording

    with friendly():
        if fmt not in FORMATS:
            raise UsageError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
        chosen = make_setup(config, profile, None).profile(None)
        path = asyncapi or (Path(chosen.asyncapi) if chosen.asyncapi else None)
        if path is None and not recordings and not run_paths:
            raise UsageError(
                "nothing to map: give recordings (.jsonl), --run PATH and/or --asyncapi DOC"
            )
        doc = load_document(path) if path is not None else None
        loaded = [Recording.load(p) for p in recordings or []]
        if run_paths:
            loaded.append(recorded_run(run_paths, profile=profile, config=config)[0])
        graph = build_map(doc=doc, recordings=loaded, brokers=chosen.brokers)
        covered = None
        if scenarios:
            aliases = bind_profile(chosen, doc).aliases if doc is not None else {}
            covered = scenario_channels(scenarios, aliases)
        text = render(graph, fmt, graph.risks(covered))
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            console.print(f"wrote {output}")
