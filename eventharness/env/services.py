"""One service of the system under test, started as a process and waited on until ready.

Readiness: a ``log`` line is waited for on the service's output pipe (a reader thread copies it
to its log file and wakes the waiter); ``tcp``, ``http`` and ``command`` checks are polled
(:func:`eventharness.env.readiness.wait_ready`) until ``start_timeout``. A service that exits
or never gets ready fails with the tail of its log. Once it runs, one that exits by itself
(not through :meth:`ServiceProcess.stop`) calls its ``on_exit`` hook, from a watcher thread,
with its exit code in the shell's form (:func:`exit_code`: 137 for SIGKILL).
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from eventharness.env.processes import STOP_GRACE_S, process_start, signal_group
from eventharness.env.readiness import probe, wait_ready
from eventharness.env.service_settings import Readiness
from eventharness.model.channels import redact
from eventharness.model.errors import ServiceError

__all__ = [
    "LOG_TAIL_LINES",
    "ServiceError",
    "ServiceProcess",
    "StartError",
    "exit_code",
    "tail",
]

LOG_TAIL_LINES = 20


StartError = ServiceError


class ServiceProcess:
    """One service: its process (own session, so its whole group can be signalled), a reader
    thread copying its output to the log file, and a condition to wait on lines."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        log_path: Path,
        ready: Readiness | None,
        timeout: float,
    ) -> None:
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.log_path = log_path
        self.ready = ready
        self.timeout = timeout
        self._lines: list[str] = []
        self.on_exit: Callable[[ServiceProcess, int], None] | None = None
        self._stopping = False
        self._changed = threading.Condition()
        self._closed = False
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[str] = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed by the reader
        try:
            self.proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                start_new_session=True,
            )
        except OSError as exc:
            self._log.close()
            raise ServiceError(
                f"service {name!r}: cannot run {shlex.join(argv)!r} in {cwd}: {exc}; check "
                "its command and cwd in the profile"
            ) from exc
        self.started = time.monotonic()
        self.start_ticks = process_start(self.proc.pid)
        self._reader = threading.Thread(target=self._read, name=f"log-{name}", daemon=True)
        self._reader.start()
        # The pipe may stay open after the service exits (a child of it holds it): watch the
        # process itself too, so a waiter wakes on the exit, not only on the end of output.
        self._watcher = threading.Thread(target=self._watch, name=f"exit-{name}", daemon=True)
        self._watcher.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                self._log.write(line)
                self._log.flush()
                with self._changed:
                    self._lines.append(line.rstrip("\n"))
                    del self._lines[:-200]
                    self._changed.notify_all()
        finally:
            self._log.close()
            with self._changed:
                self._closed = True
                self._changed.notify_all()

    def _watch(self) -> None:
        self.proc.wait()
        with self._changed:
            self._changed.notify_all()
        hook = self.on_exit
        if hook is not None and not self._stopping:
            self._reader.join(1.0)  # its last lines reach the log first
            hook(self, exit_code(self.proc.returncode))

    @property
    def exited(self) -> int | None:
        """Its exit code (:func:`exit_code`), or None while it runs."""
        code = self.proc.poll()
        return None if code is None else exit_code(code)

    def wait_ready(self) -> None:
        deadline = self.started + self.timeout
        ready = self.ready
        if ready is None:
            self._check_alive()
            return
        if ready.kind == "log":
            self._wait_line(ready.target, deadline)
            return

        def exited(code: int) -> ServiceError:
            self._reader.join(1.0)
            return self._failure(f"exited with code {code} while starting")

        wait_ready(
            self.proc,
            lambda timeout: probe(ready.kind, ready.target, timeout),
            deadline=deadline,
            exited=exited,
            timed_out=lambda last: self._failure(
                f"not ready after {self.timeout:g}s: {ready.kind} {ready.target} ({last})"
            ),
        )

    def _wait_line(self, text: str, deadline: float) -> None:
        with self._changed:
            while not any(text in line for line in self._lines):
                if self._closed or self.proc.poll() is not None:
                    self.proc.wait(STOP_GRACE_S)
                    self._changed.wait(0.2)  # let the reader take the last lines
                    raise self._failure(
                        f"exited with code {self.proc.returncode} before printing {text!r}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._failure(f"did not print {text!r} within {self.timeout:g}s")
                self._changed.wait(remaining)

    def _check_alive(self) -> None:
        code = self.proc.poll()
        if code is not None:
            self._reader.join(1.0)
            raise self._failure(f"exited with code {code} while starting")

    def _failure(self, what: str) -> ServiceError:
        return ServiceError(
            f"service {self.name!r} {what}.\n  command: {shlex.join(self.argv)} (cwd {self.cwd})\n"
            f"  last lines of {self.log_path}:\n{tail(self.log_path)}\n"
            "Fix the service or its settings in the profile ([profiles.*.services."
            f"{self.name}]); raise start_timeout if it is merely slow."
        )

    def stop(self, grace: float = STOP_GRACE_S) -> int | None:
        """SIGTERM to its process group, SIGKILL after ``grace``; its exit code."""
        self._stopping = True
        if self.proc.poll() is None:
            signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(grace)
        else:  # the leader is gone; its group may not be
            signal_group(self.proc.pid, signal.SIGTERM)
        self._reader.join(grace)
        return self.proc.returncode


def exit_code(returncode: int) -> int:
    """A process's exit code as a shell reports it: 128 + the signal for one killed by a
    signal (SIGKILL: 137), else the code it exited with."""
    return 128 - returncode if returncode < 0 else returncode


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` of a log, indented, passwords in URLs redacted."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no log)"
    kept = text.splitlines()[-lines:]
    return "\n".join(f"    {redact(line)}" for line in kept) if kept else "    (log is empty)"
