"""Virtual services (stubs): stand-ins for the neighbours a service talks to.

    async with harness.scenario("order ships") as s:
        payments = s.stub(
            "kafka:orders", type="OrderPlaced",
            respond=[{"channel": "kafka:payments",
                      "value": {"type": "PaymentAuthorized",
                                "order_id": "${in.value.order_id}",
                                "amount": "${in.value.total}"}}],
            faults=[Drop(nth=2)],
        )
        s.expect("kafka:payments", type="PaymentAuthorized")
        await s.publish("kafka:orders", {"type": "OrderPlaced", "order_id": "o-1", "total": 42})
    payments.assert_called(times=1, match={"order_id": "o-1"})

A stub consumes a channel, takes the events that match (``type``/``match``/``fields``, the same
forms as ``expect``) and answers each with its responses: templated events built from the
consumed one. A template is any value; strings in it may hold ``${in.value.<path>}``,
``${in.key}``, ``${in.headers.<name>}``, ``${in.type}``, ``${in.correlation_id}``, ``${count}``
(how many events this stub has taken, this one included), ``${uuid}``, ``${stub}`` (its name).
A string that is exactly one ``${...}`` keeps the referenced value's type. A response's key is
the consumed key unless it says otherwise; its ``correlation-id`` and ``traceparent`` headers
(and the AMQP ``correlation_id`` property) carry on those of the consumed event, the trace id
kept and a new span id, as an instrumented service would do (with tracing on: the id of the
stub's own span, ``stub NAME``, a CONSUMER span under the event it answers). ``when`` makes a
response conditional: paths on the consumed event (``{total: {gt: 1000}}``, ``{key: "o-1"}``)
and ``count`` (``{count: 2}``, ``{count: {ge: 3}}``) for stateful answers.

How a stub reads its channel. By default it is an *observer*, like the collector: it sees every
record published after it started, at once (a Kafka consumer group needs ~5 s for its first
assignment), from the end of the topic (a new group would start at the beginning and answer
yesterday's events), committing nothing and leaving no queue behind. A stub of a scenario also
answers only that scenario's events (those carrying one of its correlation values), so
scenarios running side by side each get their own answers. ``group="name"`` makes it a
*worker* instead — a member of that Kafka consumer group, or a consumer of that named AMQP
queue — to share work with (or stand in for) a real service's group. ``consume_queue=True``
reads an AMQP ``/queue`` address, taking its messages.

A stub is also a spy: ``received`` (every event it took), ``calls`` (each with the events it
sent), ``assert_called(...)`` and ``await wait_called(...)``. Its sends appear on the
scenario's timeline as ``→`` events noted ``stub NAME``; faults add their own notes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from eventharness.engine.faults import Fault, Pause
from eventharness.engine.matchers import Matcher
from eventharness.engine.outgoing import Sender, carry, compose
from eventharness.engine.port import Port
from eventharness.engine.replies import KEEP, Reply, Responder, Response, as_response
from eventharness.model.durations import check_seconds
from eventharness.model.errors import EventHarnessError, StubError, UsageError
from eventharness.model.events import (
    CORRELATION_HEADER,
    Event,
    event_from_record,
    monotonic,
)
from eventharness.model.result import Failure
from eventharness.tracing.base import NO_SPAN, StepSpan

if TYPE_CHECKING:
    from eventharness.transports.base import Subscription

__all__ = [
    "KEEP",
    "Reply",
    "Response",
    "Stub",
    "StubCall",
    "StubError",
    "StubHost",
]


@dataclass(slots=True)
class StubCall:
    """One event a stub took, and what it sent for it (dropped ones included, noted)."""

    event: Event
    count: int
    sent: list[Event] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class StubHost(Protocol):
    """What makes stubs that live as long as it does: a scenario (``Scenario.stub``), or a
    harness (``Harness.stub``)."""

    def stub(self, consume: str, **options: Any) -> Stub: ...


class Stub:
    """A virtual service: consume, match, respond, with faults. See the module docstring."""

    def __init__(
        self,
        harness: Port,
        consume: str,
        *,
        name: str | None = None,
        type: str | None = None,
        match: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
        where: Callable[[Event], bool] | None = None,
        respond: Sequence[Response | Mapping[str, Any]] | Responder = (),
        faults: Sequence[Fault] = (),
        group: str | None = None,
        consume_queue: bool = False,
        scope: Collection[str] | None = None,
        on_sent: Callable[[Event], None] | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.harness = harness
        self.channel = harness.channel(consume)
        self.name = name or str(self.channel)
        self.matcher = Matcher(type=type, match=match, fields=fields, where=where)
        self._responder: Responder | None = None
        self.responses: list[Response] = []
        if callable(respond):
            self._responder = respond
        else:
            self.responses = [
                as_response(r, f"stub {self.name}: respond[{i}]") for i, r in enumerate(respond)
            ]
            for r in self.responses:
                harness.channel(r.channel)  # a broker that is not configured fails now
        for fault in faults:
            if not isinstance(fault, Fault):
                raise UsageError(
                    f"stub {self.name}: faults must be Fault objects (Delay, "
                    f"Drop, ...), got {fault!r}"
                )
        self.faults = list(faults)
        self._pauses = [f for f in self.faults if isinstance(f, Pause)]
        self._chain = [f for f in self.faults if not isinstance(f, Pause)]
        self.group = group
        self.consume_queue = consume_queue
        self._scope = scope
        self._on_sent = on_sent
        self._variables = dict(variables or {})
        self.received: list[Event] = []
        self.calls: list[StubCall] = []
        self.sent: list[Event] = []
        self.unmatched: deque[Event] = deque(maxlen=100)  # taken from the channel, not matched
        self.errors: list[str] = []
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._progress = asyncio.Event()
        self._stopped = False

    def __repr__(self) -> str:
        return f"<Stub {self.name!r} on {self.channel}: {len(self.received)} received>"

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Subscribe and start answering; returns once the subscription is armed."""
        if self._task is not None:
            return
        if self._stopped:
            raise UsageError(f"stub {self.name!r} was stopped; make a new one")
        transport = self.harness.transport(self.channel.broker)
        self._sub = await transport.subscribe(
            self.channel.address, group=self.group, consume_queue=self.consume_queue
        )
        self._task = asyncio.create_task(self._run(self._sub), name=f"stub {self.name}")

    async def stop(self) -> list[Failure]:
        """Stop consuming, release held messages; what went wrong, as failures. Idempotent."""
        if self._stopped:
            return []
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for fault in self.faults:
            await fault.aclose()
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(EventHarnessError, OSError, RuntimeError):
                await sub.aclose()
        self._progress.set()
        if not self.errors:
            return []
        first, *rest = self.errors
        return [Failure("error", f"stub {self.name}", first, tuple(rest[:10]))]

    async def __aenter__(self) -> Stub:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        failures = await self.stop()
        if failures and exc is None:
            raise StubError("\n".join(f.render() for f in failures))

    # -- answering -------------------------------------------------------------------------

    async def _run(self, sub: Subscription) -> None:
        channel = str(self.channel)
        payload_field = self.harness.correlation.payload_field
        decode = self.harness.decode
        try:
            async for record in sub:
                event = event_from_record(
                    channel, record, decoder=decode, payload_field=payload_field
                )
                if not self._in_scope(event):
                    continue
                notes = []
                for pause in self._pauses:
                    note = await pause.before_consuming()
                    if note:
                        notes.append(note)
                if not self.matcher.matches(event):
                    self.unmatched.append(event)
                    continue
                self.received.append(event)
                call = StubCall(event, len(self.received), notes=notes)
                await self._answer(call)
                self.calls.append(call)
                self._progress.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.errors.append(f"stopped consuming {channel}: {type(exc).__name__}: {exc}")
            self._progress.set()

    def _in_scope(self, event: Event) -> bool:
        if self._scope is None:
            return True
        return any(value in self._scope for value in self.harness.correlation.candidates(event))

    async def _answer(self, call: StubCall) -> None:
        try:
            replies = list(self._replies(call.event, call.count))
        except StubError as exc:
            self.errors.append(str(exc))
            return
        port = self.harness
        sender = Sender(
            port.transport,
            partial(self._sent, call),
            next_seq=port.next_seq,
            failed=self._send_failed,
            tracing=port.tracing,
        )
        span = self._span(call)
        errors = len(self.errors)
        try:
            await self._send_replies(call, replies, sender, span.traceparent)
        finally:
            failed = "; ".join(self.errors[errors:])
            span.end(error=failed or None, attributes={"eventharness.stub.replies": len(replies)})

    def _span(self, call: StubCall) -> StepSpan:
        """``stub NAME``, a CONSUMER span under the event answered, when tracing is on."""
        tracing = self.harness.tracing
        if tracing is None:
            return NO_SPAN
        attributes = {
            "eventharness.stub": self.name,
            "eventharness.channel": str(self.channel),
            "messaging.destination.name": self.channel.address,
            "messaging.operation.type": "process",
        }
        return tracing.span(
            f"stub {self.name}", call.event.traceparent, kind="consumer", attributes=attributes
        )

    async def _send_replies(
        self, call: StubCall, replies: list[Reply], sender: Sender, traceparent: str
    ) -> None:
        port = self.harness
        notes = [f"stub {self.name}", *call.notes]
        for reply in replies:
            if reply.delay:
                await asyncio.sleep(reply.delay)
            cause = call.event
            try:
                channel = port.channel(reply.channel)
                headers = carry(cause, port.correlation.payload_field, reply.headers, traceparent)
                event, record = compose(
                    port,
                    channel,
                    reply.value,
                    key=cause.key if reply.key is KEEP else reply.key,
                    headers=headers,
                    correlation_id=headers[0].get(CORRELATION_HEADER) or cause.correlation_id,
                )
            except EventHarnessError as exc:
                self.errors.append(f"stub {self.name}: reply to {reply.channel}: {exc}")
                continue
            await sender.send(channel, event, record, self._chain, notes)

    def _replies(self, event: Event, count: int) -> Iterable[Reply]:
        if self._responder is not None:
            try:
                return list(self._responder(event, count))
            except StubError:
                raise
            except Exception as exc:
                raise StubError(
                    f"stub {self.name}: responder raised {type(exc).__name__}: {exc}"
                ) from exc
        return [
            r.build(event, count, self.name, self._variables)
            for r in self.responses
            if r.applies(event, count)
        ]

    def _sent(self, call: StubCall, event: Event) -> None:
        """A reply went out (or, noted so, never will): on the spy's lists and the timeline."""
        self.sent.append(event)
        call.sent.append(event)
        if self._on_sent is not None:
            self._on_sent(event)

    def _send_failed(self, event: Event, exc: EventHarnessError) -> None:
        self.errors.append(f"stub {self.name}: sending to {event.channel} failed: {exc}")

    # -- spying ----------------------------------------------------------------------------

    def assert_called(
        self,
        times: int | None = None,
        *,
        type: str | None = None,
        match: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> list[Event]:
        """The received events that match; AssertionError unless there are ``times`` of them
        (at least one when ``times`` is None)."""
        matcher = Matcher(type=type, match=match, fields=fields)
        found = [ev for ev in self.received if matcher.matches(ev)]
        if (times is None and found) or len(found) == times:
            return found
        raise AssertionError(self._called_message(times, matcher, found))

    async def wait_called(self, times: int = 1, *, within: float = 5.0) -> list[StubCall]:
        """Wait until the stub has handled ``times`` events (responses sent); AssertionError
        with what it did receive when that does not happen within ``within`` seconds."""
        deadline = monotonic() + check_seconds("within", within)
        while len(self.calls) < times:
            remaining = deadline - monotonic()
            if remaining <= 0 or self._stopped or (self._task is not None and self._task.done()):
                raise AssertionError(
                    self._called_message(times, self.matcher, self.received, waited=within)
                )
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), remaining)
        return self.calls[:times]

    def _called_message(
        self,
        times: int | None,
        matcher: Matcher,
        found: list[Event],
        waited: float | None = None,
    ) -> str:
        wanted = "at least 1 call" if times is None else f"{times} call(s)"
        within = f" within {waited:g}s" if waited is not None else ""
        lines = [
            f"stub {self.name!r} on {self.channel}: expected {wanted} matching "
            f"[{matcher.describe()}]{within}, got {len(found)}"
        ]
        if not self.received:
            lines.append("  it received nothing")
        for n, ev in enumerate(self.received[:10], start=1):
            lines.append(f"  #{n} {ev.type or '-'} key={ev.key or '-'} value={_short(ev.value)}")
            lines.extend(f"      {d}" for d in matcher.diff(ev)[:4])
        if self.unmatched:
            lines.append(
                f"  and took {len(self.unmatched)} event(s) that did not match its "
                f"own filter [{self.matcher.describe()}]"
            )
        lines.extend(f"  error: {e}" for e in self.errors[:3])
        return "\n".join(lines)


# -- helpers -----------------------------------------------------------------------------


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
