"""``eventharness init``: a starting point for a team.

    eventharness init                                    # config, a first scenario, CI workflow
    eventharness init --from-asyncapi docs/asyncapi.yaml # ... brokers, schemas and one scenario
                                                         #     per flow from the document

Writes ``eventharness.toml`` (an embedded-Kafka profile, a compose profile, one per server of
the document), ``scenarios/`` and ``.github/workflows/eventharness.yml`` (schemas check,
validate, run with a JUnit report uploaded). Refuses to overwrite anything (exit 2); what it
writes passes ``eventharness validate``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from eventharness.cli.asyncapi import checked_document, write_new
from eventharness.cli.errors import friendly
from eventharness.cli.setup import BrokerOption, console
from eventharness.env.brokers import parse_broker_overrides

__all__ = ["init"]


def init(
    from_asyncapi: Annotated[
        Path | None,
        typer.Option("--from-asyncapi", help="Take brokers, schemas and flows from this document."),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="The project folder to write into.")
    ] = Path("."),
    broker: BrokerOption = None,
) -> None:
    """Write eventharness.toml, scenarios and a CI workflow (refuses to overwrite)."""
    from eventharness.asyncapi.reader import read_document
    from eventharness.asyncapi.scaffold import init_files

    with friendly():
        doc = read_document(checked_document(from_asyncapi)) if from_asyncapi else None
        doc_path = (
            Path(os.path.relpath(from_asyncapi.resolve(), directory.resolve())).as_posix()
            if from_asyncapi
            else None
        )
        brokers = parse_broker_overrides(broker or [])
        for path in write_new(directory, init_files(doc, doc_path, brokers)):
            console.print(f"wrote {path}")
        console.print("next: eventharness validate scenarios && eventharness run scenarios")
