"""A ``stubs:`` entry (a virtual service) and its templated answers, as loaded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .fault_specs import FaultSpec
from .located import UNSET, Located

__all__ = [
    "ResponseSpec",
    "StubSpec",
]


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
