"""What an ``eventually`` step polls: an HTTP, command or SQL probe, and :data:`PROBES`,
each class by its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .located import Located

__all__ = [
    "PROBES",
    "CommandProbe",
    "HttpProbe",
    "ProbeSpec",
    "SqlProbe",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpProbe(Located):
    kind: ClassVar[str] = "http"
    url: str
    status: int = 200
    json: Any = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandProbe(Located):
    kind: ClassVar[str] = "command"
    run: str | tuple[str, ...]
    exit: int = 0
    contains: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SqlProbe(Located):
    kind: ClassVar[str] = "sql"
    url: str
    query: str
    equals: Any = None


ProbeSpec = HttpProbe | CommandProbe | SqlProbe
PROBES: dict[str, type[ProbeSpec]] = {c.kind: c for c in (HttpProbe, CommandProbe, SqlProbe)}
