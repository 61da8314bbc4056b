"""The base of the file checker: what a file is checked against (:class:`FileContext`), the
checker's state, and the checks every part of a file uses: ``${...}`` references, channels,
match specs, references to earlier steps, schema subjects.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventharness.data.fake import HEAD as FAKE
from eventharness.data.fake import provider_problem
from eventharness.engine.matchers import spec_problems
from eventharness.engine.templates import Reference, references
from eventharness.files.chaos_steps import NetworkStep
from eventharness.files.lines import line_of
from eventharness.files.model import ScenarioFile
from eventharness.files.schema import closest
from eventharness.files.steps import Expect, ExpectNone
from eventharness.model.channels import parse_channel
from eventharness.model.errors import UsageError

__all__ = [
    "BUILTIN_VARIABLES",
    "CheckBase",
    "ContextFor",
    "FileContext",
]


#: Names every scenario can use without declaring them (``run.id``: the run's id, for names).
BUILTIN_VARIABLES = ("uuid", "now", "correlation_id", "run.id")


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


class CheckBase:
    """The checker's state and the checks every part of a file uses."""

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
        if head == FAKE:
            problem = provider_problem(ref.name[len(FAKE) + 1 :])
            return None if problem is None else f"{ref!r}: {problem}"
        if head == "vars" and ref.name[5:] in self.context.variables:
            return None  # ${vars.NAME}: a profile variable, as the profile writes it
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
