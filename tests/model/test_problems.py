"""The shared wording helpers: the closest known name and the line a value came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventharness.model.problems import closest, line_of


def test_closest_suggests_only_close_names() -> None:
    assert closest("defualt", ["default", "ci"]) == "default"
    assert closest("zzz", ["default", "ci"]) is None
    assert closest(3, []) is None


@dataclass
class Mapped(dict[str, Any]):
    line: int = 0
    lines: dict[str, int] = field(default_factory=dict)


@dataclass
class Listed(list[Any]):
    line: int = 0
    lines: list[int] = field(default_factory=list)


def test_line_of_reads_lines_of_keys_and_items() -> None:
    mapping = Mapped(line=3, lines={"within": 5})
    assert line_of(mapping) == 3
    assert line_of(mapping, "within") == 5
    assert line_of(mapping, "missing") == 3  # the mapping's own line
    listed = Listed(line=7, lines=[8, 9])
    assert line_of(listed, 1) == 9
    assert line_of(listed, 5) == 7
    assert line_of({"plain": 1}, "plain") == 0  # no lines known
