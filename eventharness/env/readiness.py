"""Is it up yet? Readiness probes, the wait loop around them, and free ports.

    ok, detail = probe("tcp", "127.0.0.1:8080", timeout=2.0)    # also http, command
    wait_ready(process, check, deadline=..., exited=..., timed_out=...)

A probe answers ``(ok, detail)`` and never raises: ``detail`` says what it saw ("open",
"status 503", "exit 1", the connection error). :func:`wait_ready` polls one while the started
process lives — services (``ready = {tcp = ...}``) and the embedded Kafka (a Metadata request)
both wait this way — and wakes early when the process exits.
"""

from __future__ import annotations

import contextlib
import shlex
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any

from eventharness.env.processes import POLL_INTERVAL_S

__all__ = [
    "Probe",
    "command_ok",
    "free_port",
    "http_ok",
    "probe",
    "tcp_ok",
    "wait_ready",
]

Probe = Callable[[str, float], tuple[bool, str]]


def tcp_ok(target: str, timeout: float) -> tuple[bool, str]:
    """Does ``host:port`` accept a TCP connection?"""
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return True, "open"
    except (OSError, ValueError) as exc:
        return False, str(exc)


def http_ok(target: str, timeout: float) -> tuple[bool, str]:
    """Does the URL answer with a 2xx status?"""
    import httpx

    try:
        response = httpx.get(target, timeout=timeout)
    except httpx.HTTPError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return response.is_success, f"status {response.status_code}"


def command_ok(target: str, timeout: float) -> tuple[bool, str]:
    """Does the command line exit 0?"""
    try:
        done = subprocess.run(
            shlex.split(target),
            capture_output=True,
            text=True,
            timeout=max(timeout, 5.0),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return done.returncode == 0, f"exit {done.returncode}"


PROBES: dict[str, Probe] = {"tcp": tcp_ok, "http": http_ok, "command": command_ok}


def probe(kind: str, target: str, timeout: float) -> tuple[bool, str]:
    """Run the ``kind`` check (tcp, http or command) once."""
    return PROBES[kind](target, timeout)


def wait_ready(
    process: subprocess.Popen[Any],
    check: Callable[[float], tuple[bool, str]],
    *,
    deadline: float,
    exited: Callable[[int], Exception],
    timed_out: Callable[[str], Exception],
    interval: float = POLL_INTERVAL_S,
) -> None:
    """Poll ``check(timeout)`` until it holds while ``process`` runs.

    Raises ``exited(code)`` when the process ends first, ``timed_out(last detail)`` at the
    deadline. Between probes it waits on the process, so an exit ends the wait early."""
    while True:
        code = process.poll()
        if code is not None:
            raise exited(code)
        ok, last = check(max(0.2, min(2.0, deadline - time.monotonic())))
        if ok and process.poll() is None:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise timed_out(last)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(min(interval, remaining))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
