"""The outgoing pipeline: the one way a message leaves the harness.

    stamp ─→ Event ─→ validate ─→ encode ─→ Record ─→ faults ─→ transport.publish
    (headers)         (schema)    (bytes)             (Outgoing)  (noted on a timeline)

* :func:`stamp` — a scenario's own message: its correlation id, a new message id and a
  ``traceparent`` whose trace id is the correlation id; the caller's headers win.
  :func:`carry` — a stub's reply: the headers of the event it answers, carried on as a
  well-behaved service does (:func:`propagated_headers`); the reply's own headers win.
* :func:`compose` — the timeline :class:`~eventharness.model.events.Event`, checked against
  the schema given or the one bound to the channel (a message that violates it raises
  :class:`Rejected` and is not sent), encoded, and the broker's
  :class:`~eventharness.model.events.Record`.
* :class:`Sender` — faults (:mod:`eventharness.engine.faults`), then the transport, each
  message noted on its sender's timeline as it goes out (or as never sent).

Scenario publishes start at :func:`stamp`, stub replies at :func:`carry`, replays (already
records) at :class:`Sender`. The publish without faults is the hot path (benchmarked): it
allocates nothing beyond the headers, the event and the record, and awaits only the transport.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from eventharness.engine.port import Port
from eventharness.model.channels import Channel
from eventharness.model.errors import EventHarnessError
from eventharness.model.events import (
    CORRELATION_HEADER,
    CORRELATION_ID_HEADER,
    MESSAGE_ID_HEADER,
    TRACEPARENT_HEADER,
    Event,
    Message,
    Position,
    Record,
    encode_key,
    make_traceparent,
    monotonic,
    new_message_id,
)
from eventharness.model.result import Failure
from eventharness.tracing.base import NO_SPAN, StepSpan, Tracing
from eventharness.transports.base import Transport, enqueue

__all__ = [
    "Forward",
    "Headers",
    "Outgoing",
    "Rejected",
    "Sender",
    "Step",
    "carry",
    "compose",
    "deliver",
    "propagated_headers",
    "stamp",
    "unpack",
]

Headers = tuple[dict[str, str], dict[str, bytes]]
"""A message's headers twice: as text (the timeline's) and as bytes (the broker's)."""


# -- stamp -------------------------------------------------------------------------------


def stamp(
    correlation_id: str, given: Mapping[str, str | bytes] | None, traceparent: str | None = None
) -> Headers:
    """A scenario's headers: correlation id, trace context (``traceparent``: the publish
    span's, when tracing is on), a new message id; ``given`` wins."""
    message_id = new_message_id()
    traceparent = traceparent or make_traceparent(correlation_id)
    correlation = correlation_id.encode()
    text = {
        CORRELATION_HEADER: correlation_id,
        CORRELATION_ID_HEADER: correlation_id,
        TRACEPARENT_HEADER: traceparent,
        MESSAGE_ID_HEADER: message_id,
    }
    wire = {
        CORRELATION_HEADER: correlation,
        CORRELATION_ID_HEADER: correlation,
        TRACEPARENT_HEADER: traceparent.encode(),
        MESSAGE_ID_HEADER: message_id.encode(),
    }
    if given:
        for name, value in given.items():
            wire[name] = value if isinstance(value, bytes) else value.encode()
            text[name] = value.decode(errors="replace") if isinstance(value, bytes) else value
    return text, wire


def unpack(
    value: Any,
    key: str | bytes | None,
    headers: Mapping[str, str | bytes] | None,
    partition: int | None,
) -> tuple[Any, str | bytes | None, Mapping[str, str | bytes] | None, int | None]:
    """A :class:`~eventharness.model.events.Message`'s value, and its key, headers and
    partition unless given (headers merged, the given ones win); anything else as it is."""
    if not isinstance(value, Message):
        return value, key, headers, partition
    return (
        value.value,
        value.key if key is None else key,
        {**value.headers, **(headers or {})},
        value.partition if partition is None else partition,
    )


def carry(
    cause: Event, payload_field: str, given: Mapping[str, str], traceparent: str = ""
) -> Headers:
    """A reply's headers: those :func:`propagated_headers` carries from ``cause``; ``given``
    (the reply's own) win. ``traceparent``: the replying span's, when tracing is on (it
    continues ``cause``'s trace)."""
    text = propagated_headers(cause, payload_field)
    if traceparent and TRACEPARENT_HEADER in text:
        text[TRACEPARENT_HEADER] = traceparent
    text.update(given)
    return text, {name: value.encode() for name, value in text.items()}


def propagated_headers(cause: Event, payload_field: str = "correlation_id") -> dict[str, str]:
    """The headers a well-behaved service carries from the event it consumed to its output:
    ``correlation-id`` (also when it came as the AMQP property), ``traceparent`` with the
    same trace id and a new span id, and a new ``message-id``."""
    headers: dict[str, str] = {MESSAGE_ID_HEADER: uuid.uuid4().hex}
    correlation = cause.headers.get(CORRELATION_HEADER) or cause.headers.get(CORRELATION_ID_HEADER)
    if correlation is None and cause.correlation_id is not None:
        from_payload = cause.value.get(payload_field) if isinstance(cause.value, Mapping) else None
        if cause.correlation_id not in (str(from_payload), cause.trace_id):
            correlation = cause.correlation_id  # it came as the AMQP correlation_id property
    if correlation:
        headers[CORRELATION_HEADER] = headers[CORRELATION_ID_HEADER] = correlation
    if cause.traceparent:
        trace = cause.trace_id
        headers[TRACEPARENT_HEADER] = make_traceparent(trace) if trace else cause.traceparent
    return headers


# -- Event, validate, encode, Record -----------------------------------------------------


class Rejected(Exception):
    """A message that violates its schema; it was not sent. ``event`` is what it would have
    been on the timeline."""

    def __init__(self, event: Event, schema: Any, problems: Sequence[Any]) -> None:
        self.event = event
        self.schema = (
            schema if isinstance(schema, str) else getattr(schema, "name", "inline schema")
        )
        self.problems = list(problems)
        super().__init__(f"{event.channel}: the message violates {self.schema!r}; it was not sent")

    def failure(self) -> Failure:
        """The ``schema`` failure of a scenario whose own message this was."""
        return Failure(
            "schema",
            f"publish {self.event.channel}",
            f"the scenario's own message violates {self.schema!r}; it was not sent",
            tuple(str(p) for p in self.problems[:10]),
        )


def compose(
    port: Port,
    channel: Channel,
    value: Any,
    *,
    key: Any,
    headers: Headers,
    correlation_id: str | None,
    schema: Any = None,
    validate: bool = False,
    partition: int | None = None,
) -> tuple[Event, Record]:
    """The timeline event and the broker's record of one message.

    With ``validate``, the value is checked against ``schema`` or, when none is given, the
    schema bound to the channel (before encoding: Avro cannot encode a bad value), and
    :class:`Rejected` raised when it does not conform. The record carries the correlation
    and message ids as properties too (AMQP's own fields)."""
    text, wire = headers
    event = Event(
        channel=str(channel),
        value=value,
        raw=b"",
        key=key.decode(errors="replace") if isinstance(key, bytes) else key,
        headers=text,
        type=value.get("type") if isinstance(value, Mapping) else None,
        correlation_id=correlation_id,
        message_id=text.get(MESSAGE_ID_HEADER),
        traceparent=text.get(TRACEPARENT_HEADER),
        direction="out",
    )
    if validate:
        if schema is None and port.channel_schemas:
            schema = port.bound_validator(event.channel, event.type)
        if schema is not None:
            problems = port.validator(schema).validate(value)
            if problems:
                raise Rejected(event, schema, problems)
    event.raw = raw = port.encode(value, schema)
    correlation = text.get(CORRELATION_HEADER)
    properties = {"message_id": event.message_id or ""}
    if correlation:
        properties["correlation_id"] = correlation
    record = Record(
        value=raw, key=encode_key(key), headers=wire, properties=properties, partition=partition
    )
    return event, record


# -- faults and the transport ------------------------------------------------------------


@dataclass(slots=True)
class Outgoing:
    """One message on its way out through faults: the record for the broker and its timeline
    event.

    ``send`` publishes it and puts it on the timeline; ``lost`` puts it on the timeline as
    never sent. Faults add ``notes``; they end up in ``event.note``. ``tracing``: when on, a
    fault applied to the message is a span under the message's traceparent (:meth:`span`).
    """

    address: str
    record: Record
    event: Event
    send: Callable[[Outgoing], Awaitable[None]]
    lost: Callable[[Outgoing], None]
    notes: list[str] = field(default_factory=list)
    tracing: Tracing | None = None

    def span(self, name: str, attributes: Mapping[str, Any]) -> StepSpan:
        """A span under the message's own (its traceparent), or nothing when tracing is off."""
        if self.tracing is None:
            return NO_SPAN
        return self.tracing.span(name, self.event.traceparent, attributes=attributes)

    def noted(self, note: str) -> Outgoing:
        self.notes.append(note)
        return self

    def copy(self) -> Outgoing:
        return Outgoing(
            self.address,
            self.record,
            self.event.copy(),
            self.send,
            self.lost,
            list(self.notes),
            self.tracing,
        )

    def finish(self) -> Event:
        """Stamp the event with its notes and the current time; return it."""
        self.event.note = "; ".join(self.notes) if self.notes else None
        self.event.received = monotonic()
        return self.event


Forward = Callable[[Outgoing], Awaitable[None]]


class Step(Protocol):
    """One stage a message goes through on its way out: a fault. It forwards the message (or
    copies of it, or nothing) to the next stage."""

    async def __call__(self, item: Outgoing, forward: Forward) -> None: ...


async def deliver(steps: Sequence[Step], item: Outgoing) -> None:
    """Pass ``item`` through ``steps`` in order, then send whatever comes out."""

    async def step(index: int, current: Outgoing) -> None:
        if index == len(steps):
            await current.send(current)
            return
        await steps[index](current, lambda following: step(index + 1, following))

    await step(0, item)


def _ignore(event: Event) -> None:
    return None


class Sender:
    """The last stages for one sender (a scenario, a stub's answer, a replay): faults, then
    the transport, each message noted on the sender's ``timeline`` as it goes out.

    A transport error propagates, unless ``failed`` is given: then it is told instead (a
    stub notes it and keeps answering)."""

    __slots__ = ("_failed", "_next_seq", "_timeline", "_tracing", "_transport")

    def __init__(
        self,
        transport: Callable[[str], Transport],
        timeline: Callable[[Event], None] = _ignore,
        *,
        next_seq: Callable[[], int] | None = None,
        failed: Callable[[Event, EventHarnessError], None] | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._transport = transport
        self._timeline = timeline
        self._next_seq = next_seq or itertools.count(1).__next__
        self._failed = failed
        self._tracing = tracing  # faults applied to messages are spans when it is on

    def publish(self, channel: Channel, event: Event, record: Record) -> Awaitable[Position]:
        """The path without faults: note ``event`` on the timeline and hand the record to the
        transport. Await the result for the broker position (no await of its own here: this
        is the hot path)."""
        event.received = monotonic()
        event.seq = self._next_seq()
        self._timeline(event)
        return self._transport(channel.broker).publish(channel.address, record)

    def enqueue(
        self, channel: Channel, event: Event, record: Record
    ) -> Awaitable[asyncio.Future[Position]]:
        """The path without faults that does not wait for the broker: note ``event`` on the
        timeline, hand the record to the transport's batch
        (:func:`~eventharness.transports.base.enqueue`); await the result for the future of
        its position (no await of its own here: this is the hot path)."""
        event.received = monotonic()
        event.seq = self._next_seq()
        self._timeline(event)
        return enqueue(self._transport(channel.broker), channel.address, record)

    async def send(
        self,
        channel: Channel,
        event: Event,
        record: Record,
        faults: Sequence[Step] = (),
        notes: Sequence[str] = (),
    ) -> None:
        """Through ``faults`` (each noting what it did), then to the transport; ``notes`` go
        on the event in front of the faults' own."""
        transport = self._transport(channel.broker)

        async def out(item: Outgoing) -> None:
            sent = self._noted(item)
            try:
                sent.position = await transport.publish(item.address, item.record)
            except EventHarnessError as exc:
                if self._failed is None:
                    raise
                self._failed(sent, exc)

        item = Outgoing(channel.address, record, event, out, self._lost, list(notes), self._tracing)
        await deliver(faults, item)

    def unsent(self, event: Event) -> None:
        """Note on the timeline a message that was not sent (rejected before the faults)."""
        event.received = monotonic()
        event.seq = self._next_seq()
        self._timeline(event)

    def _noted(self, item: Outgoing) -> Event:
        event = item.finish()
        event.seq = self._next_seq()
        self._timeline(event)
        return event

    def _lost(self, item: Outgoing) -> None:
        self._noted(item)
