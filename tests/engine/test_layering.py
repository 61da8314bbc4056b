"""The engine's modules import one another one way: no cycle, not even through a
``TYPE_CHECKING`` or function-level import, and only the harness knows the harness."""

from __future__ import annotations

import ast
from pathlib import Path

import eventharness.engine

ENGINE = Path(eventharness.engine.__file__).parent
PREFIX = "eventharness.engine."


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in ENGINE.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):  # every level, every branch
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found.update(n[len(PREFIX) :].split(".")[0] for n in names if n.startswith(PREFIX))
        graph[path.stem] = found - {path.stem}
    return graph


def test_no_import_cycle_in_the_engine() -> None:
    graph = _imports()

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cyclic = sorted(m for m in graph if reaches(m, m, set()))
    assert cyclic == []


def test_only_the_harness_knows_the_harness() -> None:
    importers = sorted(m for m, targets in _imports().items() if "harness" in targets)
    assert importers == []
