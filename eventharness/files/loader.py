"""YAML scenario files: loading with line numbers, and validation before any broker is touched.

    files = load_files(["scenarios/"], context_for)   # every problem at once, or ScenarioFileError

A file is one scenario (DESIGN §5)::

    name: order ships
    vars: {order_id: "${uuid}"}
    steps:
      - publish: {channel: kafka:orders, key: "${order_id}", value: {...}}
      - expect:  {as: pay, channel: kafka:payments, match: {type: PaymentAuthorized}, within: 5s}

Every problem names ``file:line``, what is wrong and, where there is one, the fix. Running a
loaded file is :mod:`eventharness.files.runner`'s job; this module only reads and checks.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eventharness.engine.matchers import check_spec, spec_problems
from eventharness.engine.templates import Reference, parse_duration, references
from eventharness.model.channels import parse_channel
from eventharness.model.errors import ScenarioFileError, UsageError
from eventharness.model.result import FAILURE_KINDS

__all__ = [
    "BUILTIN_VARIABLES",
    "STEP_KINDS",
    "FileContext",
    "ScenarioFile",
    "Step",
    "Stubs",
    "XFail",
    "discover",
    "load_file",
    "load_files",
]

#: Names every scenario can use without declaring them.
BUILTIN_VARIABLES = ("uuid", "now", "correlation_id")
#: Step kind → (required keys, optional keys). ``wait``, ``order`` and ``correlate`` take a
#: plain value instead of a mapping.
STEP_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "publish": (
        frozenset({"channel", "value"}),
        frozenset({"key", "headers", "schema", "partition", "faults", "seed"}),
    ),
    "expect": (
        frozenset({"channel"}),
        frozenset({
            "as", "type", "match", "fields", "schema", "within", "after", "count",
            "at_least", "at_most", "allow_duplicates", "collect_queue",
        }),
    ),
    "expect_none": (
        frozenset({"channel"}),
        frozenset({"as", "type", "match", "fields", "during", "after"}),
    ),
    "eventually": (frozenset(), frozenset({"as", "http", "command", "sql", "within", "interval"})),
    "check": (frozenset({"equal"}), frozenset({"as"})),
    "key_order": (frozenset({"step", "by"}), frozenset({"as"})),
}
SCALAR_STEPS = ("wait", "order", "correlate")
STEP_KINDS = (*STEP_KEYS, *SCALAR_STEPS)
#: Steps declared before anything is published, wherever they appear in the file.
DECLARATIONS = frozenset({"expect", "expect_none", "order", "key_order", "correlate"})
TOP_KEYS = (
    "name", "description", "profile", "vars", "tags", "within", "settle", "allow_duplicates",
    "correlation", "correlate", "xfail", "stubs", "steps",
)
PROBE_KEYS = {
    "http": (frozenset({"get"}), frozenset({"status", "json", "headers", "timeout"})),
    "command": (frozenset({"run"}), frozenset({"exit", "contains", "timeout"})),
    "sql": (frozenset({"url", "query"}), frozenset({"equals"})),
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


# --- loading with line numbers -------------------------------------------------------------


class Mapped(dict[Any, Any]):
    """A YAML mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    lines: dict[Any, int]


class Listed(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    line: int = 0
    lines: list[int]


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[int, Any]] = []


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Mapped:
    loader.flatten_mapping(node)
    data = Mapped()
    data.line = node.start_mark.line + 1
    data.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if key in data:
            loader.duplicate_keys.append((key_node.start_mark.line + 1, key))
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = key_node.start_mark.line + 1
    return data


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> Listed:
    data = Listed(loader.construct_object(child, deep=True) for child in node.value)
    data.line = node.start_mark.line + 1
    data.lines = [child.start_mark.line + 1 for child in node.value]
    return data


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def line_of(container: Any, key: Any = None) -> int:
    """The line of ``container[key]`` (or of the container), 0 when unknown."""
    if key is not None:
        if isinstance(container, Mapped):
            return container.lines.get(key, container.line)
        if isinstance(container, Listed) and isinstance(key, int) and key < len(container.lines):
            return container.lines[key]
    return int(getattr(container, "line", 0))


