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

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypedDict

from eventharness.engine.templates import parse_duration
from eventharness.files.checks import ContextFor, FileContext, check_file
from eventharness.files.lines import Mapped, line_of, read_yaml
from eventharness.files.model import (
    UNSET,
    Check,
    CommandProbe,
    Correlate,
    CorruptSpec,
    DelaySpec,
    DropSpec,
    DuplicateSpec,
    Eventually,
    Expect,
    ExpectNone,
    FaultSpec,
    HttpProbe,
    KeyOrder,
    Order,
    PauseSpec,
    ProbeSpec,
    Publish,
    ReorderSpec,
    ResponseSpec,
    ScenarioFile,
    SqlProbe,
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
        found, file_problems = _load(path, context_for)
        problems.extend(file_problems)
        if found is not None:
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
    if problems or found is None:
        raise ScenarioFileError(problems)
    return found


def _load(path: Path, context_for: ContextFor) -> tuple[ScenarioFile | None, list[str]]:
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
        return None, [*syntax, f"{shown}:{line_of(data) or 1}: a scenario file is a mapping "
                      f"with name: and steps:, but this one is {what}"]
    shape = shape_problems(data)
    problems = [(p.line, p.message) for p in shape]
    profile = data.get("profile") if isinstance(data.get("profile"), str) else None
    try:
        context = context_for(profile)
    except UsageError as exc:
        problems.append((line_of(data, "profile"), str(exc)))
        context = FileContext()
    names = _expectation_names(data)
    found = _Builder(shown, _prune(data, [p.path for p in shape])).scenario(data, profile)
    built = {s.name for s in found.steps if isinstance(s, Expect | ExpectNone)}
    problems.extend(check_file(found, context, names - built))
    ordered = dict.fromkeys(f"{shown}:{line}: {text}" for line, text in
                            sorted(problems, key=lambda p: p[0]))
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
    return {body["as"] for item in steps if isinstance(item, dict) for kind, body in item.items()
            if kind in ("expect", "expect_none") and isinstance(body, dict)
            and isinstance(body.get("as"), str)} if isinstance(steps, list) else set()


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
        paths = [p.path for p in shape_problems(data) if p.path not in seen
                 and not any(p.path[: len(d)] == d for d in dropped)]
    return dropped


class _At(TypedDict):
    file: str
    line: int
    lines: dict[str, int]


def _seconds(value: Any) -> float:
    """A duration the schema accepted (so it parses); zero only where the schema allows it."""
    return parse_duration(value, allow_zero=True)


def _optional_seconds(body: Mapped, key: str) -> float | None:
    return _seconds(body[key]) if key in body else None


class _Builder:
    """Builds the typed model from a file's data, leaving out what has a shape problem
    (``bad``: where those are) — that part is reported already."""

    def __init__(self, path: str, dropped: set[tuple[Any, ...]]) -> None:
        self.path = path
        self.dropped = dropped

    def at(self, data: Any, line: int) -> _At:
        lines = {str(k): v for k, v in data.lines.items()} if isinstance(data, Mapped) else {}
        return _At(file=self.path, line=line, lines=lines)

    def scenario(self, data: Mapped, profile: str | None) -> ScenarioFile:
        def value(key: str, default: Any = None) -> Any:
            return default if data.get(key) is None else data[key]

        tags = value("tags", ())
        correlate = value("correlate", [])
        within = value("within")
        raw_vars = data.get("vars")
        variables = dict(raw_vars) if isinstance(raw_vars, Mapped) else {}
        correlation = value("correlation", {})
        lines = {str(k): v for k, v in data.lines.items()}
        lines.update({f"vars.{k}": line_of(raw_vars, k) for k in variables})
        lines.update({f"correlation.{k}": line_of(correlation, k) for k in correlation})
        stubs = value("stubs", [])
        return ScenarioFile(
            path=self.path,
            name=value("name", self.path),
            line=line_of(data, "name") or 1,
            lines=lines,
            description=value("description", ""),
            profile=profile,
            tags=(tags,) if isinstance(tags, str) else tuple(tags),
            vars=variables,
            within=None if within is None else _seconds(within),
            settle=_seconds(value("settle", 0)),
            allow_duplicates=value("allow_duplicates", False),
            correlation={str(k): v for k, v in correlation.items()},
            correlate=tuple(correlate if isinstance(correlate, list) else [correlate]),
            xfail=self.xfail(value("xfail")),
            stubs=tuple(self.stub(entry, i, line_of(stubs, i)) for i, entry in enumerate(stubs)
                        if ("stubs", i) not in self.dropped),
            steps=self.steps(data),
        )

    @staticmethod
    def xfail(raw: Any) -> XFail | None:
        if raw is None:
            return None
        if isinstance(raw, str):
            return XFail(raw)
        return XFail(raw["kind"], str(raw.get("reason") or ""))

    def steps(self, data: Mapped) -> tuple[Step, ...]:
        raw = data.get("steps")
        if not isinstance(raw, list):
            return ()
        out: list[Step] = []
        for index, item in enumerate(raw):
            if ("steps", index) not in self.dropped:
                ((kind, body),) = item.items()
                out.append(self.step(kind, body, index, self.at(body, line_of(item, kind))))
        return tuple(out)

    def step(self, kind: str, body: Any, index: int, at: _At) -> Step:
        if kind == "wait":
            return Wait(**at, index=index, seconds=_seconds(body))
        if kind == "order":
            names = [str(n) for n in body]
            at["lines"] = {n: line_of(body, i) for i, n in enumerate(names)}
            return Order(**at, index=index, steps=tuple(names))
        if kind == "correlate":
            return Correlate(**at, index=index, value=body)
        name = body.get("as")
        if kind == "publish":
            return Publish(
                **at, index=index, name=name, channel=body["channel"], value=body["value"],
                key=body.get("key"), headers=body.get("headers"), schema=body.get("schema"),
                partition=body.get("partition"),
                faults=self.faults(body.get("faults"), ("steps", index, kind, "faults")),
                seed=body.get("seed"),
            )
        if kind == "expect":
            return Expect(
                **at, index=index, name=name, channel=body["channel"], type=body.get("type"),
                match=body.get("match"), fields=body.get("fields"), schema=body.get("schema"),
                within=_optional_seconds(body, "within"), after=body.get("after"),
                count=body.get("count"), at_least=body.get("at_least"),
                at_most=body.get("at_most"),
                allow_duplicates=body.get("allow_duplicates", False),
                collect_queue=body.get("collect_queue", False),
            )
        if kind == "expect_none":
            return ExpectNone(
                **at, index=index, name=name, channel=body["channel"], type=body.get("type"),
                match=body.get("match"), fields=body.get("fields"),
                during=_optional_seconds(body, "during"), after=body.get("after"),
            )
        if kind == "eventually":
            probe = next(k for k in ("http", "command", "sql") if k in body)
            return Eventually(
                **at, index=index, name=name,
                probe=self.probe(probe, body[probe], self.at(body[probe], line_of(body, probe))),
                within=_optional_seconds(body, "within"),
                interval=_seconds(body.get("interval", 0.1)),
            )
        if kind == "check":
            return Check(**at, index=index, name=name, equal=tuple(body["equal"]))
        assert kind == "key_order", kind  # the schema allows no other kind
        return KeyOrder(**at, index=index, name=name, step=body["step"], by=body["by"])

    @staticmethod
    def probe(kind: str, spec: Mapped, at: _At) -> ProbeSpec:
        timeout = _optional_seconds(spec, "timeout")
        if kind == "http":
            return HttpProbe(**at, url=spec["get"], status=spec.get("status", 200),
                             json=spec.get("json"), headers=spec.get("headers") or {},
                             timeout=5.0 if timeout is None else timeout)
        if kind == "command":
            run = spec["run"]
            contains = spec.get("contains")
            return CommandProbe(**at, run=run if isinstance(run, str) else tuple(map(str, run)),
                                exit=spec.get("exit", 0),
                                contains=None if contains is None else str(contains),
                                timeout=30.0 if timeout is None else timeout)
        return SqlProbe(**at, url=spec["url"], query=spec["query"], equals=spec.get("equals"))

    def stub(self, entry: Mapped, index: int, line: int) -> StubSpec:
        respond = entry.get("respond") or []
        return StubSpec(
            **self.at(entry, line),
            name=str(entry.get("name", entry["consume"])),
            consume=entry["consume"],
            type=entry.get("type"),
            match=entry.get("match"),
            fields=entry.get("fields"),
            respond=tuple(
                ResponseSpec(
                    **self.at(item, line_of(respond, j)), channel=item["channel"],
                    value=item.get("value"), key=item.get("key", UNSET),
                    headers=item.get("headers") or {}, when=item.get("when"),
                    delay=_seconds(item.get("delay", 0)),
                )
                for j, item in enumerate(respond)
                if ("stubs", index, "respond", j) not in self.dropped
            ),
            faults=self.faults(entry.get("faults"), ("stubs", index, "faults")),
            group=entry.get("group"),
            consume_queue=entry.get("consume_queue", False),
            seed=entry.get("seed"),
        )

    def faults(self, raw: Any, where: tuple[Any, ...]) -> tuple[FaultSpec, ...]:
        out: list[FaultSpec] = []
        for i, entry in enumerate(raw or ()):
            if (*where, i) in self.dropped:
                continue
            kind, options = (entry, None) if isinstance(entry, str) else next(iter(entry.items()))
            if not isinstance(options, dict):  # the short forms: {delay: 200ms}, {corrupt: bytes}
                options = {} if options in (None, "bytes") else \
                    {"field": options} if kind == "corrupt" else {"seconds": options}
            at = self.at(options, line_of(raw, i))
            nth = options.get("nth")
            select: Any = {
                "nth": None if nth is None else tuple(nth) if isinstance(nth, list) else (nth,),
                "every": options.get("every"),
                "rate": None if options.get("rate") is None else float(options["rate"]),
                "seed": options.get("seed"),
            }
            if kind == "delay":
                out.append(DelaySpec(**at, **select, seconds=_seconds(options["seconds"]),
                                     jitter=_seconds(options.get("jitter", 0))))
            elif kind == "drop":
                out.append(DropSpec(**at, **select))
            elif kind == "duplicate":
                out.append(DuplicateSpec(**at, **select, copies=options.get("copies", 1)))
            elif kind == "reorder":
                out.append(ReorderSpec(**at, **select, hold=options.get("hold", 1),
                                       release_after=_seconds(options.get("release_after", 1))))
            elif kind == "corrupt":
                out.append(CorruptSpec(**at, **select, target=options.get("field"),
                                       value=options.get("value", UNSET)))
            else:
                assert kind == "pause", kind  # the schema allows no other kind
                out.append(PauseSpec(**at, **select, seconds=_seconds(options["seconds"])))
        return tuple(out)
