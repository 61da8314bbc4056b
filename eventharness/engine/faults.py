"""Fault injection: what brokers and services do to messages — late, twice, out of order,
mangled or never — done on purpose, repeatably, and shown on the timeline.

    from eventharness.engine.faults import Corrupt, Delay, Drop, Duplicate, Pause, Reorder

    s.stub("kafka:orders", respond=[...], faults=[Drop(nth=2), Delay(0.2, jitter=0.05)])
    await s.publish("kafka:orders", order, faults=[Duplicate()])

A fault sees the messages sent through it one by one (a stub's responses, or the publishes that
name it: a fault object keeps its count across the publishes it is given to). Which messages it
acts on is chosen by ``nth`` (1-based: ``2`` or ``[1, 3]``), ``every`` (every N-th) and ``rate``
(a probability); all that are given must hold, none given means every message. ``rate`` and
``jitter`` draw from ``random.Random(seed)`` — seed 0 unless another is given — so a run
repeats exactly.

* :class:`Delay` — waits ``seconds`` (± ``jitter``) before sending. Messages go out one at a
  time, so later ones queue behind a delayed one, as behind a slow service.
* :class:`Drop` — never sends the message.
* :class:`Duplicate` — sends it ``copies`` more times (same message id, same bytes).
* :class:`Reorder` — holds a message back until ``hold`` later messages went out, then sends it
  (``hold=1`` swaps neighbours); alone after ``release_after`` seconds if no later one comes.
* :class:`Corrupt` — undecodable bytes instead of the payload, or (``field=``) one field set to a
  value of the wrong type (``42`` → ``"42"``), which a schema check rejects.
* :class:`Pause` — stops for ``seconds`` before the selected message (default: the first). On a
  stub it stops *consuming*, so records wait in the broker and lag builds up.

Every fault applied leaves a note on the event in the scenario's timeline (``! dropped
(fault drop nth=2)``); a dropped message is still listed, marked as never sent. When tracing
is on, each one applied is also a span, ``fault KIND``, under the message's own span.

Faults are the stage of the outgoing pipeline (:mod:`eventharness.engine.outgoing`) between
the encoded record and the transport: each is a ``Step`` taking an ``Outgoing`` message and
the next stage. Whoever hands them messages (a stub, a scenario's publishes) closes them
(:meth:`Fault.aclose`) when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from eventharness.engine.outgoing import Forward, Outgoing
from eventharness.model.durations import check_seconds
from eventharness.model.errors import UsageError
from eventharness.model.events import encode_value

__all__ = [
    "FAULT_KINDS",
    "Corrupt",
    "Delay",
    "Drop",
    "Duplicate",
    "Fault",
    "Pause",
    "Reorder",
    "check_faults",
]


def check_faults(faults: Sequence[Any]) -> Sequence[Fault]:
    """``faults`` when every one is a :class:`Fault`; UsageError naming the one that is not."""
    for fault in faults:
        if not isinstance(fault, Fault):
            raise UsageError(f"faults must be Fault objects (Delay, Drop, ...), got {fault!r}")
    return faults


class Fault:
    """Base of all faults: message selection, a seeded random source, a count of uses."""

    kind: ClassVar[str] = "fault"

    def __init__(
        self,
        *,
        nth: int | Iterable[int] | None = None,
        every: int | None = None,
        rate: float | None = None,
        seed: int | None = None,
    ) -> None:
        if nth is not None:
            wanted = {nth} if isinstance(nth, int) else set(nth)
            if not wanted or any(not isinstance(n, int) or n < 1 for n in wanted):
                raise UsageError(
                    f"{self.kind}: nth must be a whole number ≥ 1 or a list of them, got {nth!r}"
                )
            self.nth: frozenset[int] | None = frozenset(wanted)
        else:
            self.nth = None
        if every is not None and (not isinstance(every, int) or every < 1):
            raise UsageError(f"{self.kind}: every must be a whole number ≥ 1, got {every!r}")
        if rate is not None and (isinstance(rate, bool) or not 0 <= rate <= 1):
            raise UsageError(f"{self.kind}: rate must be a number from 0 to 1, got {rate!r}")
        self.every = every
        self.rate = rate
        self.seed = 0 if seed is None else seed
        self.rng = random.Random(self.seed)
        self.seen = 0  # messages that passed through this fault
        self.applied = 0  # messages it acted on

    def selects(self) -> bool:
        """Count one more message and say whether this fault acts on it."""
        self.seen += 1
        chosen = True
        if self.nth is not None and self.seen not in self.nth:
            chosen = False
        if self.every is not None and self.seen % self.every:
            chosen = False
        if self.rate is not None and self.rng.random() >= self.rate:
            chosen = False
        return chosen

    async def __call__(self, item: Outgoing, forward: Forward) -> None:
        if self.selects():
            self.applied += 1
            span = item.span(f"fault {self.kind}", {"eventharness.fault": self.label()})
            try:
                await self.apply(item, forward)
            finally:
                span.end(attributes={"eventharness.fault.notes": "; ".join(item.notes)})
        else:
            await forward(item)

    async def apply(self, item: Outgoing, forward: Forward) -> None:  # pragma: no cover
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release what the fault holds (nothing, unless it reorders). Idempotent."""

    def label(self) -> str:
        """``fault drop nth=2``: how the timeline names this fault."""
        parts = [f"fault {self.kind}", *self._options()]
        if self.nth is not None:
            parts.append("nth=" + ",".join(map(str, sorted(self.nth))))
        if self.every is not None:
            parts.append(f"every={self.every}")
        if self.rate is not None:
            parts.append(f"rate={self.rate:g}")
        return " ".join(parts)

    def _options(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        return f"<{self.label()}>"


class Delay(Fault):
    kind = "delay"

    def __init__(self, seconds: float, *, jitter: float = 0.0, **select: Any) -> None:
        super().__init__(**select)
        self.seconds = check_seconds("delay", seconds)
        self.jitter = check_seconds("jitter", jitter, allow_zero=True)

    def _options(self) -> list[str]:
        return [f"{self.seconds:g}s" + (f"±{self.jitter:g}s" if self.jitter else "")]

    async def apply(self, item: Outgoing, forward: Forward) -> None:
        wait = self.seconds
        if self.jitter:
            wait = max(0.0, wait + self.rng.uniform(-self.jitter, self.jitter))
        item.noted(f"delayed {wait * 1000:.0f}ms ({self.label()})")
        await _wait_or_lose(item, wait)
        await forward(item)


class Drop(Fault):
    kind = "drop"

    async def apply(self, item: Outgoing, forward: Forward) -> None:
        item.noted(f"dropped, never sent ({self.label()})")
        item.lost(item)


class Duplicate(Fault):
    kind = "duplicate"

    def __init__(self, *, copies: int = 1, **select: Any) -> None:
        super().__init__(**select)
        if not isinstance(copies, int) or copies < 1:
            raise UsageError(f"duplicate: copies must be a whole number ≥ 1, got {copies!r}")
        self.copies = copies

    def _options(self) -> list[str]:
        return [f"copies={self.copies}"] if self.copies != 1 else []

    async def apply(self, item: Outgoing, forward: Forward) -> None:
        copies = [item.copy() for _ in range(self.copies)]
        await forward(item)
        for n, dup in enumerate(copies, start=2):
            await forward(dup.noted(f"sent again, copy {n} of {self.copies + 1} ({self.label()})"))


class Reorder(Fault):
    kind = "reorder"

    def __init__(self, *, hold: int = 1, release_after: float = 1.0, **select: Any) -> None:
        super().__init__(**select)
        if not isinstance(hold, int) or hold < 1:
            raise UsageError(f"reorder: hold must be a whole number ≥ 1, got {hold!r}")
        self.hold = hold
        self.release_after = check_seconds("release_after", release_after)
        self._held: tuple[Outgoing, Forward] | None = None
        self._passed = 0
        self._timer: asyncio.Task[None] | None = None

    def _options(self) -> list[str]:
        return [f"hold={self.hold}"]

    async def __call__(self, item: Outgoing, forward: Forward) -> None:
        chosen = self.selects()
        if self._held is None and chosen:
            self.applied += 1
            self._held = (item.noted(f"held back ({self.label()})"), forward)
            self._passed = 0
            self._timer = asyncio.create_task(self._release_later())
            return
        await forward(item)
        if self._held is not None:
            self._passed += 1
            if self._passed >= self.hold:
                await self._release(f"released after {self._passed} later message(s)")

    async def _release_later(self) -> None:
        await asyncio.sleep(self.release_after)
        self._timer = None  # this task is ending: _release must not cancel it
        await self._release(f"released alone after {self.release_after:g}s: no later message")

    async def _release(self, how: str) -> None:
        held, self._held = self._held, None
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        if held is not None:
            item, forward = held
            await forward(item.noted(how))

    async def aclose(self) -> None:
        held, self._held = self._held, None
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        if held is not None:
            item, _ = held
            item.lost(item.noted("never released: stopped while held"))


class Corrupt(Fault):
    kind = "corrupt"

    def __init__(self, *, field: str | None = None, value: Any = ..., **select: Any) -> None:
        super().__init__(**select)
        if field is not None and (not isinstance(field, str) or not field):
            raise UsageError(f"corrupt: field must be a dotted path like 'amount', got {field!r}")
        self.field = field
        self.value = value

    def _options(self) -> list[str]:
        return [f"field={self.field}" if self.field else "bytes"]

    async def apply(self, item: Outgoing, forward: Forward) -> None:
        if self.field is None:
            garbage = b"\xff\xfe" + self.rng.randbytes(14)  # 0xff never occurs in UTF-8
            item.record = item.record._replace(value=garbage)
            item.event.raw = garbage
            item.event.value = garbage
            item.noted(f"payload replaced by {len(garbage)} undecodable bytes ({self.label()})")
            await forward(item)
            return
        value = copy.deepcopy(item.event.value)
        path = self.field.removeprefix("value.").split(".")
        parent = _parent(value, path)
        if parent is None:
            item.noted(f"no field {self.field!r} to corrupt; sent unchanged ({self.label()})")
            await forward(item)
            return
        old = parent[path[-1]]
        new = wrong_type(old) if self.value is ... else self.value
        parent[path[-1]] = new
        raw = encode_value(value)
        item.record = item.record._replace(value=raw)
        item.event.raw = raw
        item.event.value = value
        item.noted(f"{self.field}: {old!r} → {new!r} ({self.label()})")
        await forward(item)


class Pause(Fault):
    kind = "pause"

    def __init__(self, seconds: float, **select: Any) -> None:
        if not any(select.get(k) is not None for k in ("nth", "every", "rate")):
            select["nth"] = 1
        super().__init__(**select)
        self.seconds = check_seconds("pause", seconds)

    def _options(self) -> list[str]:
        return [f"{self.seconds:g}s"]

    async def apply(self, item: Outgoing, forward: Forward) -> None:
        item.noted(f"paused {self.seconds:g}s before this one ({self.label()})")
        await _wait_or_lose(item, self.seconds)
        await forward(item)

    async def before_consuming(self) -> str | None:
        """For a consumer: stop taking records for a while when selected; the note, if so."""
        if not self.selects():
            return None
        self.applied += 1
        await asyncio.sleep(self.seconds)
        return f"consumer paused {self.seconds:g}s before taking its cause ({self.label()})"


FAULT_KINDS: dict[str, type[Fault]] = {
    cls.kind: cls for cls in (Delay, Drop, Duplicate, Reorder, Corrupt, Pause)
}


# -- helpers -----------------------------------------------------------------------------


async def _wait_or_lose(item: Outgoing, seconds: float) -> None:
    """Sleep; a message whose sender stops meanwhile is listed as never sent."""
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        item.lost(item.noted("never sent: stopped while waiting"))
        raise


def wrong_type(value: Any) -> Any:
    """A value of another JSON type that still looks like ``value``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 0
    if value is None:
        return 0
    return "corrupted"


def _parent(value: Any, path: list[str]) -> dict[str, Any] | None:
    node = value
    for part in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            return None
        node = node[part]
    if not isinstance(node, dict) or path[-1] not in node:
        return None
    return node
