"""The steps of a scenario: :class:`StepBase` (what every step has) and the steps that publish,
expect, poll, check, order, wait and correlate. The chaos steps are in
:mod:`eventharness.files.chaos_steps`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .fault_specs import FaultSpec
from .located import Located
from .probe_specs import ProbeSpec

__all__ = [
    "Check",
    "Correlate",
    "Eventually",
    "Expect",
    "ExpectNone",
    "ExpectSpan",
    "KeyOrder",
    "Order",
    "Publish",
    "StepBase",
    "Wait",
]


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
