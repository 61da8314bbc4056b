"""What a scenario file means, checked against its profile: the checks a schema cannot make.

    problems = check_file(scenario_file, FileContext(brokers={"kafka"}, variables={"view"}))

``${...}`` references name something defined above them; ``after:``, ``order`` and
``key_order`` name earlier expectations; step names are unique; channels parse and name
configured brokers; schema subjects exist in the store; match specs and correlation rules are
valid for the engine. Each problem is ``(line, text)``; the loader adds the file.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventharness.engine.correlation import check_rule
from eventharness.engine.matchers import spec_problems
from eventharness.engine.templates import Reference, references
from eventharness.files.generate import generate_problems
from eventharness.files.lines import line_of
from eventharness.files.model import (
    UNSET,
    Check,
    CommandProbe,
    Correlate,
    Eventually,
    Expect,
    ExpectNone,
    ExpectSpan,
    HttpProbe,
    KeyOrder,
    Lift,
    NetworkStep,
    Order,
    ProbeSpec,
    Publish,
    Recover,
    ScenarioFile,
    SqlProbe,
    StubSpec,
    Wait,
)
from eventharness.files.schema import closest
from eventharness.model.channels import parse_channel
from eventharness.model.errors import UsageError

__all__ = [
    "BUILTIN_VARIABLES",
    "STUB_NAMES",
    "ContextFor",
    "FileContext",
    "check_file",
    "default_fault",
]

#: Names every scenario can use without declaring them.
BUILTIN_VARIABLES = ("uuid", "now", "correlation_id")
#: What a stub's templates may name besides the scenario's variables (see docs/stubs.md).
STUB_NAMES = ("in", "count", "uuid", "stub", "now")


@dataclass(frozen=True)
class FileContext:
    """What a file is checked against: its profile's brokers, variables and schema store."""

    brokers: Collection[str] | None = None
    variables: Collection[str] = ()
    schemas: Any = None  # anything with .get(ref) / .validator(ref); None: no store configured
    profile: str | None = None
    #: The profile's services, each with whether it has a proxy; None: not known (not checked).
    services: Mapping[str, bool] | None = None
    #: Does the profile hand its services ``${otlp}`` (a span receiver runs)? None: unknown.
    spans: bool | None = None


ContextFor = Callable[[str | None], FileContext]


def check_file(
    file: ScenarioFile, context: FileContext, broken: Collection[str] = ()
) -> list[tuple[int, str]]:
    """Every problem of ``file``'s meaning. ``broken``: names of steps left out of the model
    for a problem of their shape; references to them are not reported again."""
    checker = _Checker(file, context, broken)
    checker.run()
    return checker.problems