def read_yaml(text: str, path: str) -> tuple[Any, list[str]]:
    """Parse ``text``; (data, problems). Syntax errors come back as problems with their line."""
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        return None, [f"{path}:{line}: YAML syntax error: {what}"]
    except yaml.YAMLError as exc:
        return None, [f"{path}:1: YAML error: {exc}"]
    finally:
        loader.dispose()
    problems = [
        f"{path}:{line}: key {key!r} appears twice in one mapping; keep one"
        for line, key in loader.duplicate_keys
    ]
    return data, problems


# --- the model -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step as written: its kind, its body (a mapping, or a plain value), its line."""

    kind: str
    body: Any
    line: int
    index: int

    @property
    def name(self) -> str | None:
        if isinstance(self.body, Mapping):
            found = self.body.get("as")
            return str(found) if found is not None else None
        return None

    @property
    def declaration(self) -> bool:
        return self.kind in DECLARATIONS

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default) if isinstance(self.body, Mapping) else default


@dataclass(frozen=True)
class Stubs:
    """``stubs:`` as written (virtual services); passed through untouched."""

    data: Any
    line: int


@dataclass(frozen=True)
class XFail:
    """``xfail: {kind: timeout, reason: ...}``: the scenario is expected to fail with ``kind``."""

    kind: str
    reason: str = ""


@dataclass
class ScenarioFile:
    path: str
    name: str
    steps: list[Step]
    line: int = 1
    description: str = ""
    profile: str | None = None
    tags: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    within: float | None = None
    settle: float = 0.0
    allow_duplicates: bool = False
    correlation: dict[str, str] = field(default_factory=dict)
    correlate: list[Any] = field(default_factory=list)
    xfail: XFail | None = None
    stubs: Stubs | None = None

    @property
    def declarations(self) -> list[Step]:
        return [s for s in self.steps if s.declaration]

    @property
    def actions(self) -> list[Step]:
        return [s for s in self.steps if not s.declaration]


@dataclass(frozen=True)
class FileContext:
    """What a file is checked against: its profile's brokers, variables and schema store."""

    brokers: Collection[str] | None = None
    variables: Collection[str] = ()
    schemas: Any = None  # anything with .get(ref) / .validator(ref); None: no store configured
    profile: str | None = None


ContextFor = Callable[[str | None], FileContext]


# --- discovery and loading -----------------------------------------------------------------


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
    """Load and validate every file; raise ScenarioFileError listing all problems."""
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
    data, problems = read_yaml(text, shown)
    if problems and data is None:
        return None, problems
    checker = _Checker(shown, problems)
    found = checker.scenario(data, context_for)
    return (found if not problems else None), problems


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --- validation ----------------------------------------------------------------------------


def _closest(word: Any, options: Iterable[str]) -> str:
    found = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"; did you mean {found[0]!r}?" if found else ""


