"""Where a part of a scenario file was written: :class:`Located` (file, line, the lines of
its keys), the base of every step, stub, fault, probe and action; and :data:`UNSET`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "UNSET",
    "Located",
]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: A key the file does not give, where ``null`` means something else (a response's key).
UNSET: Any = _Unset()


@dataclass(frozen=True, slots=True, kw_only=True)
class Located:
    """Where something was written: its file, its line, the lines of its keys."""

    file: str = ""
    line: int = 0
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def at(self, key: str) -> int:
        """The line of ``key`` (of an ``order`` name), else of the whole thing."""
        return self.lines.get(key, self.line)
