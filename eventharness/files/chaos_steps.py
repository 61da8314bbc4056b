"""The chaos steps (docs/chaos.md): ``network`` (a fault on a service's path to its broker),
``lift`` (that fault ends) and ``recover`` (what it caught completes), and :data:`TOXICS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .steps import StepBase

__all__ = [
    "TOXICS",
    "Lift",
    "NetworkStep",
    "Recover",
]


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
