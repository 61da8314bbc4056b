"""Engine objects from a scenario file's specs: message faults, network toxics, a stub's
responses. Made fresh for each run (faults count the messages they see)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventharness.engine.faults import Corrupt, Delay, Drop, Duplicate, Fault, Pause, Reorder
from eventharness.engine.stubs import KEEP, Response
from eventharness.env.proxy import Bandwidth, Cut, Latency, ResetPeer, SlowClose, Timeout, Toxic
from eventharness.files.model import (
    UNSET,
    CorruptSpec,
    DelaySpec,
    DropSpec,
    DuplicateSpec,
    FaultSpec,
    NetworkStep,
    PauseSpec,
    ReorderSpec,
    ResponseSpec,
)

__all__ = ["make_faults", "make_response", "make_toxic"]


def make_faults(specs: Sequence[FaultSpec], seed: int | None = None) -> list[Fault]:
    """Fresh fault objects (they count messages) for one run; ``seed``: the stub's or the
    publish step's, for the faults that set none."""
    faults: list[Fault] = []
    for spec in specs:
        select: dict[str, Any] = {
            "nth": spec.nth,
            "every": spec.every,
            "rate": spec.rate,
            "seed": seed if spec.seed is None else spec.seed,
        }
        match spec:
            case DelaySpec():
                faults.append(Delay(spec.seconds, jitter=spec.jitter, **select))
            case DropSpec():
                faults.append(Drop(**select))
            case DuplicateSpec():
                faults.append(Duplicate(copies=spec.copies, **select))
            case ReorderSpec():
                faults.append(Reorder(hold=spec.hold, release_after=spec.release_after, **select))
            case CorruptSpec():
                value = {} if spec.value is UNSET else {"value": spec.value}
                faults.append(Corrupt(field=spec.target, **value, **select))
            case PauseSpec():
                faults.append(Pause(spec.seconds, **select))
    return faults


def make_toxic(step: NetworkStep) -> Toxic:
    """The proxy's toxic for a ``network`` step."""
    on = {"direction": step.direction}
    match step.toxic:
        case "latency":
            return Latency(step.delay, jitter=step.jitter, **on)
        case "bandwidth":
            return Bandwidth(step.rate, **on)
        case "reset_peer":
            return ResetPeer(**on)
        case "timeout":
            return Timeout(**on)
        case "slow_close":
            return SlowClose(step.delay, **on)
    return Cut(**on)


def make_response(spec: ResponseSpec, channel: str) -> Response:
    return Response(
        channel,
        spec.value,
        KEEP if spec.key is UNSET else spec.key,
        spec.headers,
        spec.when,
        spec.delay,
    )
