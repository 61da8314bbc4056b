"""The scenario: arms the collector, publishes, waits, judges, builds the result.

    async with harness.scenario("order ships") as s:
        pay = s.expect("kafka:payments", type="PaymentAuthorized", within=5)
        await s.publish("kafka:orders", {"type": "OrderPlaced", "order_id": "o-1"}, key="o-1")
    # leaving the block waits for every expectation, then raises ScenarioFailed if any failed

Declared expectations are subscribed at once (:mod:`~eventharness.engine.arming`);
``await s.armed()`` waits for that, and windows open then. Waiting is event-driven: each
routed event wakes the scenario, which re-judges its expectations; otherwise it sleeps
exactly until the nearest deadline. Only probes poll. Messages go out through ``outgoing``;
the final judging is ``verdict``; setup/teardown ``lifecycle``; the harness is a ``Port``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from eventharness.engine.acks import Acks
from eventharness.engine.arming import Arming
from eventharness.engine.chaos import Chaos
from eventharness.engine.checks import Checks
from eventharness.engine.correlation import rule_value
from eventharness.engine.expectations import (
    Absence,
    Expectation,
    InOrder,
    KeyOrder,
    check_counts,
    unique_name,
)
from eventharness.engine.faults import Fault, check_faults
from eventharness.engine.lifecycle import Action, Lifecycle
from eventharness.engine.matchers import Matcher
from eventharness.engine.network import NetworkFault
from eventharness.engine.outgoing import Rejected, Sender, compose, stamp, unpack
from eventharness.engine.port import Port
from eventharness.engine.stubs import Stub
from eventharness.engine.traced import Traced, join_spans, sent, traced
from eventharness.engine.traces import Propagation, SpanExpectation, propagated
from eventharness.engine.verdict import (
    Check,
    Evidence,
    Facts,
    Violation,
    bound_violation,
    broken_channels,
    judge,
    outcome,
)
from eventharness.engine.waiting import Wakeup, until_judged
from eventharness.model.durations import check_seconds, optional_seconds
from eventharness.model.errors import ScenarioFailed, UsageError
from eventharness.model.events import Event, monotonic, new_correlation_id
from eventharness.model.result import Failure, ScenarioResult

__all__ = ["Check", "Facts", "Scenario"]


class _Abort(Exception):
    """Stop the scenario body: a failure was recorded that makes going on pointless."""


class Scenario(Checks, Chaos):
    """One run: its correlation id, its expectations, its timeline. Use ``async with``.

    ``harness`` is what runs it (any :class:`~eventharness.engine.port.Port`; made by
    ``Harness.scenario``, which also passes ``on_result`` to keep every result). The scenario
    owns what it opens — its collector routes, its stubs, the faults its publishes used —
    through one ``AsyncExitStack``, closed when it ends (``setup``/``teardown``: lifecycle)."""

    __slots__ = (  # its state (see __init__), in the object: no dict per scenario
        *("harness", "name", "file", "lifecycle", "correlation_id", "default_within", "settle"),
        *("allow_duplicates", "events", "began", "result", "_on_result", "_entered", "_keys"),
        *("_arming", "_changed", "_opened", "_acks", "_sender", "_faults", "_network"),
        *("_expectations", "_orders", "_checks", "_failures", "_violations", "_evidence_made"),
        *("_trace", "_traces", "_trace_rule"),
    )

    def __init__(
        self,
        harness: Port,
        name: str,
        *,
        correlation_id: str | None = None,
        within: float | None = None,
        allow_duplicates: bool = False,
        settle: float = 0.0,
        file: str | None = None,
        on_result: Callable[[ScenarioResult], None] | None = None,
        trace: str | None = None,
        setup: Sequence[Action] = (),
        teardown: Sequence[Action] = (),
    ) -> None:
        self.harness = harness
        self.lifecycle = Lifecycle(setup, teardown)  # engine/lifecycle.py: runs around it
        self.name = name
        self.correlation_id = correlation_id or new_correlation_id()
        within = optional_seconds("within", within)
        self.default_within = within if within is not None else harness.within
        self.allow_duplicates = allow_duplicates
        self.settle = check_seconds("settle", settle, allow_zero=True) if settle else 0.0
        self.file = file
        self.events: list[Event] = []
        self.began = 0.0  # when the block was entered (monotonic)
        self.result: ScenarioResult | None = None
        self._on_result = on_result
        self._expectations: list[Expectation] = []
        self._orders: list[InOrder | KeyOrder] = []
        self._checks: list[tuple[str, Check]] = []
        self._failures: list[Failure] = []
        self._keys: set[str] = set()
        self._arming = Arming(harness, name)  # subscriptions and stubs, before any trigger
        self._changed = Wakeup()  # woken by every routed event and a broken collection
        self._entered = False
        self._opened: contextlib.AsyncExitStack | None = None  # see _owned
        self._faults: set[Fault] = set()  # used by publishes; released at the end
        self._network: list[NetworkFault] = []  # network faults applied (engine/chaos.py)
        self._violations: list[Violation] = []
        self._evidence_made: Evidence | None = None
        self._acks = Acks()  # publishes that did not wait (wait=False)
        self._trace: Traced | None = None  # its spans, when the harness traces
        self._traces: list[Propagation | SpanExpectation] = []  # checks on its trace
        self._trace_rule = trace is not None and propagated(trace)  # declared on entering
        self._sender = Sender(
            harness.transport,
            self.events.append,
            next_seq=harness.next_seq,
            tracing=harness.tracing,
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Scenario:
        if self._trace_rule and not self._traces:
            self.expect_propagated()  # a usage error before anything is opened
        self.began = monotonic()
        if self.lifecycle.setup:
            failed = await self.lifecycle.set_up(self.harness, self._owned)
            if failed is not None:  # the body does not run; teardown did
                self._failures.append(failed)
                raise ScenarioFailed(self._result())
        self.began, self._entered = monotonic(), True  # setup is not on the scenario's clock
        # released in __aexit__ after the stack (cheaper than two callbacks on it)
        self.harness.add_listener(self._changed.wake)
        self.correlate(self.correlation_id)
        self._trace = traced(self.harness, self.name, self.correlation_id)
        self._arming.start()
        return self

    @property
    def _owned(self) -> contextlib.AsyncExitStack:
        """What the scenario opened (stubs, faults, setup's resources), closed last in first
        out when it ends; made on first use (most scenarios open nothing)."""
        if self._opened is None:
            self._opened = contextlib.AsyncExitStack()
        return self._opened

    @property
    def started(self) -> float:
        """When windows open and timeline ``t`` counts from (monotonic): the first arming
        completed; until then, when the block was entered (:attr:`began`)."""
        first = self._arming.first
        return first if first is not None else self.began

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None or isinstance(exc, _Abort):
                if exc is None:  # each await only when there is something to wait for
                    if self._acks:
                        await self._acks.gather(self._failures)
                    if not self._arming.ready:
                        await self.armed()
                    await self._wait()
                    if self._traces:
                        await self._await_traces()
                self._final_checks()
            elif isinstance(exc, AssertionError):
                self._failures.append(Failure("consistency", "assert", str(exc) or "assert"))
            elif not isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
                step = self._expectations[-1].name if self._expectations else "scenario"
                self._failures.append(Failure("error", step, f"{type(exc).__name__}: {exc}"))
        finally:
            self._acks.abandon()  # no-op once gathered
            try:
                if not self._arming.close():
                    await self._arming.aclose()
                if self._opened is not None:
                    await self._opened.aclose()  # stubs stop, held messages go, routes close
            finally:
                self.harness.remove_listener(self._changed.wake)
                self._changed.close()
                for key in self._keys:
                    self.harness.unregister(key)
                if self.lifecycle.teardown:
                    await self.lifecycle.tear_down(self.harness)  # always, even when cancelled
        result = self._result()
        if self._trace is not None:
            self._trace.end(result)
        if exc is not None and not isinstance(exc, _Abort | AssertionError):
            return  # the original exception propagates; the result says "error"
        if not result.passed:
            raise ScenarioFailed(result) from None

    async def _stop(self, stub: Stub) -> None:
        self._failures.extend(await stub.stop())

    def _result(self) -> ScenarioResult:
        self.result = result = outcome(self._evidence(), self._failures, self.name, self.file)
        result.teardown, result.notes = list(self.lifecycle.failures), self.network_notes()
        join_spans(self.harness, result)
        if self._on_result is not None:
            self._on_result(result)
        return result

    def _evidence(self) -> Evidence:
        # Read twice at the end (judging, then the result); the lists it holds grow in place.
        made = self._evidence_made
        if made is None or made.started != self.started:
            facts = (self.events, self._expectations, self._orders, self._checks)
            made = self._evidence_made = Evidence(
                self.correlation_id, self.began, self.started, *facts, self._violations,
                self.allow_duplicates,
            )  # fmt: skip
        return made

    # -- declaring -------------------------------------------------------------------------

    def expect(
        self,
        channel: str,
        *,
        type: str | None = None,
        match: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
        where: Callable[[Event], bool] | None = None,
        schema: Any = None,
        within: float | None = None,
        after: Expectation | str | None = None,
        count: int | None = None,
        at_least: int | None = None,
        at_most: int | None = None,
        allow_duplicates: bool = False,
        name: str | None = None,
        collect_queue: bool = False,
        order_slack: float | None = None,
        trace: str | None = None,
    ) -> Expectation:
        """Expect matching events on ``channel`` within the window. Returns a handle.

        With ``after=`` on another broker, receive order only approximates causal order (each
        collector reads with its own latency), so an event seen up to ``order_slack`` seconds
        before ``after``'s event still counts (default: the harness's ``cross_broker_slack``,
        0.25 s; 0 when both names lead to the same broker URL)."""
        check_counts(count, at_least, at_most)
        if order_slack is not None:
            optional_seconds("order_slack", order_slack, allow_zero=True)
        if after is not None:
            after = self.step(after)
            if order_slack is None:
                first = after.channel.partition(":")[0]
                same = self.harness.same_broker(first, channel.partition(":")[0])
                order_slack = 0.0 if same else self.harness.cross_broker_slack
        exp = self._add(
            Expectation,
            channel,
            Matcher(type=type, match=match, fields=fields, where=where),
            within=within,
            after=after,
            count=count,
            at_least=at_least,
            at_most=at_most,
            validator=self.harness.validator(schema) if schema is not None else None,
            allow_duplicates=allow_duplicates,
            order_slack=order_slack or 0.0,
            name=name,
            collect_queue=collect_queue,
            default_name=type or channel,
        )
        if trace is not None and propagated(trace):
            self.expect_propagated(exp)
        return exp

    def expect_none(
        self,
        channel: str,
        *,
        type: str | None = None,
        match: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
        where: Callable[[Event], bool] | None = None,
        during: float | None = None,
        after: Expectation | str | None = None,
        name: str | None = None,
    ) -> Expectation:
        """Expect no matching event on ``channel`` during the window."""
        return self._add(
            Absence,
            channel,
            Matcher(type=type, match=match, fields=fields, where=where),
            within=during,
            after=after,
            name=name,
            default_name=f"no {type or channel}",
        )

    def _add(
        self,
        kind: type[Expectation],
        channel: str,
        matcher: Matcher,
        *,
        within: float | None,
        after: Expectation | str | None,
        name: str | None,
        default_name: str,
        collect_queue: bool = False,
        **options: Any,
    ) -> Expectation:
        parsed = self.harness.channel(channel)
        if within is not None:
            optional_seconds("within" if kind is Expectation else "during", within)
        declared = self._expectations
        exp = kind(
            name=unique_name(name or default_name, {e.name for e in declared}),
            channel=str(parsed),
            matcher=matcher,
            within=within if within is not None else self.default_within,
            after=self.step(after) if after is not None else None,
            **options,
        )
        declared.append(exp)
        self._arming.channel(parsed, consume_queue=collect_queue)
        for event in self.events:  # events that arrived before this expectation was declared
            if event.direction == "in":
                exp.offer(event)
        return exp

    def step(self, ref: Expectation | str) -> Expectation:
        """The expectation named ``ref`` (or ``ref`` itself)."""
        if isinstance(ref, Expectation):
            if ref not in self._expectations:
                raise UsageError(f"step {ref.name!r} belongs to another scenario")
            return ref
        for exp in self._expectations:
            if exp.name == ref:
                return exp
        names = ", ".join(exp.name for exp in self._expectations) or "none yet"
        raise UsageError(f"no step named {ref!r} in scenario {self.name!r} (steps: {names})")

    def correlate(self, value: str) -> None:
        """Claim events that carry ``value`` as a correlation value (e.g. a business key)."""
        value = str(value)
        if value in self._keys:
            return
        self.harness.register(value, self._on_event)
        self._keys.add(value)

    # -- acting ----------------------------------------------------------------------------

    def stub(self, consume: str, **options: Any) -> Stub:
        """A virtual service for this scenario (see :mod:`eventharness.engine.stubs`):
        started at once (armed, like an expectation), stopped when the scenario ends, answering
        only this scenario's events."""
        stub = Stub(self.harness, consume, scope=self._keys, on_sent=self.events.append, **options)
        self._owned.push_async_callback(self._stop, stub)
        self._arming.stub(stub)
        return stub

    async def armed(self) -> None:
        """Return once every expectation and stub declared so far is armed (subscribed,
        running); raise what made that fail. Await it before triggering the system other than
        by ``s.publish`` (HTTP, a command, a database write): publish, eventually,
        first_event and wait do it themselves."""
        self._require_entered()
        await self._arming.wait()

    async def publish(
        self,
        channel: str,
        value: Any,
        *,
        key: str | bytes | None = None,
        headers: Mapping[str, str | bytes] | None = None,
        schema: Any = None,
        partition: int | None = None,
        faults: Sequence[Fault] = (),
        wait: bool = True,
    ) -> Event:
        """Publish one message stamped with the scenario's correlation id and trace context
        (``value`` may be a :class:`~eventharness.model.events.Message`: its key, headers and
        partition unless given). ``faults`` (:mod:`eventharness.engine.faults`) delay, drop,
        duplicate, reorder or corrupt it. A message that violates its schema (``schema``, or
        the channel's) is not sent: the scenario stops with a ``schema`` failure.

        ``wait=False`` returns once the client has the message (Kafka: the producer's batch,
        shared by many with ``linger_ms`` on the URL), acknowledged before judging
        (:mod:`~eventharness.engine.acks`). Publishes with faults always wait."""
        self._require_entered()
        if not self._arming.ready:  # armed already: no await (publish is the hot path)
            await self._arming.wait()
        value, key, headers, partition = unpack(value, key, headers, partition)
        port = self.harness
        parsed = port.channel(channel)
        span = self._trace.publish(parsed) if self._trace is not None else None
        try:
            event, record = compose(
                port,
                parsed,
                value,
                key=key,
                headers=stamp(self.correlation_id, headers, span.traceparent if span else None),
                correlation_id=self.correlation_id,
                schema=schema,
                validate=True,
                partition=partition,
            )
        except Rejected as exc:
            if span is not None:
                span.end(exc.event, "rejected: violates its schema")
            self._sender.unsent(exc.event)
            self._failures.append(exc.failure())
            raise _Abort() from None
        for rule_channel, rule in port.correlation.rules.items():
            found = rule_value(event, rule)
            if found is not None and rule_channel != event.channel:
                self.correlate(found)
        if span is None and not faults:  # the hot path: one await, of the transport
            if wait:
                event.position = await self._sender.publish(parsed, event, record)
            else:
                self._acks.add(event, await self._sender.enqueue(parsed, event, record))
            return event
        sending = self._send(parsed, event, record, faults, wait)
        await (sending if span is None else sent(span, event, sending))
        return event

    async def _send(
        self, parsed: Any, event: Event, record: Any, faults: Sequence[Fault], wait: bool
    ) -> None:
        if faults:
            for fault in check_faults(faults):
                if fault not in self._faults:
                    self._faults.add(fault)
                    self._owned.push_async_callback(fault.aclose)
            await self._sender.send(parsed, event, record, faults)
        elif wait:
            event.position = await self._sender.publish(parsed, event, record)
        else:
            self._acks.add(event, await self._sender.enqueue(parsed, event, record))

    def _require_entered(self) -> None:
        if not self._entered:
            raise UsageError(
                f"scenario {self.name!r} is not running; use `async with harness.scenario(...)`"
            )

    # -- collecting and judging ------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        self.events.append(event)
        for exp in self._expectations:
            exp.offer(event)
        if self.harness.channel_schemas:
            violation = bound_violation(self.harness, event)
            if violation is not None:
                self._violations.append(violation)
        if self._trace is not None:
            self._trace.collected(event)
        event.release_value()  # matched and checked: keep the bytes, decode again on demand
        self._changed.wake()

    async def _wait(self) -> None:
        failed = await until_judged(self._expectations, self.started, self._changed, self._halted)
        if self.settle > 0 and not failed:
            await asyncio.sleep(self.settle)

    def _halted(self) -> bool:  # nothing more to wait for: collection broke, a bad event came
        port = self.harness
        broken = port.collecting_broken() and broken_channels(port, self._expectations)
        return bool(self._violations or broken or port.incidents_during(self.began))

    def _final_checks(self) -> None:
        judge(self.harness, self._evidence(), self._failures, Facts(self), monotonic())
        self._trace_checks()
