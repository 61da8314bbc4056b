"""``eventharness schema scenario``: the JSON Schema of a file people write, for their editor.

    eventharness schema scenario > scenario.schema.json

Prints the schema ``validate`` checks scenario files against (shipped in the package:
:func:`eventharness.files.schema.scenario_schema`) as JSON on stdout, nothing else, so it can
be redirected to a file and named in an editor's YAML settings. Exit 2 for an unknown kind.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from eventharness.cli.errors import fail
from eventharness.files.schema import scenario_schema
from eventharness.model.problems import closest

__all__ = ["schema"]

KINDS: dict[str, Callable[[], dict[str, Any]]] = {"scenario": scenario_schema}


def schema(
    kind: Annotated[
        str, typer.Argument(metavar="KIND", help="Which file: scenario.", show_default=False)
    ],
) -> None:
    """Print the JSON Schema of a file kind (scenario) on stdout, for editors."""
    make = KINDS.get(kind)
    if make is None:
        found = closest(kind, KINDS)
        hint = f" (did you mean {found!r}?)" if found else ""
        fail(f"no schema for {kind!r}{hint}; kinds: {', '.join(KINDS)}")
    sys.stdout.write(json.dumps(make(), indent=2, ensure_ascii=False) + "\n")
