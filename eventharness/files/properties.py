"""Property-based scenarios: one flow over many generated examples, a failure shrunk.

    name: payment amount is the order total
    examples: 50
    generate: {order: {$generate: shop.OrderPlaced, with: {currency: EUR}}}
    steps:
      - publish: {channel: kafka:orders, value: "${order}"}
      - ...

Each example is one run of the file (its own correlation id) with the ``generate:`` variables
drawn by hypothesis. When one fails, ``hypothesis.find`` shrinks the example toward the
smallest that still fails. Every run is a real broker round trip, so shrinking has a budget:
``max_shrinks`` runs and ``shrink_time`` seconds; past it, candidates are no longer run and the
report says it stopped early. Hypothesis runs in a worker thread; each example's flow runs on
the event loop. The result is the run of the smallest failing example, with that example and
the seed that replays it (``--seed``) as its first failure.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Mapping
from typing import Any

from eventharness.data.fake import fake_strategy, faker_name
from eventharness.data.generators import from_schema
from eventharness.engine.harness import Harness
from eventharness.files.generate import KEY
from eventharness.files.model import ScenarioFile
from eventharness.files.outcome import Outcome
from eventharness.files.runner import run_file
from eventharness.model.result import Failure

__all__ = ["run_any", "run_property"]


async def run_any(
    harness: Harness,
    file: ScenarioFile,
    variables: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> Outcome:
    """A plain run, or a property-based one for a file with ``examples:``."""
    if file.examples:
        return await run_property(harness, file, variables, seed)
    return await run_file(harness, file, variables, seed)


class _Search:
    """What the shrinking search has seen: runs by example, the budget, the smallest failure."""

    def __init__(self, file: ScenarioFile) -> None:
        self.file = file
        self.runs: dict[str, Outcome] = {}
        self.examples = 0
        self.shrinks = 0
        self.first_failure: float | None = None
        self.stopped_early = ""
        self.failing: tuple[Mapping[str, Any], Outcome] | None = None

    def over_budget(self) -> bool:
        if self.first_failure is None:
            return False
        if self.shrinks >= self.file.max_shrinks:
            self.stopped_early = f"max_shrinks={self.file.max_shrinks} runs"
        elif time.monotonic() - self.first_failure > self.file.shrink_time:
            self.stopped_early = f"shrink_time={self.file.shrink_time:g}s"
        return bool(self.stopped_early)


def _strategy(harness: Harness, file: ScenarioFile) -> Any:
    from hypothesis import strategies as st  # lazy: only property runs need hypothesis

    parts = {}
    for name, spec in file.generate.items():
        provider = faker_name(spec)
        if provider is not None:
            parts[name] = fake_strategy(provider)
            continue
        overrides = dict(spec.get("with") or {})
        parts[name] = from_schema(harness.validator(spec[KEY]), **overrides).strategy
    return st.fixed_dictionaries(parts)


async def run_property(
    harness: Harness,
    file: ScenarioFile,
    variables: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> Outcome:
    """Run ``file`` over ``file.examples`` examples; shrink the first failure."""
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    seed = random.randrange(2**32) if seed is None else seed
    loop = asyncio.get_running_loop()
    search = _Search(file)
    strategy = _strategy(harness, file)

    def fails(example: dict[str, Any]) -> bool:  # called by hypothesis, in the worker thread
        key = json.dumps(example, sort_keys=True, default=str)
        if key in search.runs:
            return search.runs[key].status != "passed"
        if search.over_budget():
            return False  # not run: the budget is spent
        run = run_file(harness, file, {**(variables or {}), **example}, seed)
        outcome = asyncio.run_coroutine_threadsafe(run, loop).result()
        search.runs[key] = outcome
        if search.first_failure is None:
            search.examples += 1
        else:
            search.shrinks += 1
        if outcome.status != "passed":
            search.first_failure = search.first_failure or time.monotonic()
            search.failing = (example, outcome)
            return True
        return False

    config = settings(
        max_examples=file.examples,
        database=None,
        deadline=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )

    def search_for_failure() -> Any:
        try:
            return find(strategy, fails, settings=config, random=random.Random(seed))
        except NoSuchExample:
            return None

    minimal = await asyncio.to_thread(search_for_failure)
    if minimal is None:
        last = list(search.runs.values())[-1]
        return last
    key = json.dumps(minimal, sort_keys=True, default=str)
    outcome = search.runs[key]
    budget = f"stopped early at {search.stopped_early}" if search.stopped_early else "done"
    shrinking = time.monotonic() - (search.first_failure or time.monotonic())
    shown = json.dumps(minimal, sort_keys=True, default=str)
    outcome.result.failures.insert(
        0,
        Failure(
            outcome.result.failures[0].kind if outcome.result.failures else "error",
            "examples",
            f"fails with the minimal example {shown} (example {search.examples} of "
            f"{file.examples} failed; {search.shrinks} shrink runs, {budget}); "
            f"replay: --seed {seed}",
            (f"shrinking took {shrinking:.2f}s: {search.shrinks} runs after the first failure",),
        ),
    )
    return outcome
