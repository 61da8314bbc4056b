"""The typed model of a scenario file: what the loader builds once and the runner executes.

    ScenarioFile(path, name, steps=(Publish(...), Expect(...), Wait(seconds=0.25), ...),
                 stubs=(StubSpec(consume="kafka:orders", respond=(ResponseSpec(...),)),))

This module holds the file (:class:`ScenarioFile`, :class:`XFail`), the :data:`Step` union and
:data:`STEPS`, each step class by its key. Its parts have their own modules: ``located``
(:class:`Located`, :data:`UNSET`), ``steps``, ``chaos_steps``, ``fault_specs``, ``stub_specs``,
``probe_specs``, ``lifecycle_actions``.

Every step, stub, response, fault and probe carries the file and line it was written on, and
the lines of its keys (``at(key)``), for errors found after loading. Durations are seconds
(floats). Values that are templates (``${...}``: a message, a match spec, a probe's URL) stay as
written; the runner renders them when the step runs. Nothing here reads YAML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .chaos_steps import Lift, NetworkStep, Recover
from .lifecycle_actions import LifecycleAction, PublishAction
from .steps import (
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
from .stub_specs import StubSpec

__all__ = [
    "STEPS",
    "ScenarioFile",
    "Step",
    "XFail",
]


Step = (
    Publish
    | Expect
    | ExpectNone
    | ExpectSpan
    | Eventually
    | Check
    | KeyOrder
    | Order
    | Wait
    | Correlate
    | NetworkStep
    | Lift
    | Recover
)
#: Each step, fault and probe class by the key that names it in a file.
STEPS: dict[str, type[Step]] = {
    c.kind: c
    for c in (
        Publish,
        Expect,
        ExpectNone,
        ExpectSpan,
        Eventually,
        Check,
        KeyOrder,
        Order,
        Wait,
        Correlate,
        NetworkStep,
        Lift,
        Recover,
    )
}


# --- the file ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class XFail:
    """``xfail: {kind: timeout, reason: ...}``: the scenario is expected to fail with ``kind``."""

    kind: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioFile:
    """One scenario file, loaded and checked: the runner's input."""

    path: str
    name: str
    steps: Sequence[Step] = ()
    line: int = 1  # of name:
    #: Lines of the top-level keys, and of each ``vars.NAME`` and ``correlation.CHANNEL``.
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    description: str = ""
    profile: str | None = None
    tags: tuple[str, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=dict)  # templates, in file order
    within: float | None = None
    settle: float = 0.0
    allow_duplicates: bool = False
    #: ``trace: propagated``: every event it collects carries its trace context.
    trace: str | None = None
    correlation: Mapping[str, str] = field(default_factory=dict)
    correlate: tuple[str | int, ...] = ()
    xfail: XFail | None = None
    stubs: tuple[StubSpec, ...] = ()
    data: str | None = None  # the ``data:`` table's file, as written
    #: One row of the scenario's ``data:`` table (``${row.NAME}``), None without a table.
    row: Mapping[str, Any] | None = None
    #: ``examples: N``: a property-based run over N generated examples (0: a plain run).
    examples: int = 0
    #: ``generate:``: variables drawn per example, NAME → {$generate: ...} or a Faker name.
    generate: Mapping[str, Any] = field(default_factory=dict)
    max_shrinks: int = 100
    shrink_time: float = 120.0
    setup: tuple[LifecycleAction, ...] = ()
    teardown: tuple[LifecycleAction, ...] = ()

    @property
    def declarations(self) -> list[Step]:
        return [s for s in self.steps if s.declaration]

    @property
    def actions(self) -> list[Step]:
        return [s for s in self.steps if not s.declaration]

    @property
    def checks_traces(self) -> bool:
        """Does it judge spans (``trace:``, an expect's ``trace:``, ``expect_span``)?"""
        return self.trace is not None or any(
            isinstance(s, ExpectSpan) or (isinstance(s, Expect) and s.trace is not None)
            for s in self.steps
        )

    @property
    def channels(self) -> list[str]:
        """The channels the steps and stubs name (``kafka:orders``), in file order."""
        found = [
            s.channel for s in self.steps if isinstance(s, Publish | Expect | ExpectNone | Recover)
        ]
        for stub in self.stubs:
            found.append(stub.consume)
            found.extend(response.channel for response in stub.respond)
        actions = (*self.setup, *self.teardown)
        found.extend(a.channel for a in actions if isinstance(a, PublishAction))
        return found
