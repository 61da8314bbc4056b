"""Running scenario files on a harness: one scenario per file, several at once.

    outcomes = await run_files(harness, files, variables={"view": "http://..."}, concurrency=4)

How a file maps onto the engine: every ``expect``/``expect_none``/``order``/``key_order``/
``correlate`` step is declared first, in file order, so expectations are armed before the first
publish wherever they appear; then ``publish``/``eventually``/``check``/``wait`` run in file
order. ``${step.path}`` references are read when the step that uses them runs; a ``publish`` or
``eventually`` that reads a step waits (event-driven) for that step's first event.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fnmatch
import os
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eventharness.engine.faults import Fault
from eventharness.engine.harness import Harness
from eventharness.engine.probes import Probe, command, http_get
from eventharness.engine.scenario import Facts, Scenario
from eventharness.engine.templates import Reference, references, render
from eventharness.files.checks import default_fault
from eventharness.files.generate import expand, has_generate
from eventharness.files.model import (
    Check,
    CommandProbe,
    Correlate,
    Eventually,
    Expect,
    ExpectNone,
    ExpectSpan,
    HttpProbe,
    KeyOrder,
    Lift,
    NetworkStep,
    Order,
    ProbeSpec,
    Publish,
    Recover,
    ScenarioFile,
    SqlProbe,
    Step,
    Wait,
)
from eventharness.files.specs import make_faults, make_response, make_toxic
from eventharness.files.sql import sql_probe
from eventharness.model.errors import BrokerUnavailable, ScenarioFailed, UsageError
from eventharness.model.result import Failure, ScenarioResult

__all__ = [
    "Outcome",
    "make_faults",
    "make_toxic",
    "run_file",
    "run_files",
    "select_files",
    "sql_probe",
]


@dataclass
class Outcome:
    """A file's result, with its ``xfail`` verdict applied: ``status`` is what counts."""

    file: ScenarioFile
    result: ScenarioResult
    broker_down: bool = False

    @property
    def xfail_outcome(self) -> str | None:
        if self.file.xfail is None:
            return None
        if self.result.passed:
            return "xpassed"
        return "xfailed" if self.file.xfail.kind in self.result.kinds else "failed"

    @property
    def status(self) -> str:
        verdict = self.xfail_outcome
        if verdict == "xfailed":
            return "passed"
        if verdict == "xpassed":
            return "failed"
        return self.result.status

    @property
    def failures(self) -> list[Failure]:
        if self.xfail_outcome == "xpassed" and self.file.xfail is not None:
            return [
                Failure(
                    "unexpected",
                    "xfail",
                    f"expected to fail with kind {self.file.xfail.kind!r}, but passed",
                )
            ]
        return list(self.result.failures)

    def to_dict(self) -> dict[str, Any]:
        """The DESIGN §7 shape; ``xfail`` is added only for files that declare it."""
        data = self.result.to_dict()
        data["file"] = self.file.path
        data["status"] = self.status
        data["failures"] = [f.to_dict() for f in self.failures]
        if self.file.xfail is not None:
            data["xfail"] = {"kind": self.file.xfail.kind, "outcome": self.xfail_outcome}
        return data

    def explain(self) -> str:
        text = self.result.explain()
        verdict = self.xfail_outcome
        kind = self.file.xfail.kind if self.file.xfail is not None else ""
        if verdict == "xpassed":
            return f"{text}\n\n✗ [unexpected] xfail: expected to fail with {kind!r}, but passed"
        if verdict == "failed":
            return f"{text}\n\n(xfail expected a failure of kind {kind!r}; it failed otherwise)"
        return text


def select_files(files: list[ScenarioFile], pattern: str | None) -> list[ScenarioFile]:
    """``-k``: a glob when the pattern has ``*?[``, else a case-insensitive substring."""
    if not pattern:
        return list(files)
    if any(ch in pattern for ch in "*?["):
        return [f for f in files if fnmatch.fnmatchcase(f.name.lower(), pattern.lower())]
    return [f for f in files if pattern.lower() in f.name.lower()]


async def run_files(
    harness: Harness,
    files: list[ScenarioFile],
    *,
    variables: Mapping[str, Any] | None = None,
    concurrency: int = 1,
    fail_fast: bool = False,
    on_start: Callable[[ScenarioFile], None] | None = None,
    on_result: Callable[[Outcome], None] | None = None,
    seed: int | None = None,
    run_one: Callable[..., Awaitable[Outcome]] | None = None,
) -> list[Outcome]:
    """Run ``files`` (at most ``concurrency`` at a time) on one harness; outcomes in file
    order. With ``fail_fast`` no new scenario starts after the first failure. ``run_one``:
    what runs one file (default :func:`run_file`; the property runner for ``examples:``)."""
    run_one = run_one or run_file
    gate = asyncio.Semaphore(max(1, concurrency))
    stop = asyncio.Event()
    done: dict[int, Outcome] = {}

    async def one(index: int, file: ScenarioFile) -> None:
        async with gate:
            if stop.is_set():
                return
            if on_start is not None:
                on_start(file)
            outcome = await run_one(harness, file, variables or {}, seed)
            done[index] = outcome
            if outcome.status != "passed" and fail_fast:
                stop.set()
            if on_result is not None:
                on_result(outcome)

    async with asyncio.TaskGroup() as group:
        for index, file in enumerate(files):
            group.create_task(one(index, file))
    return [done[i] for i in sorted(done)]


