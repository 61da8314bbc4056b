"""A profile's ``services`` table: each service of the system under test (:class:`ServiceConfig`:
its command, env, readiness check, restart policy, proxy), and :class:`ServiceReader`, which
reads it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from eventharness.engine.templates import references
from eventharness.env.table_reader import TableReader, did_you_mean

__all__ = [
    "READY_KINDS",
    "RESTART_POLICIES",
    "SERVICE_KEYS",
    "Readiness",
    "ReadyKind",
    "ServiceConfig",
    "ServiceReader",
]


ReadyKind = Literal["log", "tcp", "http", "command"]
READY_KINDS: tuple[ReadyKind, ...] = ("log", "tcp", "http", "command")

_SERVICE_KEYS = "command cwd env ready start_timeout enabled restart proxy"
SERVICE_KEYS = tuple(_SERVICE_KEYS.split())
RESTART_POLICIES = ("no", "on-failure")


@dataclass(frozen=True)
class Readiness:
    """How to tell a service is ready: a line in its output, a TCP port, an HTTP URL that
    answers 2xx, or a command that exits 0."""

    kind: ReadyKind
    target: str


@dataclass(frozen=True)
class ServiceConfig:
    name: str
    command: list[str]
    cwd: str = "."
    env: dict[str, str] = field(default_factory=dict)
    ready: Readiness | None = None
    start_timeout: float = 60.0
    enabled: bool = True
    restart: str = "no"  # or "on-failure": started again when it exits with a non-zero code
    proxy: bool = False  # its ${brokers.NAME.bootstrap} is a TCP proxy's (faults can be injected)

    def brokers_used(self) -> set[str]:
        """Broker names this service's command, env or readiness refers to."""
        texts: list[Any] = [self.command, self.cwd, self.env]
        if self.ready is not None:
            texts.append(self.ready.target)
        return {
            ref.name.split(".")[1]
            for ref in references(texts)
            if ref.head == "brokers" and "." in ref.name
        }


class ServiceReader(TableReader):
    """Reads a profile's ``[services.NAME]`` tables."""

    def service(self, where: str, name: str, spec: Any) -> ServiceConfig:
        if not isinstance(spec, Mapping):
            raise self.fail(where, "must be a table with command = ... and ready = {...}")
        self.known_keys(where, spec, SERVICE_KEYS, f"a service has: {', '.join(SERVICE_KEYS)}")
        command = spec.get("command")
        if isinstance(command, str):
            try:
                argv = shlex.split(command)
            except ValueError as exc:
                raise self.fail(f"{where}.command", f"cannot split it into words: {exc}") from exc
        elif isinstance(command, list) and all(isinstance(a, str) for a in command):
            argv = list(command)
        else:
            raise self.fail(
                f"{where}.command",
                "is required: a command line (text) or a list "
                'of words, e.g. command = "${python} -m myservice"',
            )
        if not argv:
            raise self.fail(f"{where}.command", "is empty")
        ready = spec.get("ready")
        readiness: Readiness | None = None
        if ready is not None:
            if not isinstance(ready, Mapping) or len(ready) != 1:
                raise self.fail(
                    f"{where}.ready",
                    'must be one check: {log = "text"}, '
                    '{tcp = "host:port"}, {http = "URL"} or {command = "..."}',
                )
            ((kind, target),) = ready.items()
            if kind not in READY_KINDS:
                raise self.fail(
                    f"{where}.ready.{kind}",
                    f"unknown readiness check"
                    f"{did_you_mean(kind, READY_KINDS)}; use one of "
                    f"{', '.join(READY_KINDS)}",
                )
            if not isinstance(target, str) or not target:
                raise self.fail(f"{where}.ready.{kind}", "must be a non-empty text")
            readiness = Readiness(kind, target)
        return ServiceConfig(
            name=name,
            command=argv,
            cwd=str(spec.get("cwd", ".")),
            env=self.strings(f"{where}.env", spec.get("env", {})),
            ready=readiness,
            start_timeout=self.duration(where, spec, "start_timeout", 60.0),
            enabled=self.flag(where, spec, "enabled", True),
            restart=self.restart(where, spec.get("restart", "no")),
            proxy=self.flag(where, spec, "proxy", False),
        )

    def restart(self, where: str, raw: Any) -> str:
        if raw not in RESTART_POLICIES:
            raise self.fail(
                f"{where}.restart", f"must be one of {', '.join(map(repr, RESTART_POLICIES))}"
            )
        return str(raw)
