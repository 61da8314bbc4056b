"""The scenario engine: arms the collector, publishes, waits, judges, builds the result.

    async with harness.scenario("order ships") as s:
        pay = s.expect("kafka:payments", type="PaymentAuthorized", within=5)
        await s.publish("kafka:orders", {"type": "OrderPlaced", "order_id": "o-1"}, key="o-1")
    # leaving the block waits for every expectation, then raises ScenarioFailed if any failed

Waiting is event-driven: each routed event wakes the scenario, which re-judges its
expectations; otherwise it sleeps exactly until the nearest deadline. Only probes poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from eventharness.engine.correlation import rule_value
from eventharness.engine.expectations import Absence, Expectation, InOrder, KeyOrder, identity
from eventharness.engine.matchers import Matcher
from eventharness.engine.probes import Probe, describe_probe, run_probe
from eventharness.model.channels import Channel
from eventharness.model.errors import ScenarioFailed, UsageError
from eventharness.model.events import (
    CORRELATION_HEADER,
    MESSAGE_ID_HEADER,
    TRACEPARENT_HEADER,
    Event,
    Message,
    Record,
    encode_key,
    is_missing,
    lookup,
    make_traceparent,
    monotonic,
    new_correlation_id,
    new_message_id,
)
from eventharness.model.result import Failure, ScenarioResult

if TYPE_CHECKING:
    from eventharness.engine.faults import Fault
    from eventharness.engine.harness import Harness
    from eventharness.engine.stubs import Service, Stub

Check = Callable[["Facts"], Any]


class _Abort(Exception):
    """Stop the scenario body: a failure was recorded that makes going on pointless."""


class Facts:
    """What ``check`` callables see: ``facts[expectation]`` is its first matched event."""

    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario

    def __getitem__(self, step: Expectation | str) -> Event:
        exp = self._scenario.step(step)
        if exp.first is None:
            raise LookupError(f"step {exp.name!r} has no matched event")
        return exp.first

    def all(self, step: Expectation | str) -> list[Event]:
        return list(self._scenario.step(step).matched)

    def value(self, ref: str) -> Any:
        """``"pay.value.amount"``: a path on the first event of step ``pay``."""
        name, _, path = ref.partition(".")
        event = self[name]
        found = lookup(event, path or "value", _NOTHING)
        if found is _NOTHING or is_missing(found):
            raise LookupError(f"{ref!r}: the event of step {name!r} has no {path!r}")
        return found


_NOTHING = object()


class Scenario:
    """One run: its correlation id, its expectations, its timeline. Use ``async with``."""

    def __init__(
        self,
        harness: Harness,
        name: str,
        *,
        correlation_id: str | None = None,
        within: float | None = None,
        allow_duplicates: bool = False,
        settle: float = 0.0,
        file: str | None = None,
    ) -> None:
        self.harness = harness
        self.name = name
        self.correlation_id = correlation_id or new_correlation_id()
        self.default_within = within if within is not None else harness.within
        self.allow_duplicates = allow_duplicates
        self.settle = settle
        self.file = file
        self.events: list[Event] = []
        self.started = 0.0
        self.result: ScenarioResult | None = None
        self._expectations: list[Expectation] = []
        self._orders: list[InOrder | KeyOrder] = []
        self._checks: list[tuple[str, Check]] = []
        self._failures: list[Failure] = []
        self._keys: set[str] = set()
        self._unwatched: dict[str, Channel] = {}
        self._collect_queues: set[str] = set()
        self._waiters: list[asyncio.Future[None]] = []  # woken by every routed event
        self._entered = False
        self._stubs: list[Service] = []  # started before the first publish, stopped at the end
        self._stubs_started = 0
        self._violations: list[tuple[Event, Any, list[Any]]] = []

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Scenario:
        self.started = monotonic()
        self._entered = True
        self.correlate(self.correlation_id)
        self.harness.collector.add_listener(self._wake)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None or isinstance(exc, _Abort):
                if exc is None:
                    await self._arm()
                    await self._wait()
                self._final_checks()
            elif isinstance(exc, AssertionError):
                self._failures.append(Failure("consistency", "assert", str(exc) or "assert"))
            elif not isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
                self._failures.append(
                    Failure("error", self._current_step(), f"{type(exc).__name__}: {exc}")
                )
        finally:
            for service in self._stubs:
                self._failures.extend(await service.stop())
            for key in self._keys:
                self.harness.collector.unregister(key)
            self.harness.collector.remove_listener(self._wake)
        result = self._result()
        if exc is not None and not isinstance(exc, _Abort | AssertionError):
            return  # the original exception propagates; the result says "error"
        if not result.passed:
            raise ScenarioFailed(result) from None

    def _current_step(self) -> str:
        return self._expectations[-1].name if self._expectations else "scenario"

    def _result(self) -> ScenarioResult:
        status = "passed"
        if self._failures:
            status = "error" if all(f.kind == "error" for f in self._failures) else "failed"
        result = ScenarioResult(
            name=self.name,
            correlation_id=self.correlation_id,
            status=status,  # type: ignore[arg-type]
            duration_s=monotonic() - self.started,
            file=self.file,
            failures=list(self._failures),
            events=sorted(self.events, key=lambda ev: (ev.received, ev.seq)),
            started=self.started,
        )
        self.result = result
        self.harness.results.append(result)
        return result

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
    ) -> Expectation:
        """Expect matching events on ``channel`` within the window. Returns a handle.

        With ``after=`` on another broker, receive order only approximates causal order (each
        collector reads with its own latency), so an event seen up to ``order_slack`` seconds
        before ``after``'s event still counts (default: the harness's ``cross_broker_slack``,
        0.25 s; 0 when both names lead to the same broker URL)."""
        _check_counts(count, at_least, at_most)
        if after is not None and order_slack is None:
            first = self.step(after).channel.partition(":")[0]
            same = self.harness.same_broker(first, channel.partition(":")[0])
            order_slack = 0.0 if same else self.harness.cross_broker_slack
        return self._add(
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
        if within is not None and within <= 0:
            raise UsageError(f"within/during must be a positive number of seconds, got {within}")
        exp = kind(
            name=self._unique_name(name or default_name),
            channel=str(parsed),
            matcher=matcher,
            within=within if within is not None else self.default_within,
            after=self.step(after) if after is not None else None,
            **options,
        )
        self._expectations.append(exp)
        if not self.harness.collector.watching(exp.channel):
            self._unwatched[exp.channel] = parsed
            if collect_queue:
                self._collect_queues.add(exp.channel)
        for event in self.events:  # events that arrived before this expectation was declared
            if event.direction == "in":
                exp.offer(event)
        return exp

    def _unique_name(self, name: str) -> str:
        taken = {exp.name for exp in self._expectations}
        if name not in taken:
            return name
        n = 2
        while f"{name}#{n}" in taken:
            n += 1
        return f"{name}#{n}"

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

    def expect_order(self, *steps: Expectation | str, name: str | None = None) -> None:
        """The first events of ``steps`` must arrive in this order."""
        resolved = [self.step(s) for s in steps]
        self._orders.append(InOrder(name or "order", resolved))

    def expect_key_order(
        self, step: Expectation | str, *, by: str, name: str | None = None
    ) -> None:
        """For each key, events of ``step`` arrive in the order the scenario published their
        causes, compared through ``by`` (a path both carry, e.g. ``value.seq``)."""
        exp = self.step(step)
        self._orders.append(
            KeyOrder(name or f"{exp.name} per-key order", exp, by, self._published)
        )

    def _published(self) -> list[Event]:
        return [ev for ev in self.events if ev.direction == "out"]

    def check(self, fn: Check, *, name: str | None = None) -> None:
        """A cross-event consistency check, run once expectations are judged.

        ``fn(facts)`` gets :class:`Facts`; ``facts[pay]`` is the first event of step ``pay``.
        Returning false or raising AssertionError fails the scenario with kind
        ``consistency``."""
        self._checks.append((name or str(getattr(fn, "__name__", "check")), fn))

    def check_equal(self, *items: Any, name: str | None = None) -> None:
        """All items agree. Strings like ``"pay.value.amount"`` are read from step events
        when they start with a step name; anything else is a literal."""
        names = {exp.name for exp in self._expectations}

        def agree(facts: Facts) -> Any:
            values = [
                facts.value(item)
                if isinstance(item, str) and item.partition(".")[0] in names
                else item
                for item in items
            ]
            if all(v == values[0] for v in values[1:]):
                return True
            shown = ", ".join(f"{i}={v!r}" for i, v in zip(items, values, strict=True))
            raise AssertionError(f"values differ: {shown}")

        self._checks.append((name or "equal " + " = ".join(map(str, items)), agree))

    def correlate(self, value: str) -> None:
        """Claim events that carry ``value`` as a correlation value (e.g. a business key)."""
        value = str(value)
        if value in self._keys:
            return
        self.harness.collector.register(value, self._on_event)
        self._keys.add(value)

    # -- acting ----------------------------------------------------------------------------

    def stub(self, consume: str, **options: Any) -> Stub:
        """A virtual service for this scenario (see :mod:`eventharness.engine.stubs`):
        started before the first publish, stopped when the scenario ends, answering only this
        scenario's events."""
        from eventharness.engine.stubs import Stub

        stub = Stub(self.harness, consume, scope=self._keys, on_sent=self.events.append,
                    **options)
        self._stubs.append(stub)
        return stub

    async def _arm(self) -> None:
        """Subscribe to every channel expected so far, before anything is published."""
        while self._stubs_started < len(self._stubs):
            self._stubs_started += 1
            await self._stubs[self._stubs_started - 1].start()
        while self._unwatched:
            name, channel = next(iter(self._unwatched.items()))
            await self.harness.collector.watch(
                channel, consume_queue=name in self._collect_queues
            )
            # another publish of this scenario may have armed it while we waited in watch()
            self._unwatched.pop(name, None)

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
    ) -> Event:
        """Publish one message stamped with the scenario's correlation id and trace context.
        ``faults`` (:mod:`eventharness.engine.faults`) delay, drop, duplicate, reorder or corrupt
        it.

        ``value`` may be a :class:`~eventharness.model.events.Message`, whose key, headers and
        partition are used unless given here."""
        self._require_entered()
        if isinstance(value, Message):
            key = value.key if key is None else key
            headers = {**value.headers, **(headers or {})}
            partition = value.partition if partition is None else partition
            value = value.value
        parsed = self.harness.channel(channel)
        correlation_id = self.correlation_id
        message_id = new_message_id()
        traceparent = make_traceparent(correlation_id)
        text = {
            CORRELATION_HEADER: correlation_id,
            TRACEPARENT_HEADER: traceparent,
            MESSAGE_ID_HEADER: message_id,
        }
        wire = {
            CORRELATION_HEADER: correlation_id.encode(),
            TRACEPARENT_HEADER: traceparent.encode(),
            MESSAGE_ID_HEADER: message_id.encode(),
        }
        for name, given in (headers or {}).items():  # the caller's headers win
            wire[name] = given if isinstance(given, bytes) else given.encode()
            text[name] = _text(given)
        event = Event(
            channel=str(parsed),
            value=value,
            raw=b"",
            key=key.decode(errors="replace") if isinstance(key, bytes) else key,
            headers=text,
            type=value.get("type") if isinstance(value, Mapping) else None,
            correlation_id=correlation_id,
            message_id=text[MESSAGE_ID_HEADER],
            traceparent=text[TRACEPARENT_HEADER],
            direction="out",
        )
        if schema is None and self.harness.channel_schemas:
            schema = self.harness.bound_validator(str(parsed), event.type)
        if schema is not None:  # validated before encoding: Avro cannot encode a bad value
            problems = self.harness.validator(schema).validate(value)
            if problems:
                event.received = monotonic()
                self.events.append(event)
                self._failures.append(
                    Failure(
                        "schema",
                        f"publish {parsed}",
                        f"the scenario's own message violates {_schema_name(schema)!r}; "
                        "it was not sent",
                        tuple(str(p) for p in problems[:10]),
                    )
                )
                raise _Abort()
        event.raw = raw = self.harness.encode(value, schema)
        record = Record(
            value=raw,
            key=encode_key(key),
            headers=wire,
            properties={
                "correlation_id": text[CORRELATION_HEADER],
                "message_id": text[MESSAGE_ID_HEADER],
            },
            partition=partition,
        )
        for rule_channel, rule in self.harness.correlation.rules.items():
            found = rule_value(event, rule)
            if found is not None and rule_channel != event.channel:
                self.correlate(found)
        if self._unwatched or self._stubs_started < len(self._stubs):
            await self._arm()
        if faults:
            from eventharness.engine.faults import publish_with_faults

            await publish_with_faults(self, self._stubs, parsed, record, event, faults)
            return event
        event.received = monotonic()
        event.seq = self.harness.collector.next_seq()
        self.events.append(event)
        event.position = await self.harness.transport(parsed.broker).publish(
            parsed.address, record
        )
        return event

    async def eventually(
        self,
        probe: Probe,
        *,
        within: float | None = None,
        interval: float = 0.1,
        name: str | None = None,
    ) -> bool:
        """Poll ``probe`` until it holds or ``within`` passes. False (and a ``consistency``
        failure carrying the probe's last answer) when it never held."""
        self._require_entered()
        await self._arm()
        window = within if within is not None else self.default_within
        label = name or describe_probe(probe)
        deadline = monotonic() + window
        attempts = 0
        while True:
            attempts += 1
            outcome = await run_probe(probe)
            if outcome.ok:
                return True
            remaining = deadline - monotonic()
            if remaining <= 0:
                self._failures.append(
                    Failure(
                        "consistency",
                        label,
                        f"did not hold within {window:g}s ({attempts} attempts); "
                        f"last: {outcome.detail}",
                    )
                )
                return False
            await asyncio.sleep(min(interval, remaining))

    async def first_event(
        self, step: Expectation | str, *, within: float | None = None
    ) -> Event | None:
        """Wait (event-driven) for the first matched event of ``step``; None when ``within``
        seconds (default: until the end of the step's window) pass first."""
        exp = self.step(step)
        await self._arm()
        if within is None:
            deadline = exp.deadline(self.started)
            end = deadline if deadline is not None else monotonic() + exp.within
        else:
            end = monotonic() + within
        while exp.first is None:
            remaining = end - monotonic()
            if remaining <= 0:
                return None
            await self._until_changed(remaining)
        return exp.first

    async def wait(self, seconds: float) -> None:
        """Let time pass on purpose (a scenario step, not a synchronisation device)."""
        await self._arm()
        await asyncio.sleep(seconds)

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
            self._check_binding(event)
        event.release_value()  # matched and checked: keep the bytes, decode again on demand
        self._wake()

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _until_changed(self, seconds: float) -> None:
        """Sleep until an event is routed to this scenario or ``seconds`` pass.

        A bare future and a timer: no task per wait (``asyncio.wait_for`` makes one), and no
        lost wake-up, since nothing runs between the caller's check and this registration."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(max(0.0, seconds), _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiters.remove(waiter)

    def _check_binding(self, event: Event) -> None:
        """Events on a channel bound to a schema (in the profile) must conform to it."""
        validator = self.harness.bound_validator(event.channel, event.type)
        if validator is None:
            return
        problems = [*([event.decode_error] if event.decode_error else []),
                    *validator.validate(event.value)]
        if problems:
            self._violations.append((event, validator, problems))

    async def _wait(self) -> None:
        while True:
            now = monotonic()
            pending: list[float] = []
            failed = False
            for exp in self._expectations:
                verdict, _ = exp.judge(now, self.started)
                if verdict == "pending":
                    deadline = exp.deadline(self.started)
                    pending.append(deadline if deadline is not None else now + exp.within)
                elif verdict == "failed":
                    failed = True
            broken = self._broken_channels()
            if not pending or failed or broken or self._violations:
                break
            await self._until_changed(min(pending) - now)
        if self.settle > 0 and not failed:
            await asyncio.sleep(self.settle)

    def _broken_channels(self) -> list[str]:
        return [
            exp.channel for exp in self._expectations
            if self.harness.collector.error(exp.channel) is not None
        ]

    def _final_checks(self) -> None:
        now = monotonic()
        still: list[str] = []
        for channel in dict.fromkeys(self._broken_channels()):
            error = self.harness.collector.error(channel)
            self._failures.append(
                Failure("error", channel, f"collecting stopped: {type(error).__name__}: {error}")
            )
        reported: set[str] = set()
        for event, validator, problems in self._violations:
            if event.channel in reported:
                continue
            reported.add(event.channel)
            count = sum(1 for v in self._violations if v[0].channel == event.channel)
            self._failures.append(Failure(
                "schema",
                event.channel,
                f"{count} event(s) on {event.channel} violate {validator.name!r} (bound to the "
                f"channel); first: {event.type or 'event'} key={event.key or '-'} at "
                f"t={event.received - self.started:.3f}s",
                tuple(str(p) for p in problems[:10]),
            ))
        for exp in self._expectations:
            verdict, failure = exp.judge(now, self.started)
            if failure is not None:
                failure = self._with_misses(exp, failure)
                self._failures.append(failure)
            elif verdict == "pending":
                still.append(exp.name)
        if still and self._failures:
            self._failures[-1] = _append_detail(
                self._failures[-1], f"not judged (scenario stopped first): {', '.join(still)}"
            )
        for order in self._orders:
            found = order.judge()
            if found is not None:
                self._failures.append(found)
        self._duplicates()
        if self._failures:  # checks read events of steps that did not hold: only noise now
            if self._checks:
                names = ", ".join(label for label, _ in self._checks)
                self._failures[-1] = _append_detail(
                    self._failures[-1], f"checks not run after this failure: {names}"
                )
            return
        facts = Facts(self)
        for label, fn in self._checks:
            try:
                ok = fn(facts)
            except (LookupError, AssertionError) as exc:
                self._failures.append(Failure("consistency", label, str(exc) or "check failed"))
                continue
            except Exception as exc:
                self._failures.append(
                    Failure("error", label, f"check raised {type(exc).__name__}: {exc}")
                )
                continue
            if not ok:
                self._failures.append(Failure("consistency", label, f"returned {ok!r}"))

    def _duplicates(self) -> None:
        seen: dict[tuple[Any, ...], Event] = {}
        for event in self.events:
            if event.direction != "in":
                continue
            first = seen.setdefault(identity(event), event)
            if first is event:
                continue
            owner = next((e for e in self._expectations
                          if any(m is event for m in e.matched)), None)
            if self.allow_duplicates or (owner is not None and owner.allow_duplicates):
                continue
            how = f"message id {event.message_id}" if event.message_id else "identical payload"
            self._failures.append(
                Failure(
                    "duplicate",
                    owner.name if owner is not None else event.channel,
                    f"{event.channel}: {event.type or 'event'} key={event.key} delivered twice "
                    f"({how}) at t={first.received - self.started:.3f}s and "
                    f"t={event.received - self.started:.3f}s",
                )
            )
            return

    def _with_misses(self, exp: Expectation, failure: Failure) -> Failure:
        """Add the nearest misses: events on the same channel or of the same type."""
        if failure.kind != "timeout":
            return failure
        taken = {id(ev) for ev in exp.matched}
        mine = [
            ev for ev in self.events
            if ev.direction == "in" and id(ev) not in taken
            and (ev.channel == exp.channel or (exp.matcher.type and ev.type == exp.matcher.type))
        ]
        others = self.harness.collector.unrelated(exp.channel)
        scored: list[tuple[int, int, Event, list[str]]] = []
        for origin, pool in ((0, mine), (1, others)):
            for ev in pool[-200:]:
                diffs = exp.matcher.diff(ev) if ev.channel == exp.channel else [
                    f"channel: expected {exp.channel}, got {ev.channel}"
                ]
                if origin:
                    diffs.insert(
                        0,
                        f"correlation: carries {ev.correlation_id or 'no correlation id'}, "
                        f"not this scenario's {self.correlation_id}",
                    )
                scored.append((len(diffs), origin, ev, diffs))
        if not scored:
            detail = [f"no events at all on {exp.channel} during the scenario"]
            if self.harness.collector.watching(exp.channel):
                detail.append("the collector was subscribed; nothing arrived")
            return _append_detail(failure, *detail, _widen_hint(exp))
        scored.sort(key=lambda item: (item[0], item[1]))
        lines = ["nearest misses:"]
        for _, _, ev, diffs in scored[:3]:
            t = ev.received - self.started
            lines.append(f"  t={t:.3f}s {ev.channel} {ev.type or '-'} key={ev.key or '-'}")
            lines.extend(f"      {d}" for d in diffs[:6])
        return _append_detail(failure, *lines, _widen_hint(exp))


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _widen_hint(exp: Expectation) -> str:
    return f"(window {exp.within:g}s: widen it with within=... on this step)"


def _append_detail(failure: Failure, *lines: str) -> Failure:
    return Failure(failure.kind, failure.step, failure.message, (*failure.details, *lines))


def _check_counts(count: int | None, at_least: int | None, at_most: int | None) -> None:
    for label, value in (("count", count), ("at_least", at_least), ("at_most", at_most)):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise UsageError(f"{label} must be a whole number ≥ 0, got {value!r}")
    if count is not None and (at_least is not None or at_most is not None):
        raise UsageError("give either count= or at_least=/at_most=, not both")
    if at_least is not None and at_most is not None and at_least > at_most:
        raise UsageError(f"at_least={at_least} is more than at_most={at_most}")


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _schema_name(schema: Any) -> str:
    return schema if isinstance(schema, str) else getattr(schema, "name", "inline schema")


