"""One embedded Kafka shared by the processes of one test run (pytest-xdist workers).

The first process to need it starts it; the others find it through a state file and use the
same broker; the last one out stops it, by its pid::

    shared = SharedKafka(folder, user="gw0")
    url = shared.acquire()        # kafka://127.0.0.1:PORT, started or found
    ...
    shared.release()              # the last user stops the broker

Under ``folder`` (common to the processes, private to the run): ``kafka.lock`` (an exclusive
``flock`` held while the state is read or changed), ``kafka.json`` (``url``, ``pid`` and the
users, each a name and its process id) and ``kafka.log`` (the broker's output). A user whose
process is gone (a crashed worker) is dropped at the next acquire or release, so a crash does
not keep the broker alive after the rest have left.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eventharness.env.embedded import EmbeddedKafka, kafka_metadata_ok
from eventharness.model.channels import parse_broker_url

__all__ = ["SharedKafka"]

_STOP_GRACE_S = 5.0


class SharedKafka:
    """A handle on the run's shared embedded Kafka for one user (a worker)."""

    def __init__(self, folder: str | Path, user: str) -> None:
        self.folder = Path(folder)
        self.user = user
        self._state = self.folder / "kafka.json"
        self._lock = self.folder / "kafka.lock"

    def acquire(self, timeout: float = 15.0) -> str:
        """The broker's URL: the running one, or one started now (this user joins it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._locked():
            state = self._read()
            if state is None or not _answers(state):
                if state is not None:  # left by a run that died: do not leak it
                    _stop(int(state["pid"]), str(state["url"]))
                broker = EmbeddedKafka(log_path=self.folder / "kafka.log")
                url = broker.start(timeout=timeout)
                state = {"url": url, "pid": broker.pid, "users": []}
                broker.detach()  # it outlives this process if others still use it
            users = [u for u in _alive_users(state) if u["name"] != self.user]
            state["users"] = [*users, {"name": self.user, "pid": os.getpid()}]
            self._write(state)
            return str(state["url"])

    def release(self) -> None:
        """Leave; the last user stops the broker (SIGTERM to its pid, then SIGKILL) and
        removes the run's files."""
        with self._locked():
            state = self._read()
            if state is None:
                return
            users = [u for u in _alive_users(state) if u["name"] != self.user]
            if users:
                self._write({**state, "users": users})
                return
            _stop(int(state["pid"]), str(state["url"]))
            self._state.unlink(missing_ok=True)
            (self.folder / "kafka.log").unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the last one out: nobody waits on the lock
            self._lock.unlink()
            self.folder.rmdir()

    def users(self) -> list[str]:
        """The names of the users the state holds (for tests and diagnostics)."""
        state = self._read()
        return [str(u["name"]) for u in state["users"]] if state else []

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = json.loads(self._state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return state

    def _write(self, state: dict[str, Any]) -> None:
        partial = self._state.with_suffix(".json.partial")
        partial.write_text(json.dumps(state), encoding="utf-8")
        partial.replace(self._state)  # a reader never sees half a file


def _alive_users(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [u for u in state.get("users", []) if _running(int(u["pid"]))]


def _answers(state: dict[str, Any]) -> bool:
    if not _running(int(state["pid"])) or not _is_broker(int(state["pid"]), str(state["url"])):
        return False
    host, port = parse_broker_url(str(state["url"])).hosts[0]
    try:
        kafka_metadata_ok(host, port, timeout=2.0)
    except OSError:
        return False
    return True


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an exited child its parent has not reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _is_broker(pid: int, url: str) -> bool:
    """The process is the broker listening on ``url`` (a recycled pid is someone else's)."""
    host, port = parse_broker_url(url).hosts[0]
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"tcp://{host}:{port}".encode() in command


def _stop(pid: int, url: str) -> None:
    """SIGTERM, then SIGKILL after a grace period; the broker may be another process's child,
    so it is watched by its pid, not waited for. Only the broker of ``url`` is signalled."""
    if not _is_broker(pid, url):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + _STOP_GRACE_S
        while time.monotonic() < deadline:
            if not _running(pid):
                return
            time.sleep(0.05)  # polling a process that is not ours to wait for