class _Checker:
    def __init__(self, file: ScenarioFile, context: FileContext, broken: Collection[str]):
        self.file = file
        self.context = context
        self.broken = set(broken)
        self.problems: list[tuple[int, str]] = []
        self.variables = set(context.variables)
        self.expectations: dict[str, int] = {}  # named expectations so far → line
        self.later = {
            s.name: s.at("as") for s in file.steps if isinstance(s, Expect | ExpectNone) and s.name
        }
        self.network: dict[str, NetworkStep] = {}  # network steps so far, by label

    def add(self, line: int, message: str) -> None:
        self.problems.append((line, message))

    def run(self) -> None:
        file = self.file
        for name, value in file.vars.items():
            self.refs(value, file.lines.get(f"vars.{name}", 0), steps=False)
            self.variables.add(name)
        for channel, rule in file.correlation.items():
            line = file.lines.get(f"correlation.{channel}", 0)
            self.channel(channel, line, "correlation")
            try:
                check_rule(rule, where=f"correlation rule for {channel}")
            except UsageError as exc:
                self.add(line, str(exc))
        for value in file.correlate:
            self.refs(value, file.lines.get("correlate", 0), steps=False)
        names: set[str] = set()
        for stub in file.stubs:
            if stub.name in names:
                self.add(
                    stub.line,
                    f"stub {stub.name!r}: another stub has this name; give each its own name:",
                )
            names.add(stub.name)
            self.stub(stub)
        for name, spec in file.generate.items():
            line = file.lines.get("generate", 0)
            for at, problem in generate_problems(spec, self.context.schemas, line):
                self.add(at, f"generate.{name}: {problem}")
        for step in file.steps:
            self.step(step)
        if file.checks_traces and self.context.spans is False:
            self.add(
                file.lines.get("trace", 0) or _first_trace_line(file),
                f"trace checks need the spans the services send, and profile "
                f"{self.context.profile or 'default'!r} hands no service ${{otlp}}: add "
                'OTEL_EXPORTER_OTLP_ENDPOINT = "${otlp}" to its env',
            )

    # -- references and values -------------------------------------------------------------

    def refs(self, value: Any, line: int, *, steps: bool) -> None:
        """Every ``${...}`` in ``value`` must name something defined by now."""
        for ref in references(value):
            problem = self.unknown(ref, steps=steps)
            if problem:
                self.add(line, problem)

    def unknown(self, ref: Reference, *, steps: bool) -> str | None:
        if ref.problem:
            return ref.problem
        head = ref.head
        if not ref.name:
            return "empty ${} : write ${name}"
        if ref.name in BUILTIN_VARIABLES or head in self.variables or head in self.broken:
            return None
        if head == "env":
            var = ref.name[4:]
            if not var:
                return f"{ref!r}: name the environment variable, e.g. ${{env.HOME}}"
            if var not in os.environ and ref.default is None:
                return (
                    f"{ref!r}: environment variable {var} is not set; set it, or give a "
                    f"default: ${{env.{var}:-value}}"
                )
            return None
        if head in self.expectations:
            if not steps:
                return (
                    f"{ref!r} reads step {head!r}'s event; step references work in "
                    "publish, eventually and check steps only"
                )
            if "." not in ref.name:
                return f"{ref!r}: name a path on the step's event, e.g. ${{{head}.value.amount}}"
            return None
        if ref.default is not None:
            return None
        if head in self.later:
            return (
                f"{ref!r} reads step {head!r}, which comes later (line {self.later[head]}); "
                "a step can only read the events of steps above it"
            )
        known = sorted({*self.variables, *BUILTIN_VARIABLES, *self.expectations})
        return (
            f"undefined variable {ref!r}{closest(head, known)}; define it under vars: "
            "(or name an earlier step with as:)"
        )

    def channel(self, text: str, line: int, where: str) -> None:
        self.refs(text, line, steps=False)
        broker = text.partition(":")[0]
        known = None if "${" in broker else self.context.brokers
        try:
            parse_channel(re.sub(r"\$\{[^{}]*\}", "x", text), known_brokers=known)
        except UsageError as exc:
            hint = closest(broker, known) if known is not None and broker not in known else ""
            self.add(line, f"{where}: {exc}{hint}")

    def spec(self, spec: Any, key: str, line: int, where: str) -> None:
        """A match spec (``match``, ``fields``, ``when``, ``json``) the engine accepts: the
        rule is :func:`eventharness.engine.matchers.spec_problems`, the same as Python's."""
        for problem in spec_problems(spec, key):
            self.add(_deep_line(spec, problem) or line, f"{where}: {problem}")

    def earlier(self, ref: str, line: int, what: str) -> None:
        """``ref`` must name an expectation above this step."""
        if ref in self.expectations or ref in self.broken:
            return
        if ref in self.later:
            why = (
                f" (step {ref!r} comes later, on line {self.later[ref]}: a reference must "
                "follow the step it names; move that step up)"
            )
        else:
            why = closest(ref, self.expectations)
        self.add(line, what.format(ref=repr(ref), why=why))

    def schema(self, ref: str | Mapping[str, Any] | None, line: int) -> None:
        if ref is None or isinstance(ref, Mapping):
            return  # none, or an inline schema
        if ref.endswith((".json", ".avsc")) and Path(ref).is_file():
            return
        store = self.context.schemas
        if store is None:
            self.add(
                line,
                f"schema: {ref!r} cannot be looked up: no schema folder is "
                'configured; set schemas = "path/to/schemas" in the profile',
            )
            return
        try:
            store.get(ref)
        except UsageError as exc:
            self.add(line, f"schema: {exc}")

    # -- stubs and steps -------------------------------------------------------------------

    def stub(self, stub: StubSpec) -> None:
        here = f"stub {stub.name!r}"
        self.channel(stub.consume, stub.at("consume"), here)
        for key, spec in (("match", stub.match), ("fields", stub.fields)):
            if spec is not None:
                self.spec(spec, key, stub.at(key), here)
        known = self.variables | set(BUILTIN_VARIABLES)
        for j, response in enumerate(stub.respond):
            where = f"{here}: respond[{j}]"
            templates = [response.value, response.headers]
            if response.key is not UNSET:
                templates.append(response.key)
            for ref in references(templates):
                if ref.problem:
                    self.add(response.line, f"{where}: {ref.problem}")
                elif ref.head not in STUB_NAMES and ref.name not in known and ref.default is None:
                    self.add(
                        response.line,
                        f"{where}: ${{{ref.text}}} is not something a stub "
                        "knows; use ${in.value.<path>}, ${in.key}, ${in.headers.<name>}, "
                        "${in.type}, ${count}, ${uuid} or ${stub}",
                    )
            self.channel(response.channel, response.at("channel"), where)
            if response.when is not None:
                self.spec(response.when, "when", response.at("when"), where)

    def step(self, step: Any) -> None:
        match step:
            case Publish():
                self.publish(step)
            case Expect() | ExpectNone():
                self.expect(step)
            case ExpectSpan():
                self.expect_span(step)
            case Eventually(probe=probe):
                self.probe(probe)
            case Check():
                self.refs(list(step.equal), step.at("equal"), steps=True)
            case KeyOrder():
                self.earlier(
                    step.step,
                    step.at("step"),
                    "key_order: step {ref} is not an earlier expect step{why}",
                )
            case Order():
                for name in step.steps:
                    self.earlier(
                        name, step.at(name), "order: {ref} is not an earlier expect step{why}"
                    )
            case Correlate():
                self.refs(step.value, step.line, steps=False)
            case NetworkStep():
                self.network_step(step)
            case Lift():
                if step.fault not in self.network:
                    self.add(step.line, self.no_fault("lift", step.fault))
            case Recover():
                self.recover(step)
            case Wait():
                pass

    def network_step(self, step: NetworkStep) -> None:
        if not step.toxic:
            self.add(
                step.line,
                "network: name one fault: latency, bandwidth, cut, reset_peer, timeout or "
                "slow_close, e.g. {service: payments, cut: true, for: 5s}",
            )
        services = self.context.services
        profile = f"profile {self.context.profile!r}" if self.context.profile else "the profile"
        if services is not None and step.service not in services:
            self.add(
                step.at("service"),
                f"network: no service {step.service!r} in {profile}"
                f"{closest(step.service, services)} (services: "
                f"{', '.join(services) or 'none'}); faults go between a service the "
                "environment starts and its broker",
            )
        elif services is not None and not services[step.service]:
            self.add(
                step.at("service"),
                f"network: service {step.service!r} has no proxy: set proxy = true on it in "
                f"{profile} (its ${{brokers.NAME.bootstrap}} is then the proxy's address)",
            )
        if step.after is not None:
            self.earlier(
                step.after,
                step.at("after"),
                "network: after: {ref} is not an earlier expect step{why}",
            )
        known = self.context.brokers
        if step.broker is not None and known is not None and step.broker not in known:
            self.add(
                step.at("broker"),
                f"network: no broker {step.broker!r}{closest(step.broker, known)} "
                f"(brokers: {', '.join(sorted(known))})",
            )
        if step.label in self.network:
            self.add(
                step.at("as"),
                f"network step name {step.label!r} is already used by the step on line "
                f"{self.network[step.label].line}; names must be unique",
            )
        self.network[step.label] = step

    def no_fault(self, what: str, name: str) -> str:
        names = ", ".join(repr(n) for n in self.network if "#" not in n) or "none"
        return (
            f"{what}: {name!r} is not an earlier network step{closest(name, self.network)} "
            f"(named network steps above: {names}); name the step with as:"
        )

    def recover(self, step: Recover) -> None:
        self.channel(step.channel, step.at("channel"), "recover")
        for key, spec in (("match", step.match), ("fields", step.fields)):
            if spec is not None:
                self.refs(spec, step.at(key), steps=False)
                self.spec(spec, key, step.at(key), "recover")
        for channel in step.of or ():
            self.channel(channel, step.at("of"), "recover: of")
        if step.fault is not None and step.fault not in self.network:
            self.add(step.at("fault"), self.no_fault("recover: fault", step.fault))
            return
        fault = self.network.get(step.fault) if step.fault else default_fault(self.file, step)
        if fault is None:
            self.add(
                step.line,
                "recover: the scenario has no network step; a recovery is judged after a "
                "fault: add one (e.g. {service: payments, cut: true, for: 5s})",
            )
            return
        lifted = any(
            isinstance(s, Lift) and s.fault == fault.label and s.index > fault.index
            for s in self.file.steps
        )
        if fault.duration is None and not lifted:
            self.add(
                step.line,
                f"recover: the network step on line {fault.line} is never lifted, so there is "
                "no recovery to judge; give it for: (e.g. for: 5s) or add a lift step after it",
            )

    def publish(self, step: Publish) -> None:
        self.channel(step.channel, step.at("channel"), "publish")
        repeated = step.repeat > 1 and "n" not in self.variables
        if repeated:
            self.variables.add("n")  # ${n}: 1, 2, ... in a repeated publish
        for key, value in (("value", step.value), ("key", step.key), ("headers", step.headers)):
            self.refs(value, step.at(key), steps=True)
        if repeated:
            self.variables.discard("n")
        self.schema(step.schema, step.at("schema"))
        for line, problem in generate_problems(step.value, self.context.schemas, step.at("value")):
            self.add(line, problem)

    def expect(self, step: Expect | ExpectNone) -> None:
        """An expect or expect_none step; its ``as:`` name counts from the next step on."""
        self.channel(step.channel, step.at("channel"), step.kind)
        for key, spec in (("match", step.match), ("fields", step.fields)):
            if spec is not None:
                self.refs(spec, step.at(key), steps=False)
                self.spec(spec, key, step.at(key), step.kind)
        if step.after is not None:
            self.earlier(
                step.after,
                step.at("after"),
                "after: {ref} is not an earlier "
                "expect/expect_none step{why}; name that step with as: and put "
                "it first",
            )
        if isinstance(step, Expect):
            self.schema(step.schema, step.at("schema"))
            self.counts(step)
        if step.name is not None:
            self.name(step.name, step.at("as"))

    def expect_span(self, step: ExpectSpan) -> None:
        for key in ("service", "span", "attributes"):
            line = step.at("name" if key == "span" else key)
            self.refs(getattr(step, key), line, steps=False)
        if step.attributes is not None:
            self.spec(step.attributes, "attributes", step.at("attributes"), step.kind)
        low, high = step.min_duration, step.max_duration
        if low is not None and high is not None and low > high:
            self.add(
                step.at("min_duration"),
                f"expect_span: min_duration {low:g}s is above max_duration {high:g}s",
            )

    def name(self, name: str, line: int) -> None:
        if name in self.expectations:
            self.add(
                line,
                f"step name {name!r} is already used by the step on line "
                f"{self.expectations[name]}; names must be unique",
            )
        elif name in self.variables or name in BUILTIN_VARIABLES:
            self.add(line, f"step name {name!r} is also a variable; rename one of them")
        else:
            self.expectations[name] = line

    def counts(self, step: Expect) -> None:
        if step.count is not None and (step.at_least is not None or step.at_most is not None):
            self.add(step.at("count"), "give either count: or at_least:/at_most:, not both")
        low, high = step.at_least, step.at_most
        if low is not None and high is not None and low > high:
            self.add(step.at("at_least"), f"at_least: {low} is more than at_most: {high}")

    def probe(self, probe: ProbeSpec) -> None:
        templates: Iterable[Any]
        match probe:
            case HttpProbe():
                templates = (probe.url, probe.json, probe.headers)
                if probe.json is not None:
                    self.spec(probe.json, "json", probe.at("json"), "eventually.http")
            case CommandProbe():
                templates = (probe.run, probe.contains)
            case SqlProbe():
                templates = (probe.url, probe.query, probe.equals)
                if (
                    probe.url.startswith(("postgresql://", "postgres://"))
                    and importlib.util.find_spec("psycopg") is None
                ):
                    self.add(
                        probe.at("url"),
                        "eventually.sql: postgresql:// needs psycopg: "
                        "pip install 'psycopg[binary]'",
                    )
        self.refs(list(templates), probe.line, steps=True)


def default_fault(file: ScenarioFile, step: Recover) -> NetworkStep | None:
    """The fault of a ``recover`` step that names none: the network step above it, else
    (a recovery declared first) the first one below it."""
    faults = [s for s in file.steps if isinstance(s, NetworkStep)]
    above = [s for s in faults if s.index < step.index]
    return above[-1] if above else faults[0] if faults else None


def _first_trace_line(file: ScenarioFile) -> int:
    for step in file.steps:
        if isinstance(step, ExpectSpan):
            return step.line
        if isinstance(step, Expect) and step.trace is not None:
            return step.at("trace")
    return file.line


def _deep_line(spec: Any, message: str) -> int:
    """The line of the innermost key named in a matcher error like ``match.total: ...``."""
    line = 0
    node = spec
    for part in message.partition(":")[0].split(".")[1:]:
        if isinstance(node, Mapping) and part in node:
            line = line_of(node, part) or line
            node = node[part]
        else:
            break
    return line
