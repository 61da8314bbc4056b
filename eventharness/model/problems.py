"""Wording problems in what people wrote: the closest known name, the line a value came from.

    closest("defualt", ["default", "ci"])      # 'default' (None when nothing is close)
    line_of(mapping, "within")                  # the line of mapping["within"], 0 when unknown

``line_of`` reads any container that carries its lines: a ``line`` attribute (where it starts)
and ``lines`` (per key of a mapping, per index of a list) — as the scenario-file loader's
mappings and lists do. Both are pure helpers, shared by the config reader, the scenario-file
loader and the stub specs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["closest", "line_of"]


def closest(word: object, options: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The option most like ``word``, None when none is close enough to suggest."""
    found = difflib.get_close_matches(str(word), list(options), n=1, cutoff=cutoff)
    return found[0] if found else None


def line_of(container: Any, key: Any = None) -> int:
    """The line of ``container[key]`` (or of the container itself), 0 when unknown."""
    line = getattr(container, "line", 0)
    if key is not None:
        lines = getattr(container, "lines", None)
        if isinstance(lines, Mapping):
            return int(lines.get(key, line))
        if isinstance(lines, list) and isinstance(key, int) and 0 <= key < len(lines):
            return int(lines[key])
    return int(line) if isinstance(line, int) else 0
