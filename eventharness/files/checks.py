"""What a scenario file means, checked against its profile: the checks a schema cannot make.

    problems = check_file(scenario_file, FileContext(brokers={"kafka"}, variables={"view"}))

``${...}`` references name something defined above them; ``after:``, ``order`` and
``key_order`` name earlier expectations; step names are unique; channels parse and name
configured brokers; schema subjects exist in the store; match specs and correlation rules are
valid for the engine. Each problem is ``(line, text)``; the loader adds the file.

This module walks the file and checks its core steps; the rest are mixed in from their own
modules: ``check_base`` (references, channels, specs), ``stub_checks``, ``chaos_checks``,
``lifecycle_checks``, ``trace_checks``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from eventharness.engine.correlation import check_rule
from eventharness.files.chaos_checks import ChaosChecks
from eventharness.files.chaos_steps import Lift, NetworkStep, Recover
from eventharness.files.check_base import BUILTIN_VARIABLES, FileContext
from eventharness.files.generate import generate_problems
from eventharness.files.lifecycle import HAVE_PSYCOPG, PSYCOPG_HINT
from eventharness.files.lifecycle_checks import LifecycleChecks
from eventharness.files.model import ScenarioFile
from eventharness.files.probe_specs import CommandProbe, HttpProbe, ProbeSpec, SqlProbe
from eventharness.files.steps import (
    Check,
    Correlate,
    Eventually,
    Expect,
    ExpectNone,
    ExpectSpan,
    KeyOrder,
    Order,
    Publish,
    Wait,
)
from eventharness.files.stub_checks import StubChecks
from eventharness.files.trace_checks import TraceChecks
from eventharness.model.errors import UsageError

__all__ = ["check_file"]


def check_file(
    file: ScenarioFile, context: FileContext, broken: Collection[str] = ()
) -> list[tuple[int, str]]:
    """Every problem of ``file``'s meaning. ``broken``: names of steps left out of the model
    for a problem of their shape; references to them are not reported again."""
    checker = _Checker(file, context, broken)
    checker.run()
    return checker.problems


class _Checker(StubChecks, ChaosChecks, LifecycleChecks, TraceChecks):
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
            line = file.lines.get(f"generate.{name}") or file.lines.get("generate", 0)
            self.refs(spec, line, steps=False)
            for at, problem in generate_problems(spec, self.context.schemas, line):
                self.add(at, f"generate.{name}: {problem}")
        for phase, actions in (("setup", file.setup), ("teardown", file.teardown)):
            for action in actions:
                self.action(action, phase)
        for step in file.steps:
            self.step(step)
        self.trace_source()

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
                if probe.url.startswith(("postgresql://", "postgres://")) and not HAVE_PSYCOPG():
                    self.add(probe.at("url"), f"eventually.sql: {PSYCOPG_HINT}")
        self.refs(list(templates), probe.line, steps=True)
