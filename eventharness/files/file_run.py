"""One scenario file run on one running scenario (:class:`FileRun`): its variables drawn and
rendered, its stubs started, its declarations made first, then its actions in file order.
:func:`prepare` makes one and adds the file's setup and teardown to the scenario.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import uuid
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from eventharness.data.fake import HEAD as FAKE
from eventharness.data.fake import FakeValues
from eventharness.engine.faults import Fault
from eventharness.engine.probes import Probe, command, http_get
from eventharness.engine.scenario import Facts, Scenario
from eventharness.engine.templates import Reference, references, render
from eventharness.files.chaos_checks import default_fault
from eventharness.files.chaos_steps import Lift, NetworkStep, Recover
from eventharness.files.generate import expand, has_generate
from eventharness.files.lifecycle import file_actions
from eventharness.files.model import ScenarioFile, Step
from eventharness.files.probe_specs import CommandProbe, HttpProbe, ProbeSpec, SqlProbe
from eventharness.files.specs import make_faults, make_response, make_toxic
from eventharness.files.sql import sql_probe
from eventharness.files.steps import (
    Check,
    Correlate,
    Eventually,
    Expect,
    ExpectNone,
    ExpectSpan,
    KeyOrder,
    Order,
    Publish,
    Wait,
)
from eventharness.model.errors import UsageError

__all__ = ["RUN_ID", "FileRun", "prepare"]


#: ``${run.id}`` where no environment gives one (files run from Python): one per process.
RUN_ID = uuid.uuid4().hex[:8]


def prepare(
    scenario: Scenario, file: ScenarioFile, values: Mapping[str, Any], seed: int | None
) -> tuple[Any, Exception | None]:
    """The file's run on ``scenario`` (its variables drawn and rendered), its setup and
    teardown added to the scenario; or what went wrong making it."""
    try:
        run = FileRun(scenario, file, values, seed)
    except Exception as exc:
        return None, exc
    scenario.lifecycle.add(
        setup=file_actions(file.setup, run.render),
        teardown=file_actions(file.teardown, run.render),
    )
    return run, None


class _Pending(Exception):
    """A step reference whose step has no event (yet)."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step


class FileRun:
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
        self.values.setdefault("run", {"id": RUN_ID})  # the session passes the environment's
        self.values.setdefault("vars", dict(profile_vars))
        self.steps: set[str] = {
            s.name for s in file.steps if isinstance(s, Expect | ExpectNone) and s.name
        }
        self.values.setdefault(FAKE, FakeValues(self.seed_of("vars")))
        for name, spec in file.generate.items():  # drawn once; a property run passes its own
            if name not in self.values:
                drawn = expand(self.render(spec), scenario.harness.validator, self.seed_of(name))
                self.values[name] = drawn
        for name, raw in file.vars.items():
            self.values[name] = self.render(raw)

    def seed_of(self, part: str) -> int:
        """The seed of one source of generated values: the run's seed, this scenario (each row
        of a data table is one) and ``part`` (a variable, a step, a stub) — each draws its own."""
        return zlib.crc32(f"{self.seed}:{self.file.name}:{part}".encode())

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
                group=None if stub.group is None else str(self.render(stub.group)),
                consume_queue=stub.consume_queue,
                variables={**variables, FAKE: FakeValues(self.seed_of(f"stub {stub.name}"))},
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
                seed = self.seed_of(f"step {step.index}") + n - 1
                value = expand(value, self.s.harness.validator, seed)
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
