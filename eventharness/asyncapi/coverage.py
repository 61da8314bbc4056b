"""Which channels a suite of scenario files touches (publishes to, expects on, stubs consume
or answer on): what the integration map's "flows no scenario covers" is judged by.

    names = scenario_channels([Path("scenarios")], aliases={"kafka:orderPlaced": "kafka:orders"})
    covered("rabbit:shipping/shipment.scheduled", names)   # True for "rabbit:${x}/shipment.*"

A scenario's channel covers a channel of the map when they are equal, or when it matches it
with each ``${...}`` standing for any text and the AMQP wildcards for what they bind (``*`` one
word, ``#`` any words).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from eventharness.files.lines import read_yaml
from eventharness.model.errors import UsageError

__all__ = ["covered", "scenario_channels"]

_KEYS = ("channel", "consume")


def scenario_channels(paths: Iterable[Path], aliases: Mapping[str, str] | None = None) -> set[str]:
    """Every channel named in the scenario files under ``paths`` (``${...}`` left as written;
    an alias, a document's ``kafka:{channel id}``, as what it stands for)."""
    aliases = aliases or {}
    found: set[str] = set()
    for path in paths:
        if not path.exists():
            raise UsageError(f"--scenarios {path}: no such file or folder")
        files = sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
        for file in files:
            if file.name == "eventharness.toml":
                continue
            data, problems = read_yaml(file.read_text(encoding="utf-8"), str(file))
            if problems:
                raise UsageError(problems[0])
            for channel in _channels(data):
                found.add(aliases.get(channel, channel))
    return found


def _channels(data: Any) -> Iterator[str]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key in _KEYS and isinstance(value, str):
                yield value
            else:
                yield from _channels(value)
    elif isinstance(data, list):
        for item in data:
            yield from _channels(item)


def covered(channel: str, names: Iterable[str]) -> bool:
    return any(name == channel or _pattern(name).match(channel) for name in names)


def _pattern(name: str) -> re.Pattern[str]:
    out = []
    for part in re.split(r"(\$\{[^}]*\}|[*#])", name):
        if part.startswith("${") or part == "#":
            out.append(".*")
        elif part == "*":
            out.append("[^./]+")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out) + r"\Z")
