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
well-shaped parts built into :mod:`eventharness.files.model` objects (this module: the only
code that reads the YAML data); what they mean checked against the profile
(:mod:`eventharness.files.checks`). Running a loaded file is :mod:`eventharness.files.runner`'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from eventharness.data.tables import read_table, row_label
from eventharness.engine.templates import parse_duration
from eventharness.files.checks import ContextFor, FileContext, check_file
from eventharness.files.lines import Mapped, line_of, read_yaml
from eventharness.files.model import (
    FAULTS,
    PROBES,
    STEPS,
    TOXICS,
    Correlate,
    FaultSpec,
    Lift,
    NetworkStep,
    Order,
    Publish,
    Recover,
    ResponseSpec,
    ScenarioFile,
    Step,
    StubSpec,
    Wait,
    XFail,
)
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
    names = _expectation_names(data)
    found = _Builder(shown, _prune(data, [p.path for p in shape])).scenario(data, profile)
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


# --- building the model from well-shaped data ----------------------------------------------


def _expectation_names(data: Mapped) -> set[str]:
    steps = data.get("steps")
    return (
        {
            body["as"]
            for item in steps
            if isinstance(item, dict)
            for kind, body in item.items()
            if kind in ("expect", "expect_none")
            and isinstance(body, dict)
            and isinstance(body.get("as"), str)
        }
        if isinstance(steps, list)
        else set()
    )


