"""Process identity and stopping: a pid is only signalled while it is still the process we
started.

A pid is recorded with its start time (clock ticks since boot, from ``/proc/PID/stat``);
:func:`is_same` compares both, so a pid reused by an unrelated process is never signalled.
Processes are started in their own session, so :func:`stop_recorded` signals the whole group:
SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from pathlib import Path

__all__ = [
    "POLL_INTERVAL_S",
    "STOP_GRACE_S",
    "is_same",
    "process_start",
    "signal_group",
    "stop_recorded",
    "wait_gone",
]

STOP_GRACE_S = 5.0
POLL_INTERVAL_S = 0.1


def process_start(pid: int) -> int | None:
    """The start time (clock ticks since boot) of ``pid``, None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    try:
        if fields[0] == "Z":  # a zombie has exited already
            return None
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def is_same(pid: int, start: int | None) -> bool:
    """Is ``pid`` still the process that started at ``start``?"""
    return start is not None and process_start(pid) == start


def wait_gone(pid: int, start: int | None, timeout: float) -> bool:
    """Wait until the (not necessarily child) process is gone; event-driven via pidfd."""
    deadline = time.monotonic() + timeout
    fd = None
    with contextlib.suppress(OSError, AttributeError):
        fd = os.pidfd_open(pid)
    try:
        while is_same(pid, start):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if fd is not None:
                select.select([fd], [], [], remaining)
            else:  # pragma: no cover - kernels without pidfd
                time.sleep(min(POLL_INTERVAL_S, remaining))
        return True
    finally:
        if fd is not None:
            os.close(fd)


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group led by ``pid``; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_recorded(pid: int, start: int | None, grace: float = STOP_GRACE_S) -> str:
    """Stop a recorded process group by pid, only if the pid still is that process."""
    if not is_same(pid, start):
        return "not running"
    signal_group(pid, signal.SIGTERM)
    if wait_gone(pid, start, grace):
        return "stopped"
    if is_same(pid, start):
        signal_group(pid, signal.SIGKILL)
        wait_gone(pid, start, grace)
        return "killed"
    return "stopped"
