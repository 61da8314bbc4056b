"""Shards of a suite for CI matrices: ``eventharness run --shard K/N``.

Every machine of a matrix loads the same scenario files and keeps its own share, so the
shares must be the same everywhere: a scenario's place depends only on its file path
(relative, with ``/``) and its name, hashed with SHA-256 — never on the order files were
found in, the machine, ``PYTHONHASHSEED`` or the time. Together the N shares hold every
scenario exactly once.

Without durations the scenarios, ordered by hash, are dealt round-robin (shard sizes differ by
at most one). With durations (``--durations-from REPORT.json``, a JSON report of an earlier
run, or several merged) the longest go first, each to the shard with the least time so far
(ties: the lower shard); a scenario the report does not know counts as the median known one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from eventharness.files.model import ScenarioFile
from eventharness.model.errors import ConfigError

__all__ = ["Shard", "durations_from", "parse_shard", "scenario_key", "shard_files"]


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``total``."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(text: str) -> Shard:
    """``"2/3"`` → ``Shard(2, 3)``; anything else is a :class:`ConfigError` saying the form."""
    index, slash, total = text.strip().partition("/")
    try:
        shard = Shard(int(index), int(total))
    except ValueError:
        shard = Shard(0, 0)
    if not slash or shard.total < 1 or not 1 <= shard.index <= shard.total:
        raise ConfigError(
            f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. --shard 1/3 (the first of 3)"
        )
    return shard


def _relative(path: str) -> str:
    pure = Path(path)
    if pure.is_absolute():
        with contextlib.suppress(ValueError):  # outside the working folder: kept absolute
            pure = pure.resolve().relative_to(Path.cwd().resolve())
    return PurePath(os.path.normpath(pure)).as_posix()


def scenario_key(file: ScenarioFile) -> str:
    """The scenario's identity across machines: ``path/relative/to/cwd.yaml::name``."""
    return f"{_relative(file.path)}::{file.name}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def shard_files(
    files: Sequence[ScenarioFile],
    shard: Shard,
    durations: Mapping[str, float] | None = None,
) -> list[ScenarioFile]:
    """The files of ``shard``, in their original order."""
    ranked = sorted(files, key=lambda f: (_digest(scenario_key(f)), scenario_key(f)))
    if not durations:
        mine = {id(f) for i, f in enumerate(ranked) if i % shard.total == shard.index - 1}
        return [f for f in files if id(f) in mine]
    known = [durations[k] for k in map(scenario_key, files) if k in durations]
    default = statistics.median(known) if known else 1.0
    cost = {id(f): durations.get(scenario_key(f), default) for f in files}
    ranked.sort(key=lambda f: -cost[id(f)])  # stable: equal costs keep the hash order
    loads = [0.0] * shard.total
    mine = set()
    for file in ranked:
        target = min(range(shard.total), key=lambda i: (loads[i], i))
        loads[target] += cost[id(file)]
        if target == shard.index - 1:
            mine.add(id(file))
    return [f for f in files if id(f) in mine]


def durations_from(path: Path) -> dict[str, float]:
    """Scenario key → seconds, from a JSON report (``--report-json`` or ``report merge``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        scenarios = data["scenarios"]
        found = {
            f"{_relative(str(s['file']))}::{s['name']}": float(s["duration_s"]) for s in scenarios
        }
    except OSError as exc:
        raise ConfigError(
            f"--durations-from {path}: cannot be read ({exc.strerror or exc}); give the JSON "
            "report of an earlier run (--report-json)"
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"--durations-from {path}: not a JSON report of eventharness run (expected "
            '{"scenarios": [{"file", "name", "duration_s"}]}); give the file --report-json wrote'
        ) from exc
    return found
