"""``eventharness report ...``: reports of several runs made into one.

    eventharness report merge shard-*.json --json merged.json
    eventharness report merge shard-*.xml --junit merged.xml
    eventharness report merge shard-*.json shard-*.xml --json merged.json --junit merged.xml

Each input is a JSON report (``run --report-json``) or JUnit XML (``run --junit``), told
apart by content; JSON inputs make ``--json``, XML inputs make ``--junit``. Exit 0 when the
merged reports were written, 2 (with the file and the cause) when an input cannot be read or
would be left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from eventharness.cli.errors import fail, friendly
from eventharness.cli.run import check_writable
from eventharness.cli.setup import console

__all__ = ["app", "merge"]

app = typer.Typer(no_args_is_help=True, add_completion=False)


def _read(paths: list[Path]) -> tuple[list[tuple[str, Any]], list[tuple[str, str]]]:
    reports: list[tuple[str, Any]] = []
    xml: list[tuple[str, str]] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"{path}: cannot be read ({exc.strerror or exc}); give report files")
        if text.lstrip().startswith("<"):
            xml.append((str(path), text))
            continue
        try:
            reports.append((str(path), json.loads(text)))
        except json.JSONDecodeError as exc:
            fail(f"{path}:{exc.lineno}: neither JSON nor JUnit XML ({exc.msg})")
    return reports, xml


@app.command()
def merge(
    reports: Annotated[
        list[Path], typer.Argument(help="JSON reports and/or JUnit XML files of the shards.")
    ],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the merged JSON report here.")
    ] = None,
    junit_out: Annotated[
        Path | None, typer.Option("--junit", help="Write the merged JUnit XML here.")
    ] = None,
) -> None:
    """Merge the JSON and JUnit reports of shards (or any runs) into one of each."""
    from eventharness.reports.merge import merge_json, merge_junit

    with friendly():
        if json_out is None and junit_out is None:
            fail("nothing to write: give --json OUT and/or --junit OUT")
        found, xml = _read(reports)
        for option, out, inputs, kind in (
            ("--json", json_out, found, "JSON reports"),
            ("--junit", junit_out, xml, "JUnit XML files"),
        ):
            if out is None and inputs:
                fail(f"{inputs[0][0]} would be left out: give {option} OUT for {kind}")
            if out is not None and not inputs:
                fail(f"{option} {out}: none of the inputs are {kind}")
            if out is not None:
                check_writable(out, option)
        if json_out is not None:
            merged = merge_json(found)
            json_out.write_text(json.dumps(merged, indent=2, default=str) + "\n", "utf-8")
            console.print(f"JSON report: {json_out} ({len(merged['scenarios'])} scenarios)")
        if junit_out is not None:
            junit_out.write_text(merge_junit(xml) + "\n", "utf-8")
            console.print(f"JUnit XML: {junit_out} ({len(xml)} files merged)")
