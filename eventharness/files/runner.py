"""Running scenario files on a harness: one scenario per file, several at once.

    outcomes = await run_files(harness, files, variables={"view": "http://..."}, concurrency=4)

How a file maps onto the engine: every ``expect``/``expect_none``/``order``/``key_order``/
``correlate`` step is declared first, in file order, so expectations are armed before the first
publish wherever they appear; then ``publish``/``eventually``/``check``/``wait`` run in file
order. ``${step.path}`` references are read when the step that uses them runs; a ``publish`` or
``eventually`` that reads a step waits (event-driven) for that step's first event. One file's
run is :class:`eventharness.files.file_run.FileRun`; what it gives,
:class:`eventharness.files.outcome.Outcome`.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from eventharness.engine.harness import Harness
from eventharness.files.file_run import prepare
from eventharness.files.model import ScenarioFile
from eventharness.files.outcome import Outcome
from eventharness.model.errors import BrokerUnavailable, ScenarioFailed
from eventharness.model.result import ScenarioResult

__all__ = ["run_file", "run_files", "select_files"]


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
        row = {} if file.row is None else {"row": dict(file.row)}
        run, problem = prepare(scenario, file, {**(variables or {}), **row}, seed)
        async with scenario:
            if problem is not None:
                raise problem  # recorded as the scenario's error
            await run.run()
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
