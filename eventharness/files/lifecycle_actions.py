"""The setup and teardown actions of a scenario (docs/data-lifecycle.md): ``sql``, ``http``,
``publish``, outside the scenario's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .located import Located

__all__ = [
    "HttpAction",
    "LifecycleAction",
    "PublishAction",
    "SqlAction",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SqlAction(Located):
    """``- sql: {url, run}``: statements run in one transaction."""

    kind: ClassVar[str] = "sql"
    url: str
    run: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpAction(Located):
    """``- http: {post: URL, json, headers, status, timeout}``."""

    kind: ClassVar[str] = "http"
    method: str
    url: str
    json: Any = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    status: int | None = None  # None: any 2xx
    timeout: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishAction(Located):
    """``- publish: {channel, value, key, headers, schema}``, outside the scenario's clock."""

    kind: ClassVar[str] = "publish"
    channel: str
    value: Any
    key: Any = None
    headers: Mapping[str, Any] | None = None
    schema: str | Mapping[str, Any] | None = None


LifecycleAction = SqlAction | HttpAction | PublishAction
