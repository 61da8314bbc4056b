"""YAML scenario files: read with line numbers, checked, and parsed once into the typed model.

    files = load_files(["scenarios/"], context_for)   # every problem at once, or ScenarioFileError

A file is one scenario (DESIGN §5)::

    name: order ships
    vars: {order_id: "${uuid}"}
    steps:
      - publish: {channel: kafka:orders, key: "${order_id}", value: {...}}
      - expect:  {as: pay, channel: kafka:payments, match: {type: PaymentAuthorized}, within: 5s}

Three passes, every problem reported as ``file:line: what is wrong`` (and the fix), sorted by
line: the file's shape against the shipped JSON Schema (:mod:`eventharness.files.schema`); the
well-shaped parts built into :mod:`eventharness.files.model` objects (this module and
:mod:`eventharness.files.builder`: the only code that reads the YAML data); what they mean
checked against the profile (:mod:`eventharness.files.checks`). Running a loaded file is
:mod:`eventharness.files.runner`'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from eventharness.data.tables import read_table, row_label
from eventharness.files.builder import Builder, expectation_names, prune
from eventharness.files.check_base import ContextFor, FileContext
from eventharness.files.checks import check_file
from eventharness.files.lines import Mapped, line_of, read_yaml
from eventharness.files.model import ScenarioFile
from eventharness.files.schema import shape_problems
from eventharness.model.errors import ScenarioFileError, UsageError

__all__ = ["discover", "load_file", "load_files"]


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Scenario files under ``paths`` (``*.yaml``/``*.yml``, folders searched recursively)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            )
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{raw}: no such file or folder; give scenario files or folders")
    unique = list(dict.fromkeys(found))
    if not unique:
        shown = " ".join(str(p) for p in paths)
        raise UsageError(f"no scenario files (*.yaml, *.yml) under {shown}")
    return unique


def load_files(paths: Iterable[str | Path], context_for: ContextFor) -> list[ScenarioFile]:
    """Load and check every file; raise ScenarioFileError listing all problems."""
    problems: list[str] = []
    files: list[ScenarioFile] = []
    names: dict[str, str] = {}
    for path in discover(paths):
        loaded, file_problems = _load(path, context_for)
        problems.extend(file_problems)
        for found in loaded:
            earlier = names.get(found.name)
            if earlier is not None:
                problems.append(
                    f"{found.path}:{found.line}: scenario name {found.name!r} is also used by "
                    f"{earlier}; give each scenario its own name"
                )
            names[found.name] = f"{found.path}:{found.line}"
            files.append(found)
    if problems:
        raise ScenarioFileError(problems)
    return files


def load_file(path: str | Path, context: FileContext | None = None) -> ScenarioFile:
    found, problems = _load(Path(path), lambda _profile: context or FileContext())
    if problems or not found:
        raise ScenarioFileError(problems)
    return found[0]


def _load(path: Path, context_for: ContextFor) -> tuple[list[ScenarioFile], list[str]]:
    """The file's scenarios (one per row of its ``data:`` table, else one), or its problems."""
    found, problems = _load_one(path, context_for)
    if found is None or problems or found.data is None:
        return ([] if found is None else [found]), problems
    return _rows(found, path)


def _rows(found: ScenarioFile, path: Path) -> tuple[list[ScenarioFile], list[str]]:
    """One scenario per row of ``found.data``; a column the file uses that a row lacks is a
    problem at the line that uses it."""
    shown = found.path
    table = path.parent / str(found.data)
    try:
        rows = read_table(table, _shown(table))
    except UsageError as exc:
        return [], [f"{shown}:{found.lines.get('data', found.line)}: data: {exc}"]
    text = path.read_text(encoding="utf-8").splitlines()
    used: dict[str, int] = {}  # column → the first line that uses it
    for n, written in enumerate(text, start=1):
        for m in _ROW_REF.finditer(written):
            used.setdefault(m.group(1), n)
    for number, row in enumerate(rows, start=1):
        for column, line in used.items():
            if column not in row:
                have = ", ".join(row) or "none"
                return [], [
                    f"{shown}:{line}: ${{row.{column}}}: row {number} of {_shown(table)} has "
                    f"no column {column!r} (columns: {have})"
                ]
    return [
        replace(found, name=f"{found.name} [{row_label(n, row)}]", row=row)
        for n, row in enumerate(rows, start=1)
    ], []


_ROW_REF = re.compile(r"\$\{row\.([A-Za-z0-9_-]+)")


def _load_one(path: Path, context_for: ContextFor) -> tuple[ScenarioFile | None, list[str]]:
    shown = _shown(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{shown}:1: cannot read the file: {exc}"]
    data, syntax = read_yaml(text, shown)
    if data is None and syntax:
        return None, syntax
    if not isinstance(data, Mapped):
        what = "empty" if data is None else f"a {type(data).__name__}"
        return None, [
            *syntax,
            f"{shown}:{line_of(data) or 1}: a scenario file is a mapping "
            f"with name: and steps:, but this one is {what}",
        ]
    shape = shape_problems(data)
    problems = [(p.line, p.message) for p in shape]
    profile = data.get("profile") if isinstance(data.get("profile"), str) else None
    try:
        context = context_for(profile)
    except UsageError as exc:
        problems.append((line_of(data, "profile"), str(exc)))
        context = FileContext()
    extra = [*(["row"] if "data" in data else []), *(data.get("generate") or {})]
    if extra:
        context = replace(context, variables=[*context.variables, *map(str, extra)])
    names = expectation_names(data)
    found = Builder(shown, prune(data, [p.path for p in shape])).scenario(data, profile)
    built = {s.name for s in found.steps}
    problems.extend(check_file(found, context, names - built))
    ordered = dict.fromkeys(
        f"{shown}:{line}: {text}" for line, text in sorted(problems, key=lambda p: p[0])
    )
    problems_all = [*syntax, *ordered]
    return (found if not problems_all else None), problems_all


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