class _Checker:
    """Walks one file and collects problems; builds the model when the shape allows it."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        self.context = FileContext()
        self.variables: set[str] = set()
        self.steps: dict[str, Step] = {}  # named steps defined so far
        self.expectations: set[str] = set()
        self.later: dict[str, int] = {}  # every step name in the file → its line

    def add(self, line: int, message: str) -> None:
        self.problems.append(f"{self.path}:{line}: {message}")

    # -- the top level ---------------------------------------------------------------------

    def scenario(self, data: Any, context_for: ContextFor) -> ScenarioFile | None:
        if not isinstance(data, Mapped):
            what = "empty" if data is None else f"a {type(data).__name__}"
            self.add(line_of(data) or 1, f"a scenario file is a mapping with name: and steps:, "
                     f"but this one is {what}")
            return None
        for key in data:
            if key not in TOP_KEYS:
                self.add(line_of(data, key), f"unknown key {key!r} at the top of a scenario"
                         f"{_closest(key, TOP_KEYS)} (allowed: {', '.join(TOP_KEYS)})")
        name = data.get("name")
        if "name" not in data:
            self.add(data.line, "missing 'name:' (every scenario has a name)")
        elif not isinstance(name, str) or not name.strip():
            self.add(line_of(data, "name"), "name: must be a non-empty text")
        profile = data.get("profile")
        if profile is not None and not isinstance(profile, str):
            self.add(line_of(data, "profile"), "profile: must be a profile name")
            profile = None
        try:
            self.context = context_for(profile)
        except UsageError as exc:
            self.add(line_of(data, "profile"), str(exc))
        self.variables = set(self.context.variables)
        found = ScenarioFile(
            path=self.path,
            name=name if isinstance(name, str) else self.path,
            steps=[],
            line=line_of(data, "name") or 1,
            description=str(data.get("description") or ""),
            profile=profile,
            tags=self.tags(data),
            within=self.duration(data, "within"),
            settle=self.duration(data, "settle", allow_zero=True) or 0.0,
            allow_duplicates=self.boolean(data, "allow_duplicates"),
            correlation=self.correlation(data),
            xfail=self.xfail(data),
        )
        found.vars = self.vars(data)
        if "stubs" in data:
            found.stubs = Stubs(data["stubs"], line_of(data, "stubs"))
            from eventharness.engine.stubs import parse_stub_specs

            self.problems.extend(parse_stub_specs(
                data["stubs"], f"{self.path}:{found.stubs.line}", path=self.path,
                variables=self.variables | set(BUILTIN_VARIABLES), brokers=self.context.brokers,
            )[1])
        found.correlate = self.correlate_values(data)
        found.steps = self.step_list(data)
        return found

    def tags(self, data: Mapped) -> list[str]:
        tags = data.get("tags", [])
        if isinstance(tags, str):
            return [tags]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            self.add(line_of(data, "tags"), "tags: must be a list of words, e.g. [smoke, kafka]")
            return []
        return list(tags)

    def duration(
        self, data: Mapping[str, Any], key: str, *, allow_zero: bool = False
    ) -> float | None:
        if key not in data:
            return None
        value = data[key]
        if references(value):
            self.add(line_of(data, key), f"{key}: durations cannot use variables ({value!r})")
            return None
        try:
            return parse_duration(value, allow_zero=allow_zero)
        except ValueError as exc:
            self.add(line_of(data, key), f"{key}: {exc}")
            return None

    def boolean(self, data: Mapping[str, Any], key: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.add(line_of(data, key), f"{key}: must be true or false, got {value!r}")
            return False
        return value

    def correlation(self, data: Mapped) -> dict[str, str]:
        rules = data.get("correlation", {})
        if not isinstance(rules, Mapping):
            self.add(line_of(data, "correlation"), "correlation: must map channels to rules, "
                     "e.g. {kafka:payments: value.order_id}")
            return {}
        from eventharness.engine.correlation import check_rule

        out: dict[str, str] = {}
        for channel, rule in rules.items():
            line = line_of(rules, channel)
            self.channel(str(channel), line, "correlation")
            try:
                check_rule(str(rule), where=f"correlation rule for {channel}")
            except UsageError as exc:
                self.add(line, str(exc))
                continue
            out[str(channel)] = str(rule)
        return out

    def xfail(self, data: Mapped) -> XFail | None:
        if "xfail" not in data:
            return None
        spec = data["xfail"]
        line = line_of(data, "xfail")
        if isinstance(spec, str):
            spec = {"kind": spec}
        if not isinstance(spec, Mapping) or "kind" not in spec:
            self.add(line, "xfail: must name the failure kind it expects, e.g. "
                     "xfail: {kind: timeout, reason: ...}")
            return None
        for key in spec:
            if key not in ("kind", "reason"):
                self.add(line_of(spec, key) or line, f"xfail: unknown key {key!r} "
                         "(allowed: kind, reason)")
        if spec["kind"] not in FAILURE_KINDS:
            self.add(line_of(spec, "kind") or line, f"xfail: kind {spec['kind']!r} is not a "
                     f"failure kind{_closest(spec['kind'], FAILURE_KINDS)} "
                     f"(kinds: {', '.join(FAILURE_KINDS)})")
            return None
        return XFail(str(spec["kind"]), str(spec.get("reason") or ""))

    def vars(self, data: Mapped) -> dict[str, Any]:
        raw = data.get("vars", {})
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.add(line_of(data, "vars"), "vars: must be a mapping of names to values, "
                     'e.g. {order_id: "${uuid}"}')
            return {}
        out: dict[str, Any] = {}
        for key, value in raw.items():
            line = line_of(raw, key)
            if not isinstance(key, str) or not _NAME.match(key):
                self.add(line, f"variable name {key!r} must start with a letter and use "
                         "letters, digits, '_' or '-'")
                continue
            if key in BUILTIN_VARIABLES or key == "env":
                self.add(line, f"variable {key!r} is built in; choose another name")
                continue
            self.refs(value, line, steps=False)
            self.variables.add(key)
            out[key] = value
        return out

    def correlate_values(self, data: Mapped) -> list[Any]:
        value = data.get("correlate")
        if value is None:
            return []
        values = value if isinstance(value, list) else [value]
        for item in values:
            self.refs(item, line_of(data, "correlate"), steps=False)
        return list(values)

    # -- references ------------------------------------------------------------------------

    def refs(self, value: Any, line: int, *, steps: bool) -> None:
        """Every ``${...}`` in ``value`` must name something defined by now."""
        for ref in references(value):
            problem = self.unknown(ref, steps=steps)
            if problem:
                self.add(line, problem)

    def unknown(self, ref: Reference, *, steps: bool) -> str | None:
        head = ref.head
        if not ref.name:
            return "empty ${} : write ${name}"
        if ref.name in BUILTIN_VARIABLES:
            return None
        if head == "env":
            import os

            var = ref.name[4:]
            if not var:
                return f"{ref!r}: name the environment variable, e.g. ${{env.HOME}}"
            if var not in os.environ and ref.default is None:
                return (f"{ref!r}: environment variable {var} is not set; set it, or give a "
                        f"default: ${{env.{var}:-value}}")
            return None
        if head in self.variables:
            return None
        if head in self.steps:
            if not steps:
                return (f"{ref!r} reads step {head!r}'s event; step references work in "
                        "publish, eventually and check steps only")
            if "." not in ref.name:
                return f"{ref!r}: name a path on the step's event, e.g. ${{{head}.value.amount}}"
            return None
        if ref.default is not None:
            return None
        if head in self.later:
            return (f"{ref!r} reads step {head!r}, which comes later (line {self.later[head]}); "
                    "a step can only read the events of steps above it")
        known = sorted({*self.variables, *BUILTIN_VARIABLES, *self.steps})
        return (f"undefined variable {ref!r}{_closest(head, known)}; define it under vars: "
                "(or name an earlier step with as:)")

    # -- steps -----------------------------------------------------------------------------

    def step_list(self, data: Mapped) -> list[Step]:
        raw = data.get("steps")
        if "steps" not in data:
            self.add(data.line, "missing 'steps:' (a list of publish/expect/... steps)")
            return []
        if not isinstance(raw, Listed) or not raw:
            self.add(line_of(data, "steps"), "steps: must be a non-empty list of steps")
            return []
        for item in raw:
            if isinstance(item, Mapped) and len(item) == 1:
                kind, body = next(iter(item.items()))
                if kind in ("expect", "expect_none") and isinstance(body, Mapped) and \
                        isinstance(body.get("as"), str):
                    self.later.setdefault(body["as"], line_of(body, "as"))
        out: list[Step] = []
        for index, item in enumerate(raw):
            line = line_of(raw, index)
            if not isinstance(item, Mapped) or len(item) != 1:
                kinds = [k for k in item if k in STEP_KINDS] if isinstance(item, Mapped) else []
                if len(kinds) > 1:
                    self.add(line, f"one step has several kinds ({', '.join(kinds)}); "
                             "write each as its own '- kind: ...' item")
                else:
                    self.add(line, "a step is one '- kind: {...}' item, kind one of "
                             f"{', '.join(STEP_KINDS)}")
                continue
            ((kind, body),) = item.items()
            line = line_of(item, kind)
            if kind not in STEP_KINDS:
                self.add(line, f"unknown step kind {kind!r}{_closest(kind, STEP_KINDS)} "
                         f"(kinds: {', '.join(STEP_KINDS)})")
                continue
            step = Step(str(kind), body, line, index)
            if self.step(step):
                out.append(step)
        return out

    def step(self, step: Step) -> bool:
        """Check one step; True when it is well-formed enough to keep."""
        if step.kind in SCALAR_STEPS:
            return getattr(self, f"step_{step.kind}")(step)  # type: ignore[no-any-return]
        body = step.body
        if not isinstance(body, Mapped):
            self.add(step.line, f"{step.kind}: expects a mapping of options, got {body!r}")
            return False
        required, optional = STEP_KEYS[step.kind]
        for key in body:
            if key not in required | optional:
                allowed = sorted(required | optional)
                self.add(line_of(body, key), f"{step.kind}: unknown key {key!r}"
                         f"{_closest(key, allowed)} (allowed: {', '.join(allowed)})")
        for key in sorted(required - set(body)):
            self.add(step.line, f"{step.kind}: missing required key {key!r}")
        ok = bool(required <= set(body))
        getattr(self, f"step_{step.kind}")(step, body)
        name = step.name
        if "as" in body and step.kind not in ("expect", "expect_none"):
            if not isinstance(body["as"], str) or not body["as"].strip():
                self.add(line_of(body, "as"), f"as: must be a label (text), got {body['as']!r}")
        elif "as" in body:
            if not isinstance(body["as"], str) or not _NAME.match(body["as"]):
                self.add(line_of(body, "as"), f"as: {body['as']!r} must be a name: a letter, "
                         "then letters, digits, '_' or '-'")
            elif name in self.steps:
                self.add(line_of(body, "as"), f"step name {name!r} is already used by the "
                         f"step on line {self.steps[name].line}; names must be unique")
            elif name in self.variables or name in BUILTIN_VARIABLES:
                self.add(line_of(body, "as"), f"step name {name!r} is also a variable; rename "
                         "one of them")
            elif name is not None:
                self.steps[name] = step
                if step.kind in ("expect", "expect_none"):
                    self.expectations.add(name)
        return ok

    def channel(self, text: Any, line: int, where: str) -> None:
        if not isinstance(text, str):
            self.add(line, f"{where}: channel must be text like 'kafka:orders', got {text!r}")
            return
        self.refs(text, line, steps=False)
        placeholder = re.sub(r"\$\{[^{}]*\}", "x", text)
        broker = text.partition(":")[0]
        known = None if "${" in broker else self.context.brokers
        try:
            parse_channel(placeholder, known_brokers=known)
        except UsageError as exc:
            message = str(exc)
            if known is not None and broker not in known:
                message += f"{_closest(broker, known)}"
            self.add(line, f"{where}: {message}")

    def matcher(self, step: Step, body: Mapped) -> None:
        if "type" in body and not isinstance(body["type"], str):
            self.add(line_of(body, "type"), f"type: must be an event type name, got "
                     f"{body['type']!r}")
        for key in ("match", "fields"):
            if key not in body:
                continue
            spec = body[key]
            line = line_of(body, key)
            if not isinstance(spec, Mapping):
                self.add(line, f"{key}: must be a mapping, e.g. {{order_id: o-1, total: "
                         "{gt: 10}}}")
                continue
            self.refs(spec, line, steps=False)
            self.operators(spec, key, line, step.kind)

    def operators(self, spec: Any, where: str, line: int, kind: str) -> None:
        """Mistakes in a match/fields spec; the rule is engine.matchers.spec_problems."""
        for problem in spec_problems(spec, where):
            self.add(_deep_line(spec, problem) or line, f"{kind}: {problem}")

    def not_earlier(self, ref: Any) -> str:
        """Why ``ref`` is not an earlier expectation: defined later, or a near miss."""
        if isinstance(ref, str) and ref in self.later:
            return (f" (step {ref!r} comes later, on line {self.later[ref]}: a reference must "
                    "follow the step it names; move that step up)")
        return _closest(ref, self.expectations)

    def after(self, body: Mapped) -> None:
        if "after" not in body:
            return
        ref = body["after"]
        line = line_of(body, "after")
        if ref not in self.expectations:
            self.add(line, f"after: {ref!r} is not an earlier expect/expect_none step"
                     f"{self.not_earlier(ref)}; name that step with as: and put it first")

    def schema(self, body: Mapped) -> None:
        if "schema" not in body:
            return
        ref = body["schema"]
        line = line_of(body, "schema")
        if isinstance(ref, Mapping):
            return  # an inline schema
        if not isinstance(ref, str):
            self.add(line, f"schema: must be a subject name or an inline schema, got {ref!r}")
            return
        if ref.endswith((".json", ".avsc")) and Path(ref).is_file():
            return
        store = self.context.schemas
        if store is None:
            self.add(line, f"schema: {ref!r} cannot be looked up: no schema folder is "
                     'configured; set schemas = "path/to/schemas" in the profile')
            return
        try:
            store.get(ref)
        except UsageError as exc:
            self.add(line, f"schema: {exc}")

    def counts(self, body: Mapped) -> None:
        for key in ("count", "at_least", "at_most"):
            if key in body and (
                not isinstance(body[key], int) or isinstance(body[key], bool) or body[key] < 0
            ):
                self.add(line_of(body, key), f"{key}: must be a whole number ≥ 0, "
                         f"got {body[key]!r}")
        if "count" in body and ("at_least" in body or "at_most" in body):
            self.add(line_of(body, "count"), "give either count: or at_least:/at_most:, not both")
        low, high = body.get("at_least"), body.get("at_most")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            self.add(line_of(body, "at_least"), f"at_least: {low} is more than at_most: {high}")

    # -- one method per step kind ----------------------------------------------------------

    def step_publish(self, step: Step, body: Mapped) -> None:
        if "channel" in body:
            self.channel(body["channel"], line_of(body, "channel"), "publish")
        for key in ("value", "key", "headers"):
            if key in body:
                self.refs(body[key], line_of(body, key), steps=True)
        if "headers" in body and not isinstance(body["headers"], Mapping):
            self.add(line_of(body, "headers"), "headers: must map header names to text")
        if "partition" in body and (
            not isinstance(body["partition"], int) or body["partition"] < 0
        ):
            self.add(line_of(body, "partition"), "partition: must be a whole number ≥ 0")
        self.schema(body)
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            self.add(line_of(body, "seed"), f"seed: must be a whole number, got {seed!r}")
        if "faults" in body:
            from eventharness.engine.faults import parse_faults

            for problem in parse_faults(body["faults"], "faults")[1]:
                self.add(line_of(body, "faults"), problem)

    def step_expect(self, step: Step, body: Mapped) -> None:
        if "channel" in body:
            self.channel(body["channel"], line_of(body, "channel"), step.kind)
        self.matcher(step, body)
        self.after(body)
        self.schema(body)
        self.counts(body)
        self.duration(body, "within")
        for key in ("allow_duplicates", "collect_queue"):
            if key in body:
                self.boolean(body, key)

    def step_expect_none(self, step: Step, body: Mapped) -> None:
        if "channel" in body:
            self.channel(body["channel"], line_of(body, "channel"), step.kind)
        self.matcher(step, body)
        self.after(body)
        self.duration(body, "during")

    def step_eventually(self, step: Step, body: Mapped) -> None:
        probes = [k for k in PROBE_KEYS if k in body]
        if len(probes) != 1:
            self.add(step.line, "eventually: needs exactly one probe: http: {get: URL, json: "
                     "{...}}, command: {run: ...} or sql: {url: ..., query: ..., equals: ...}"
                     + (f" (got {', '.join(probes)})" if probes else ""))
        self.duration(body, "within")
        self.duration(body, "interval")
        for kind in probes:
            spec = body[kind]
            line = line_of(body, kind)
            if not isinstance(spec, Mapped):
                self.add(line, f"eventually.{kind}: must be a mapping")
                continue
            required, optional = PROBE_KEYS[kind]
            for key in spec:
                if key not in required | optional:
                    allowed = sorted(required | optional)
                    self.add(line_of(spec, key), f"eventually.{kind}: unknown key {key!r}"
                             f"{_closest(key, allowed)} (allowed: {', '.join(allowed)})")
            for key in sorted(required - set(spec)):
                self.add(line, f"eventually.{kind}: missing required key {key!r}")
            self.refs(spec, line, steps=True)
            getattr(self, f"probe_{kind}")(spec, line)

    def probe_http(self, spec: Mapped, line: int) -> None:
        if "json" in spec:
            try:
                check_spec(spec["json"], "json")
            except UsageError as exc:
                self.add(line_of(spec, "json"), f"eventually.http: {exc}")
        status = spec.get("status", 200)
        if not isinstance(status, int) or not 100 <= status <= 599:
            self.add(line_of(spec, "status"), f"eventually.http: status must be an HTTP status "
                     f"code, got {status!r}")
        if "timeout" in spec:
            self.duration(spec, "timeout")
        url = spec.get("get")
        if isinstance(url, str) and not re.sub(r"\$\{[^{}]*\}", "", url).startswith(
            ("http://", "https://")
        ) and not url.startswith("${"):
            self.add(line_of(spec, "get"), f"eventually.http: get: {url!r} is not an http:// "
                     "or https:// URL")

    def probe_command(self, spec: Mapped, line: int) -> None:
        if "exit" in spec and not isinstance(spec["exit"], int):
            self.add(line_of(spec, "exit"), "eventually.command: exit must be a number")
        if "timeout" in spec:
            self.duration(spec, "timeout")

    def probe_sql(self, spec: Mapped, line: int) -> None:
        url = spec.get("url")
        if not isinstance(url, str):
            return
        if url.startswith("sqlite:///") or url.startswith("${"):
            return
        if url.startswith(("postgresql://", "postgres://")):
            if importlib.util.find_spec("psycopg") is None:
                self.add(line_of(spec, "url"), "eventually.sql: postgresql:// needs psycopg: "
                         "pip install 'psycopg[binary]'")
            return
        self.add(line_of(spec, "url"), f"eventually.sql: url {url!r} is not supported; use "
                 "sqlite:///path/to/file.db or postgresql://user:pass@host/db")

    def step_check(self, step: Step, body: Mapped) -> None:
        items = body.get("equal")
        if "equal" in body and (not isinstance(items, list) or len(items) < 2):
            self.add(line_of(body, "equal"), "check.equal: must list two or more values, e.g. "
                     '["${pay.value.amount}", 42]')
            return
        if isinstance(items, list):
            self.refs(items, line_of(body, "equal"), steps=True)

    def step_key_order(self, step: Step, body: Mapped) -> None:
        target = body.get("step")
        if "step" in body and target not in self.expectations:
            self.add(line_of(body, "step"), f"key_order: step {target!r} is not an earlier "
                     f"expect step{self.not_earlier(target)}")
        if "by" in body and (not isinstance(body["by"], str) or not body["by"]):
            self.add(line_of(body, "by"), "key_order: by must be a path both the published "
                     "messages and the events carry, e.g. value.seq")

    def step_wait(self, step: Step) -> bool:
        try:
            parse_duration(step.body)
        except ValueError as exc:
            self.add(step.line, f"wait: {exc}")
            return False
        return True

    def step_order(self, step: Step) -> bool:
        names = step.body
        if not isinstance(names, list) or len(names) < 2:
            self.add(step.line, "order: must list two or more earlier expect steps, e.g. "
                     "order: [pay, ship]")
            return False
        ok = True
        for i, name in enumerate(names):
            if name not in self.expectations:
                self.add(line_of(names, i) or step.line, f"order: {name!r} is not an earlier "
                         f"expect step{self.not_earlier(name)}")
                ok = False
        return ok

    def step_correlate(self, step: Step) -> bool:
        if not isinstance(step.body, str | int):
            self.add(step.line, "correlate: must be one value, e.g. correlate: \"${order_id}\"")
            return False
        self.refs(step.body, step.line, steps=False)
        return True


def _deep_line(spec: Any, message: str) -> int:
    """The line of the innermost key named in a matcher error like ``match.total: ...``."""
    path = message.partition(":")[0].split(".")[1:]
    line = 0
    node = spec
    for part in path:
        if isinstance(node, Mapping) and part in node:
            line = line_of(node, part) or line
            node = node[part]
        else:
            break
    return line
