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
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventharness.engine.probes import Probe, ProbeResult, command, http_get
from eventharness.engine.templates import Reference, parse_duration, references, render
from eventharness.files.loader import ScenarioFile, Step
from eventharness.model.errors import BrokerUnavailable, ScenarioFailed, UsageError
from eventharness.model.result import Failure, ScenarioResult

if TYPE_CHECKING:
    from eventharness.engine.harness import Harness
    from eventharness.engine.scenario import Facts, Scenario

__all__ = ["Outcome", "run_file", "run_files", "select_files"]


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
            return [Failure("unexpected", "xfail", f"expected to fail with kind "
                            f"{self.file.xfail.kind!r}, but passed")]
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
) -> list[Outcome]:
    """Run ``files`` (at most ``concurrency`` at a time) on one harness; outcomes in file
    order. With ``fail_fast`` no new scenario starts after the first failure."""
    gate = asyncio.Semaphore(max(1, concurrency))
    stop = asyncio.Event()
    done: dict[int, Outcome] = {}

    async def one(index: int, file: ScenarioFile) -> None:
        async with gate:
            if stop.is_set():
                return
            if on_start is not None:
                on_start(file)
            outcome = await run_file(harness, file, variables or {})
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
    harness: Harness, file: ScenarioFile, variables: Mapping[str, Any] | None = None
) -> Outcome:
    """Run one scenario file; never raises for a failing scenario (the outcome says it)."""
    scenario = harness.scenario(
        file.name, within=file.within, settle=file.settle,
        allow_duplicates=file.allow_duplicates, file=file.path,
    )
    broker_down = False
    try:
        async with scenario as s:
            await _Run(s, file, variables or {}).run()
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
    """One file on one running scenario: variables, declarations, then actions."""

    def __init__(self, scenario: Scenario, file: ScenarioFile, profile_vars: Mapping[str, Any]):
        from eventharness.engine.scenario import Facts

        self.s = scenario
        self._faults: dict[int, list[Any]] = {}
        self.file = file
        self.facts: Facts = Facts(scenario)
        self.values: dict[str, Any] = dict(profile_vars)
        self.steps: set[str] = {
            s.name for s in file.steps if s.name and s.kind in ("expect", "expect_none")
        }
        for name, raw in file.vars.items():
            self.values[name] = self.render(raw)

    # -- variables -------------------------------------------------------------------------

    def resolve(self, ref: Reference, facts: Facts | None = None) -> Any:
        name = ref.name
        if name == "uuid":
            return uuid.uuid4().hex
        if name == "now":
            return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z")
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

    async def render_when_ready(self, value: Any) -> Any:
        """Render, first waiting for every step this value reads to have its first event."""
        for ref in references(value):
            if ref.head in self.steps:
                event = await self.s.first_event(ref.head)
                if event is None:
                    raise _Pending(ref.head)
        return self.render(value)

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        if self.file.stubs is not None:
            from eventharness.engine.stubs import parse_stub_specs, start_stub_specs

            specs, _ = parse_stub_specs(self.file.stubs.data, self.file.path)
            start_stub_specs(self.s, specs,
                             {**self.values, "correlation_id": self.s.correlation_id})
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
        s, body = self.s, step.body
        if step.kind == "correlate":
            s.correlate(str(self.render(body)))
        elif step.kind == "order":
            s.expect_order(*body, name=f"order {' → '.join(body)}")
        elif step.kind == "key_order":
            s.expect_key_order(body["step"], by=body["by"], name=body.get("as"))
        elif step.kind == "expect":
            s.expect(
                self.render(body["channel"]),
                type=self.render(body.get("type")),
                match=self.render(body.get("match")),
                fields=self.render(body.get("fields")),
                schema=body.get("schema"),
                within=_seconds(body.get("within")),
                after=body.get("after"),
                count=body.get("count"),
                at_least=body.get("at_least"),
                at_most=body.get("at_most"),
                allow_duplicates=bool(body.get("allow_duplicates", False)),
                name=body.get("as"),
                collect_queue=bool(body.get("collect_queue", False)),
            )
        elif step.kind == "expect_none":
            s.expect_none(
                self.render(body["channel"]),
                type=self.render(body.get("type")),
                match=self.render(body.get("match")),
                fields=self.render(body.get("fields")),
                during=_seconds(body.get("during")),
                after=body.get("after"),
                name=body.get("as"),
            )

    def publish_faults(self, step: Step) -> list[Any]:
        """The faults of a ``publish`` step: made once per run of the scenario, so counters
        such as ``nth`` count that step's messages."""
        if "faults" not in step.body:
            return []
        found = self._faults.get(step.index)
        if found is None:
            from eventharness.engine.faults import parse_faults

            seed = step.body.get("seed")
            found = self._faults[step.index] = parse_faults(step.body["faults"], "faults",
                                                            seed=seed)[0]
        return found

    async def act(self, step: Step) -> None:
        s, body = self.s, step.body
        if step.kind == "wait":
            await s.wait(parse_duration(body))
        elif step.kind == "publish":
            rendered = await self.render_when_ready(
                {k: body.get(k) for k in ("channel", "value", "key", "headers")}
            )
            key = rendered["key"]
            await s.publish(
                rendered["channel"],
                rendered["value"],
                key=None if key is None else str(key),
                headers={str(k): str(v) for k, v in (rendered["headers"] or {}).items()},
                schema=body.get("schema"),
                partition=body.get("partition"),
                faults=self.publish_faults(step),
            )
        elif step.kind == "eventually":
            kind = next(k for k in ("http", "command", "sql") if k in body)
            spec = await self.render_when_ready(body[kind])
            probe = _probe(kind, spec)
            await s.eventually(
                probe,
                within=_seconds(body.get("within")),
                interval=_seconds(body.get("interval")) or 0.1,
                name=body.get("as"),
            )
        elif step.kind == "check":
            items = list(body["equal"])
            label = body.get("as") or "equal " + " = ".join(map(str, items))
            s.check(self._equal(items), name=label)

    def _equal(self, items: list[Any]) -> Callable[[Facts], bool]:
        def agree(facts: Facts) -> bool:
            try:
                values = [self.render(item, facts) for item in items]
            except _Pending as exc:
                raise LookupError(f"step {exc.step!r} has no matched event") from None
            if all(v == values[0] for v in values[1:]):
                return True
            shown = ", ".join(
                f"{_plain(i)}={v!r}" for i, v in zip(items, values, strict=True)
            )
            raise AssertionError(f"values differ: {shown}")

        return agree