def _prune(data: Mapped, paths: list[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    """Take what breaks the schema out of ``data``, so that the rest can be built and checked
    (its meaning too: every problem is reported at once). A key with a bad value goes, and so
    does a mapping that misses a key it needs, up to the list item that holds it (a step, a
    stub, a response, a fault): the paths of those items come back, to be left out."""
    dropped: set[tuple[Any, ...]] = set()
    seen: set[tuple[Any, ...]] = set()
    while paths:
        for path in paths:
            seen.add(path)
            if not path:
                continue  # the top: what is missing there has its default
            try:
                parent = data
                for part in path[:-1]:
                    parent = parent[part]
            except (KeyError, IndexError, TypeError):
                continue  # inside something taken out already
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                dropped.add(path)
        paths = [
            p.path
            for p in shape_problems(data)
            if p.path not in seen and not any(p.path[: len(d)] == d for d in dropped)
        ]
    return dropped


def _seconds(value: Any) -> float:
    """A duration the schema accepted (so it parses); zero only where the schema allows it."""
    return parse_duration(value, allow_zero=True)


#: Keys the model names otherwise, and keys that are durations (seconds in the model).
_RENAMED = {"as": "name", "get": "url", "field": "target"}
_SECONDS = frozenset(
    {
        "within",
        "during",
        "interval",
        "timeout",
        "delay",
        "seconds",
        "jitter",
        "release_after",
        "min_duration",
        "max_duration",
    }
)


class _Builder:
    """Builds the typed model from a file's well-shaped data. The schema has checked every
    key and value, so each mapping becomes its class's fields as they are, but for the keys
    the model renames, durations (seconds), lists (tuples) and the specs inside (probes,
    responses, faults). ``dropped``: list items to leave out (see :func:`_prune`)."""

    def __init__(self, path: str, dropped: set[tuple[Any, ...]]) -> None:
        self.path = path
        self.dropped = dropped

    def make(
        self,
        cls: type[Any],
        data: Mapping[Any, Any],
        line: int,
        path: tuple[Any, ...],
        **fields: Any,
    ) -> Any:
        options: dict[str, Any] = {}
        renamed: Mapping[str, str] = getattr(cls, "renamed", _RENAMED)
        for key, value in data.items():
            if key in _SECONDS:
                value = _seconds(value)
            elif key == "faults":
                value = self.faults(value, (*path, key))
            elif key == "respond":
                value = tuple(
                    self.make(ResponseSpec, item, line_of(value, j), (*path, key, j))
                    for j, item in enumerate(value or ())
                    if (*path, key, j) not in self.dropped
                )
            elif key in PROBES:
                fields["probe"] = self.make(PROBES[key], value, line_of(data, key), (*path, key))
                continue
            elif key in ("nth", "equal", "run") and not isinstance(value, str):
                value = tuple(value) if isinstance(value, list) else (value,)
            elif key == "contains":
                value = str(value)
            options[renamed.get(key, key)] = value
        lines = {str(k): n for k, n in data.lines.items()} if isinstance(data, Mapped) else {}
        return cls(file=self.path, line=line, lines=lines, **{**options, **fields})

    def scenario(self, data: Mapped, profile: str | None) -> ScenarioFile:
        def value(key: str, default: Any = None) -> Any:
            return default if data.get(key) is None else data[key]

        tags, correlate, within = value("tags", ()), value("correlate", []), value("within")
        variables, correlation = value("vars", {}), value("correlation", {})
        lines = {str(k): v for k, v in data.lines.items()}
        lines.update({f"vars.{k}": line_of(variables, k) for k in variables})
        lines.update({f"correlation.{k}": line_of(correlation, k) for k in correlation})
        xfail = value("xfail")
        if isinstance(xfail, str):
            xfail = {"kind": xfail}
        stubs = value("stubs", [])
        return ScenarioFile(
            path=self.path,
            name=value("name", self.path),
            line=line_of(data, "name") or 1,
            lines=lines,
            description=value("description", ""),
            profile=profile,
            tags=(tags,) if isinstance(tags, str) else tuple(tags),
            vars=dict(variables),
            within=None if within is None else _seconds(within),
            settle=_seconds(value("settle", 0)),
            allow_duplicates=value("allow_duplicates", False),
            trace=value("trace"),
            correlation={str(k): v for k, v in correlation.items()},
            correlate=tuple(correlate if isinstance(correlate, list) else [correlate]),
            xfail=None if xfail is None else XFail(xfail["kind"], xfail.get("reason") or ""),
            data=value("data"),
            examples=value("examples", 0),
            generate=dict(value("generate", {})),
            max_shrinks=value("max_shrinks", 100),
            shrink_time=_seconds(value("shrink_time", 120)),
            stubs=tuple(
                self.make(
                    StubSpec,
                    entry,
                    line_of(stubs, i),
                    ("stubs", i),
                    name=str(entry.get("name", entry["consume"])),
                )
                for i, entry in enumerate(stubs)
                if ("stubs", i) not in self.dropped
            ),
            steps=self.steps(value("steps", [])),
        )

    def steps(self, raw: list[Any]) -> tuple[Step, ...]:
        out: list[Step] = []
        for index, item in enumerate(raw):
            if ("steps", index) in self.dropped:
                continue
            ((kind, body),) = item.items()
            line = line_of(item, kind)
            at: Any = {"file": self.path, "line": line, "index": index}
            if kind == "wait":
                out.append(Wait(**at, seconds=_seconds(body)))
            elif kind == "order":
                lines = {str(n): line_of(body, i) for i, n in enumerate(body)}
                out.append(Order(**at, lines=lines, steps=tuple(map(str, body))))
            elif kind == "correlate":
                out.append(Correlate(**at, value=body))
            elif kind == "lift":
                out.append(Lift(**at, fault=body))
            elif kind == "network":
                out.append(_network(body, at))
            elif kind == "recover":
                out.append(_recover(body, at))
            elif kind == "publish" and "every" in body:
                every = _seconds(body["every"])
                rest = {k: v for k, v in body.items() if k != "every"}
                made = self.make(Publish, rest, line, ("steps", index, kind), index=index)
                out.append(replace(made, every=every, lines=_lines(body)))
            else:
                out.append(self.make(STEPS[kind], body, line, ("steps", index, kind), index=index))
        return tuple(out)

    def faults(self, raw: Any, path: tuple[Any, ...]) -> tuple[FaultSpec, ...]:
        out: list[FaultSpec] = []
        for i, entry in enumerate(raw or ()):
            if (*path, i) in self.dropped:
                continue
            kind, options = (entry, None) if isinstance(entry, str) else next(iter(entry.items()))
            if not isinstance(options, dict):  # the short forms: {delay: 200ms}, {corrupt: bytes}
                options = (
                    {}
                    if options in (None, "bytes")
                    else {"field": options}
                    if kind == "corrupt"
                    else {"seconds": options}
                )
            out.append(self.make(FAULTS[kind], options, line_of(raw, i), (*path, i, kind)))
        return tuple(out)


def _lines(data: Any) -> dict[str, int]:
    return {str(k): n for k, n in data.lines.items()} if isinstance(data, Mapped) else {}


def _network(body: Mapping[str, Any], at: dict[str, Any]) -> NetworkStep:
    """A ``network`` step: which toxic, and its numbers in seconds and bytes per second."""
    named = [k for k in TOXICS if k in body]
    toxic = named[0] if len(named) == 1 else ""
    delay = jitter = rate = 0.0
    value = body.get(toxic)
    if toxic == "latency":
        delay, jitter = latency_of(value)
    elif toxic == "bandwidth":
        rate = bandwidth_of(value)
    elif toxic == "slow_close":
        delay = 1.0 if value is True else _seconds(value)
    return NetworkStep(
        **at,
        lines=_lines(body),
        name=body.get("as"),
        service=str(body["service"]),
        toxic=toxic,
        broker=body.get("broker"),
        direction=body.get("direction", "both"),
        delay=delay,
        jitter=jitter,
        rate=rate,
        duration=_seconds(body["for"]) if "for" in body else None,
        after=body.get("after"),
    )


def latency_of(value: Any) -> tuple[float, float]:
    """``200ms``, ``200ms ± 50ms`` (or ``+-``), a number, or ``{delay:, jitter:}``: seconds."""
    if isinstance(value, Mapping):
        return _seconds(value["delay"]), _seconds(value.get("jitter", 0))
    if isinstance(value, str):
        delay, _, jitter = re.sub(r"\+/?-", "±", value).partition("±")
        return _seconds(delay.strip()), _seconds(jitter.strip()) if jitter else 0.0
    return _seconds(value), 0.0


_RATE_UNITS = {"B": 1, "kB": 1000, "KB": 1000, "KiB": 1024, "MB": 10**6, "MiB": 2**20}


def bandwidth_of(value: Any) -> float:
    """``10kB/s`` (or a number of bytes per second) in bytes per second."""
    if isinstance(value, str):
        found = re.fullmatch(r"([\d.]+)\s*([A-Za-z]+)/s", value.strip())
        if found:
            return float(found.group(1)) * _RATE_UNITS[found.group(2)]
    return float(value)


def _recover(body: Mapping[str, Any], at: dict[str, Any]) -> Recover:
    of = body.get("of")
    return Recover(
        **at,
        lines=_lines(body),
        name=body.get("as"),
        channel=str(body["channel"]),
        type=body.get("type"),
        match=body.get("match"),
        fields=body.get("fields"),
        fault=body.get("fault"),
        by=body.get("by", "key"),
        of=None if of is None else tuple(of) if isinstance(of, list) else (str(of),),
        within=_seconds(body["within"]) if "within" in body else None,
        allow_duplicates=body.get("duplicates") == "allowed",
    )
