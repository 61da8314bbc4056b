"""The faults a stub or a ``publish`` step applies to its messages (docs/stubs.md): delay,
drop, duplicate, reorder, corrupt, pause, and :data:`FAULTS`, each class by its key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .located import UNSET, Located

__all__ = [
    "FAULTS",
    "CorruptSpec",
    "DelaySpec",
    "DropSpec",
    "DuplicateSpec",
    "FaultSpec",
    "PauseSpec",
    "ReorderSpec",
]


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
