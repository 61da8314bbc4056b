"""What ``eventharness up`` left running, as recorded in ``<state_dir>/state.json``.

    state = read_state(state_dir)          # EnvironmentState, or None when nothing is up
    if state is not None and state.alive():
        state.embedded["kafka"].url        # the embedded broker's URL
    running_state(state_dir, "default")    # the same, only when alive and of that profile

The file is written by the supervisor (:mod:`eventharness.env.supervisor`) once everything is
ready, and read by ``run``, ``status``, ``down``, ``doctor``, ``record`` and ``replay``. Every
process is recorded with its start time, so a pid reused by another process is never taken
for ours (:func:`eventharness.env.processes.is_same`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from eventharness.env.processes import is_same
from eventharness.model.errors import UsageError

__all__ = [
    "STATE_FILE",
    "EmbeddedRecord",
    "EnvironmentState",
    "ProcessRecord",
    "ServiceRecord",
    "read_state",
    "remove_state",
    "running_state",
    "state_path",
    "write_state",
]

STATE_FILE = "state.json"


@dataclass(frozen=True)
class ProcessRecord:
    """A process we started: its pid and its start time (None when unknown)."""

    pid: int
    start: int | None

    def alive(self) -> bool:
        return is_same(self.pid, self.start)


@dataclass(frozen=True)
class ServiceRecord(ProcessRecord):
    """A service of the system under test: its log, command line and readiness check."""

    log: str = ""
    command: str = ""
    ready: str | None = None  # "log text", "tcp host:port", ... as configured


@dataclass(frozen=True)
class EmbeddedRecord:
    """An embedded broker: the URL to reach it, its process (when known) and its log."""

    url: str
    pid: int | None = None
    start: int | None = None
    log: str = ""

    def process(self) -> ProcessRecord | None:
        return ProcessRecord(self.pid, self.start) if self.pid else None


@dataclass(frozen=True)
class EnvironmentState:
    """An environment kept running by ``eventharness up``."""

    profile: str
    run_id: str
    config: str | None = None
    started: str = ""
    embedded: Mapping[str, EmbeddedRecord] = field(default_factory=dict)
    brokers: Mapping[str, str] = field(default_factory=dict)  # passwords redacted
    variables: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[str, ServiceRecord] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)  # service → why not started
    supervisor: ProcessRecord | None = None
    #: ``${otlp}`` of its services: each ``run --no-up`` receives their spans there.
    otlp: str | None = None

    def alive(self) -> bool:
        """Does its supervisor still run (so everything it started is still owned)?"""
        return self.supervisor is not None and self.supervisor.alive()

    def processes(self) -> list[tuple[str, ProcessRecord]]:
        """(label, process) of every recorded process: services, embedded brokers, then the
        supervisor — the order ``down`` stops them in."""
        found: list[tuple[str, ProcessRecord]] = [
            (f"service {name}", svc) for name, svc in self.services.items()
        ]
        for name, broker in self.embedded.items():
            process = broker.process()
            if process is not None:
                found.append((f"broker {name}", process))
        if self.supervisor is not None:
            found.append(("supervisor", self.supervisor))
        return found

    def supervised_by(self, supervisor: ProcessRecord) -> EnvironmentState:
        return replace(self, supervisor=supervisor)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.supervisor is not None:  # a plain {pid, start}, whatever its record type
            data["supervisor"] = {"pid": self.supervisor.pid, "start": self.supervisor.start}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EnvironmentState:
        """Read the JSON form; KeyError/TypeError/ValueError on a malformed one."""
        sup = data.get("supervisor")
        return cls(
            profile=str(data["profile"]),
            run_id=str(data["run_id"]),
            config=data.get("config"),
            started=str(data.get("started", "")),
            embedded={
                str(n): EmbeddedRecord(
                    url=str(b["url"]),
                    pid=int(b["pid"]) if b.get("pid") else None,
                    start=b.get("start"),
                    log=str(b.get("log", "")),
                )
                for n, b in (data.get("embedded") or {}).items()
            },
            brokers={str(k): str(v) for k, v in (data.get("brokers") or {}).items()},
            variables={str(k): str(v) for k, v in (data.get("variables") or {}).items()},
            services={
                str(n): ServiceRecord(
                    pid=int(s["pid"]),
                    start=s.get("start"),
                    log=str(s.get("log", "")),
                    command=str(s.get("command", "")),
                    ready=s.get("ready"),
                )
                for n, s in (data.get("services") or {}).items()
            },
            skipped={str(k): str(v) for k, v in (data.get("skipped") or {}).items()},
            supervisor=ProcessRecord(int(sup["pid"]), sup.get("start")) if sup else None,
            otlp=data.get("otlp") or None,
        )

    @classmethod
    def from_text(cls, text: str) -> EnvironmentState:
        return cls.from_json(json.loads(text))

    def to_text(self) -> str:
        return json.dumps(self.to_json(), indent=2)


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def read_state(state_dir: Path) -> EnvironmentState | None:
    """The recorded environment, None when nothing was recorded."""
    path = state_path(state_dir)
    try:
        return EnvironmentState.from_text(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"{path} is unreadable ({exc}); delete it after checking that no "
            "process it lists still runs"
        ) from exc


def running_state(state_dir: Path, profile: str | None = None) -> EnvironmentState | None:
    """The recorded environment when its supervisor still runs (and, given ``profile``, it
    is of that profile); None otherwise."""
    state = read_state(state_dir)
    if state is None or not state.alive():
        return None
    if profile is not None and state.profile != profile:
        return None
    return state


def write_state(state_dir: Path, state: EnvironmentState) -> None:
    """Write the state file atomically (readers never see half of it)."""
    path = state_path(state_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.to_text())
    tmp.replace(path)


def remove_state(state_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        state_path(state_dir).unlink()