def _plain(item: Any) -> str:
    """``"${pay.value.amount}"`` → ``pay.value.amount``; literals as written."""
    if isinstance(item, str) and item.startswith("${") and item.endswith("}") and \
            item.count("${") == 1:
        return item[2:-1]
    return repr(item) if isinstance(item, str) else str(item)


def _seconds(value: Any) -> float | None:
    return None if value is None else parse_duration(value)


def _probe(kind: str, spec: Mapping[str, Any]) -> Probe:
    if kind == "http":
        timeout = spec.get("timeout")
        return http_get(
            str(spec["get"]),
            status=int(spec.get("status", 200)),
            json=spec.get("json"),
            headers={str(k): str(v) for k, v in (spec.get("headers") or {}).items()},
            timeout=parse_duration(timeout) if timeout is not None else 5.0,
        )
    if kind == "command":
        timeout = spec.get("timeout")
        run = spec["run"]
        return command(
            run if isinstance(run, str) else [str(a) for a in run],
            expect_exit=int(spec.get("exit", 0)),
            stdout_contains=None if spec.get("contains") is None else str(spec["contains"]),
            timeout=parse_duration(timeout) if timeout is not None else 30.0,
        )
    return sql_probe(str(spec["url"]), str(spec["query"]), spec.get("equals"))


def sql_probe(url: str, query: str, equals: Any = None) -> Probe:
    """A probe running ``query`` on a DB-API database (``sqlite:///path``, ``postgresql://``).

    Holds when ``equals`` matches: a list is compared with all rows (each a list), anything
    else with the first column of the first row. Without ``equals``: when a row comes back."""

    def fetch() -> list[list[Any]]:
        if url.startswith("sqlite:///"):
            connection: Any = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=2.0)
        else:
            try:
                import psycopg  # type: ignore[import-not-found]
            except ImportError as exc:
                raise UsageError("postgresql:// needs psycopg: pip install 'psycopg[binary]'"
                                 ) from exc
            connection = psycopg.connect(url, connect_timeout=5)
        try:
            cursor = connection.cursor()
            cursor.execute(query)
            return [list(row) for row in cursor.fetchall()]
        finally:
            connection.close()

    async def probe() -> ProbeResult:
        try:
            rows = await asyncio.to_thread(fetch)
        except Exception as exc:
            return ProbeResult(False, f"{type(exc).__name__}: {exc}")
        if equals is None:
            return ProbeResult(bool(rows), f"{len(rows)} row(s)")
        if isinstance(equals, list):
            got: Any = rows
            want: Any = [list(r) if isinstance(r, list | tuple) else [r] for r in equals]
        else:
            got = rows[0][0] if rows and rows[0] else None
            want = equals
        return ProbeResult(got == want, f"got {got!r}, want {want!r}"[:300])

    shown = url.split("@")[-1] if "@" in url else url
    probe.description = f"SQL {query!r} on {shown}"  # type: ignore[attr-defined]
    return probe