async def run_file(
    harness: Harness,
    file: ScenarioFile,
    variables: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> Outcome:
    """Run one scenario file; never raises for a failing scenario (the outcome says it).
    ``seed``: what generated values (``$generate``, ``${fake.*}``) are drawn from."""
    scenario = harness.scenario(
        file.name,
        within=file.within,
        settle=file.settle,
        allow_duplicates=file.allow_duplicates,
        file=file.path,
        trace=file.trace,
    )
    broker_down = False
    try:
        async with scenario as s:
            row = {} if file.row is None else {"row": dict(file.row)}
            await _Run(s, file, {**(variables or {}), **row}, seed).run()
    except ScenarioFailed:
        pass
    except BrokerUnavailable:
        broker_down = True
    except Exception:  # the engine recorded it as an "error" result
        if scenario.result is None:
            raise
    result = scenario.result
    if result is None:  # pragma: no cover - the engine always builds one
        result = ScenarioResult(file.name, scenario.correlation_id, "error", file=file.path)
    return Outcome(file, result, broker_down)


class _Pending(Exception):
    """A step reference whose step has no event (yet)."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step


class _Run:
    """One file on one running scenario: variables, stubs, declarations, then actions."""

    def __init__(
        self,
        scenario: Scenario,
        file: ScenarioFile,
        profile_vars: Mapping[str, Any],
        seed: int | None = None,
    ):
        self.s = scenario
        self.seed = random.randrange(2**32) if seed is None else seed
        self.file = file
        self.facts = Facts(scenario)
        self._faults: dict[int, list[Fault]] = {}  # a publish step's faults, by step index
        self.values: dict[str, Any] = dict(profile_vars)
        self.steps: set[str] = {
            s.name for s in file.steps if isinstance(s, Expect | ExpectNone) and s.name
        }
        for name, spec in file.generate.items():  # drawn once; a property run passes its own
            if name not in self.values:
                drawn = expand(self.render(spec), scenario.harness.validator, self.seed)
                self.values[name] = drawn
        for name, raw in file.vars.items():
            self.values[name] = self.render(raw)

    # -- variables -------------------------------------------------------------------------

    def resolve(self, ref: Reference, facts: Facts | None = None) -> Any:
        name = ref.name
        if name == "uuid":
            return uuid.uuid4().hex
        if name == "now":
            return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if name == "correlation_id":
            return self.s.correlation_id
        head, _, path = name.partition(".")
        if head == "env":
            found = os.environ.get(path)
            if found is None:
                if ref.default is None:
                    raise UsageError(f"environment variable {path} is not set")
                return ref.default
            return found
        if head in self.steps:
            try:
                return (facts or self.facts).value(name)
            except LookupError:
                if not self.s.step(head).matched:
                    raise _Pending(head) from None
                raise
        if head in self.values:
            value = self.values[head]
            for part in path.split(".") if path else ():
                value = value[int(part)] if isinstance(value, list) else value[part]
            return value
        if ref.default is not None:
            return ref.default
        raise UsageError(f"undefined variable ${{{ref.text}}}")  # validated before: a bug

    def render(self, value: Any, facts: Facts | None = None) -> Any:
        return render(value, lambda ref: self.resolve(ref, facts))

    async def render_when_ready(self, *values: Any) -> list[Any]:
        """Render, first waiting for every step these values read to have its first event."""
        for ref in references(list(values)):
            if ref.head in self.steps:
                event = await self.s.first_event(ref.head)
                if event is None:
                    raise _Pending(ref.head)
        return [self.render(value) for value in values]

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        variables = {**self.values, "correlation_id": self.s.correlation_id}
        for stub in self.file.stubs:
            self.s.stub(
                str(self.render(stub.consume)),  # channels may hold ${env.X}, ${vars}
                name=stub.name,
                type=stub.type,
                match=stub.match,
                fields=stub.fields,
                respond=[make_response(r, str(self.render(r.channel))) for r in stub.respond],
                faults=make_faults(stub.faults, stub.seed),
                group=stub.group,
                consume_queue=stub.consume_queue,
                variables=variables,
            )
        for value in self.file.correlate:
            self.s.correlate(str(self.render(value)))
        for step in self.file.declarations:
            self.declare(step)
        for step in self.file.actions:
            try:
                await self.act(step)
            except _Pending:
                return  # the step it reads never happened: its own expectation reports that

    def declare(self, step: Step) -> None:
        s = self.s
        match step:
            case Correlate():
                s.correlate(str(self.render(step.value)))
            case Order():
                s.expect_order(*step.steps, name=f"order {' → '.join(step.steps)}")
            case KeyOrder():
                s.expect_key_order(step.step, by=step.by, name=step.name)
            case Expect():
                s.expect(
                    self.render(step.channel),
                    type=self.render(step.type),
                    match=self.render(step.match),
                    fields=self.render(step.fields),
                    schema=step.schema,
                    within=step.within,
                    after=step.after,
                    count=step.count,
                    at_least=step.at_least,
                    at_most=step.at_most,
                    allow_duplicates=step.allow_duplicates,
                    name=step.name,
                    collect_queue=step.collect_queue,
                    trace=step.trace,
                )
            case ExpectSpan():
                s.expect_span(
                    service=self.render(step.service),
                    name=self.render(step.span),
                    attributes=self.render(step.attributes),
                    status=step.status,
                    min_duration=step.min_duration,
                    max_duration=step.max_duration,
                    step_name=step.name,
                )
            case ExpectNone():
                s.expect_none(
                    self.render(step.channel),
                    type=self.render(step.type),
                    match=self.render(step.match),
                    fields=self.render(step.fields),
                    during=step.during,
                    after=step.after,
                    name=step.name,
                )
            case Recover():
                s.expect_recovery(
                    self.render(step.channel),
                    type=self.render(step.type),
                    match=self.render(step.match),
                    fields=self.render(step.fields),
                    fault=step.fault or _label(default_fault(self.file, step)),
                    by=step.by,
                    of=None if step.of is None else [str(self.render(c)) for c in step.of],
                    within=step.within,
                    allow_duplicates=step.allow_duplicates,
                    name=step.name or f"recovery after {step.fault or 'the fault'}",
                )

    async def act(self, step: Step) -> None:
        s = self.s
        match step:
            case Wait():
                await s.wait(step.seconds)
            case Publish():
                await self.publish(step)
            case NetworkStep():
                if step.after is not None and await s.first_event(step.after) is None:
                    return  # never happened: its expectation says so; the fault is not applied
                await s.network_fault(
                    str(self.render(step.service)),
                    make_toxic(step),
                    broker=step.broker,
                    duration=step.duration,
                    name=step.label,
                )
            case Lift():
                for fault in s.network_faults(step.fault):
                    await fault.lift()
            case Eventually():
                await s.eventually(
                    await self.probe(step.probe),
                    within=step.within,
                    interval=step.interval,
                    name=step.name,
                )
            case Check():
                label = step.name or "equal " + " = ".join(map(str, step.equal))
                s.check(self._equal(list(step.equal)), name=label)

    async def publish(self, step: Publish) -> None:
        """A publish step: once, or ``repeat`` times ``every`` seconds apart (``${n}``: 1, ...)."""
        began = asyncio.get_running_loop().time()
        for n in range(1, step.repeat + 1):
            if step.repeat > 1:
                self.values["n"] = n
                pause = began + (n - 1) * step.every - asyncio.get_running_loop().time()
                if pause > 0:
                    await self.s.wait(pause)
            channel, value, key, headers = await self.render_when_ready(
                step.channel, step.value, step.key, step.headers
            )
            if has_generate(value):
                value = expand(value, self.s.harness.validator, self.seed + step.index + n - 1)
            if step.index not in self._faults:  # made once per run: nth counts its messages
                self._faults[step.index] = make_faults(step.faults, step.seed)
            await self.s.publish(
                channel,
                value,
                key=None if key is None else str(key),
                headers={str(k): str(v) for k, v in (headers or {}).items()},
                schema=step.schema,
                partition=step.partition,
                faults=self._faults[step.index],
            )

    async def probe(self, spec: ProbeSpec) -> Probe:
        match spec:
            case HttpProbe():
                url, json, headers = await self.render_when_ready(spec.url, spec.json, spec.headers)
                return http_get(
                    str(url),
                    status=spec.status,
                    json=json,
                    headers={str(k): str(v) for k, v in headers.items()},
                    timeout=spec.timeout,
                )
            case CommandProbe():
                run, contains = await self.render_when_ready(spec.run, spec.contains)
                return command(
                    run if isinstance(run, str) else [str(a) for a in run],
                    expect_exit=spec.exit,
                    timeout=spec.timeout,
                    stdout_contains=None if contains is None else str(contains),
                )
            case SqlProbe():
                url, query, equals = await self.render_when_ready(spec.url, spec.query, spec.equals)
                return sql_probe(str(url), str(query), equals)

    def _equal(self, items: list[Any]) -> Callable[[Facts], bool]:
        def agree(facts: Facts) -> bool:
            try:
                values = [self.render(item, facts) for item in items]
            except _Pending as exc:
                raise LookupError(f"step {exc.step!r} has no matched event") from None
            if all(v == values[0] for v in values[1:]):
                return True
            shown = ", ".join(f"{_plain(i)}={v!r}" for i, v in zip(items, values, strict=True))
            raise AssertionError(f"values differ: {shown}")

        return agree


def _plain(item: Any) -> str:
    """``"${pay.value.amount}"`` → ``pay.value.amount``; literals as written."""
    if (
        isinstance(item, str)
        and item.startswith("${")
        and item.endswith("}")
        and item.count("${") == 1
    ):
        return item[2:-1]
    return repr(item) if isinstance(item, str) else str(item)


def _label(step: NetworkStep | None) -> str | None:
    return None if step is None else step.label
