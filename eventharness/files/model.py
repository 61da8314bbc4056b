"""The typed model of a scenario file: what the loader builds once and the runner executes.

    ScenarioFile(path, name, steps=(Publish(...), Expect(...), Wait(seconds=0.25), ...),
                 stubs=(StubSpec(consume="kafka:orders", respond=(ResponseSpec(...),)),))

Every step, stub, response, fault and probe carries the file and line it was written on, and
the lines of its keys (``at(key)``), for errors found after loading. Durations are seconds
(floats). Values that are templates (``${...}``: a message, a match spec, a probe's URL) stay as
written; the runner renders them when the step runs. Nothing here reads YAML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "FAULTS",
    "PROBES",
    "STEPS",
    "TOXICS",
    "UNSET",
    "Check",
    "CommandProbe",
    "Correlate",
    "CorruptSpec",
    "DelaySpec",
    "DropSpec",
    "DuplicateSpec",
    "Eventually",
    "Expect",
    "ExpectNone",
    "ExpectSpan",
    "FaultSpec",
    "HttpProbe",
    "KeyOrder",
    "Lift",
    "Located",
    "NetworkStep",
    "Order",
    "PauseSpec",
    "ProbeSpec",
    "Publish",
    "Recover",
    "ReorderSpec",
    "ResponseSpec",
    "ScenarioFile",
    "SqlProbe",
    "Step",
    "StepBase",
    "StubSpec",
    "Wait",
    "XFail",
]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: A key the file does not give, where ``null`` means something else (a response's key).
UNSET: Any = _Unset()


@dataclass(frozen=True, slots=True, kw_only=True)
class Located:
    """Where something was written: its file, its line, the lines of its keys."""

    file: str = ""
    line: int = 0
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def at(self, key: str) -> int:
        """The line of ``key`` (of an ``order`` name), else of the whole thing."""
        return self.lines.get(key, self.line)


# --- faults (docs/stubs.md) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultSpec(Located):
    """Which messages a fault acts on: all that are given must hold, none means every one."""

    kind: ClassVar[str] = "fault"
    nth: tuple[int, ...] | None = None
    every: int | None = None
    rate: float | None = None
    seed: int | None = None  # None: the stub's or the publish step's seed, else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DelaySpec(FaultSpec):
    kind: ClassVar[str] = "delay"
    seconds: float
    jitter: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DropSpec(FaultSpec):
    kind: ClassVar[str] = "drop"


@dataclass(frozen=True, slots=True, kw_only=True)
class DuplicateSpec(FaultSpec):
    kind: ClassVar[str] = "duplicate"
    copies: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ReorderSpec(FaultSpec):
    kind: ClassVar[str] = "reorder"
    hold: int = 1
    release_after: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CorruptSpec(FaultSpec):
    kind: ClassVar[str] = "corrupt"
    target: str | None = None  # the field to corrupt (``amount``); None: the payload's bytes
    value: Any = UNSET  # UNSET: a value of the wrong type


@dataclass(frozen=True, slots=True, kw_only=True)
class PauseSpec(FaultSpec):
    kind: ClassVar[str] = "pause"
    seconds: float


FAULTS: dict[str, type[FaultSpec]] = {
    c.kind: c for c in (DelaySpec, DropSpec, DuplicateSpec, ReorderSpec, CorruptSpec, PauseSpec)
}


# --- stubs (virtual services) --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseSpec(Located):
    """One templated answer of a stub."""

    channel: str
    value: Any = None
    key: Any = UNSET  # UNSET: the consumed event's key
    headers: Mapping[str, Any] = field(default_factory=dict)
    when: Mapping[str, Any] | None = None
    delay: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class StubSpec(Located):
    """A ``stubs:`` entry; its faults are made fresh for each run of the scenario."""

    name: str
    consume: str
    type: str | None = None
    match: Mapping[str, Any] | None = None
    fields: Mapping[str, Any] | None = None
    respond: tuple[ResponseSpec, ...] = ()
    faults: tuple[FaultSpec, ...] = ()
    group: str | None = None
    consume_queue: bool = False
    seed: int | None = None


# --- probes (what ``eventually`` polls) ----------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpProbe(Located):
    kind: ClassVar[str] = "http"
    url: str
    status: int = 200
    json: Any = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandProbe(Located):
    kind: ClassVar[str] = "command"
    run: str | tuple[str, ...]
    exit: int = 0
    contains: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SqlProbe(Located):
    kind: ClassVar[str] = "sql"
    url: str
    query: str
    equals: Any = None


ProbeSpec = HttpProbe | CommandProbe | SqlProbe
PROBES: dict[str, type[ProbeSpec]] = {c.kind: c for c in (HttpProbe, CommandProbe, SqlProbe)}


# --- steps ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StepBase(Located):
    """What every step has: its kind (as written), its place in ``steps:``, its ``as:``."""

    kind: ClassVar[str]
    #: Declared before anything is published, wherever the step appears in the file.
    declaration: ClassVar[bool] = False
    index: int = 0
    name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Publish(StepBase):
    kind: ClassVar[str] = "publish"
    channel: str
    value: Any
    key: Any = None
    headers: Mapping[str, Any] | None = None
    schema: str | Mapping[str, Any] | None = None
    partition: int | None = None
    faults: tuple[FaultSpec, ...] = ()
    seed: int | None = None
    repeat: int = 1  # sent this many times (``${n}``: 1, 2, ...), ``every`` seconds apart
    every: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Expect(StepBase):
    kind: ClassVar[str] = "expect"
    declaration: ClassVar[bool] = True
    channel: str
    type: str | None = None
    match: Mapping[str, Any] | None = None
    fields: Mapping[str, Any] | None = None
    schema: str | Mapping[str, Any] | None = None
    within: float | None = None
    after: str | None = None
    count: int | None = None
    at_least: int | None = None
    at_most: int | None = None
    allow_duplicates: bool = False
    collect_queue: bool = False
    trace: str | None = None  # "propagated": its events carry the scenario's trace context


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectNone(StepBase):
    kind: ClassVar[str] = "expect_none"
    declaration: ClassVar[bool] = True
    channel: str
    type: str | None = None
    match: Mapping[str, Any] | None = None
    fields: Mapping[str, Any] | None = None
    during: float | None = None
    after: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectSpan(StepBase):
    """``expect_span:``: a span of the scenario's trace, sent by a service (its ``name:`` is
    the span's name, ``span`` here; ``as:`` names the step in reports)."""

    kind: ClassVar[str] = "expect_span"
    declaration: ClassVar[bool] = True
    #: How the file's keys map to fields (``name`` is the span's, not the step's).
    renamed: ClassVar[Mapping[str, str]] = {"as": "name", "name": "span"}
    service: str | None = None
    span: str | None = None
    attributes: Mapping[str, Any] | None = None
    status: str | None = None
    min_duration: float | None = None
    max_duration: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Eventually(StepBase):
    kind: ClassVar[str] = "eventually"
    probe: ProbeSpec
    within: float | None = None
    interval: float = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class Check(StepBase):
    """``check: {equal: [a, b, ...]}``: all items agree (usually step references)."""

    kind: ClassVar[str] = "check"
    equal: tuple[Any, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyOrder(StepBase):
    kind: ClassVar[str] = "key_order"
    declaration: ClassVar[bool] = True
    step: str
    by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Order(StepBase):
    kind: ClassVar[str] = "order"
    declaration: ClassVar[bool] = True
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Wait(StepBase):
    kind: ClassVar[str] = "wait"
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Correlate(StepBase):
    kind: ClassVar[str] = "correlate"
    declaration: ClassVar[bool] = True
    value: str | int


#: The network faults a ``network`` step can apply (docs/chaos.md).
TOXICS = ("latency", "bandwidth", "cut", "reset_peer", "timeout", "slow_close")


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkStep(StepBase):
    """``network: {service: payments, cut: true, for: 5s}``: a fault on a service's path to
    its broker (``toxic``, one of :data:`TOXICS`, "" when the file names none or several)."""

    kind: ClassVar[str] = "network"
    service: str
    toxic: str
    broker: str | None = None
    direction: str = "both"
    delay: float = 0.0  # latency, slow_close
    jitter: float = 0.0  # latency
    rate: float = 0.0  # bandwidth, bytes per second
    duration: float | None = None  # ``for:``; None: until lifted, or the scenario's end
    after: str | None = None  # applied once this expect step has its first event

    @property
    def label(self) -> str:
        """The name scenarios know it by: its ``as:``, else ``network#N`` (N its index)."""
        return self.name or f"network#{self.index}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Lift(StepBase):
    """``lift: NAME``: the network fault of step NAME is lifted now."""

    kind: ClassVar[str] = "lift"
    fault: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Recover(StepBase):
    """``recover: {channel: ..., within: 30s}``: after the fault (``fault``, else the network
    step above it), every message it caught completes once on ``channel``."""

    kind: ClassVar[str] = "recover"
    declaration: ClassVar[bool] = True
    channel: str
    type: str | None = None
    match: Mapping[str, Any] | None = None
    fields: Mapping[str, Any] | None = None
    fault: str | None = None
    by: str = "key"
    of: tuple[str, ...] | None = None
    within: float | None = None
    allow_duplicates: bool = False


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
        return found
