"""Probes: checks that ``eventually`` polls until they hold or the window closes.

A probe is any callable, sync or async, returning a truthy value when the state is reached.
It may also return a :class:`ProbeResult` to say what it saw, or raise ``AssertionError`` with
that evidence. When the window closes, the failure carries the last thing the probe saw
(a timeout that keeps the evidence).
"""

from __future__ import annotations

import asyncio
import inspect
import shlex
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eventharness.engine.matchers import check_spec, compare
from eventharness.model.durations import check_seconds
from eventharness.model.events import monotonic
from eventharness.model.result import Failure

__all__ = [
    "Probe",
    "ProbeResult",
    "command",
    "describe_probe",
    "http_get",
    "poll",
    "probe_failure",
    "run_probe",
]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    detail: str = ""

    def __bool__(self) -> bool:
        return self.ok


Probe = Callable[[], Any | Awaitable[Any]]


async def run_probe(probe: Probe) -> ProbeResult:
    """Call ``probe`` once; never raises (except cancellation)."""
    try:
        outcome = probe()
        if inspect.isawaitable(outcome):
            outcome = await outcome
    except AssertionError as exc:
        return ProbeResult(False, str(exc) or "assertion failed")
    except Exception as exc:
        return ProbeResult(False, f"{type(exc).__name__}: {exc}")
    if isinstance(outcome, ProbeResult):
        return outcome
    return ProbeResult(bool(outcome), f"returned {outcome!r}"[:300])


async def poll(probe: Probe, *, within: float, interval: float) -> tuple[ProbeResult, int]:
    """Run ``probe`` every ``interval`` seconds until it holds or ``within`` seconds pass:
    its last answer, and how many times it was asked."""
    deadline = monotonic() + within
    attempts = 0
    while True:
        attempts += 1
        outcome = await run_probe(probe)
        remaining = deadline - monotonic()
        if outcome.ok or remaining <= 0:
            return outcome, attempts
        await asyncio.sleep(min(interval, remaining))


def probe_failure(
    probe: Probe, name: str | None, window: float, attempts: int, last: ProbeResult
) -> Failure:
    """The ``consistency`` failure of a probe that never held, with its last answer."""
    return Failure(
        "consistency",
        name or describe_probe(probe),
        f"did not hold within {window:g}s ({attempts} attempts); last: {last.detail}",
    )


def describe_probe(probe: Probe) -> str:
    found = getattr(probe, "description", None) or getattr(probe, "__name__", None)
    return str(found or "probe")


def http_get(
    url: str,
    *,
    status: int = 200,
    json: Any = None,
    timeout: float = 5.0,
    headers: Mapping[str, str] | None = None,
) -> Probe:
    """A probe that GETs ``url`` and holds when the status (and JSON subset) match."""
    check_seconds("timeout", timeout)
    import httpx  # lazy: only scenarios with an HTTP probe pay for importing it

    if json is not None:
        check_spec(json, "json")

    async def probe() -> ProbeResult:
        async with httpx.AsyncClient(timeout=timeout) as client:
            try:
                response = await client.get(url, headers=dict(headers or {}))
            except httpx.HTTPError as exc:
                return ProbeResult(False, f"GET {url}: {type(exc).__name__}: {exc}")
        if response.status_code != status:
            return ProbeResult(
                False,
                f"GET {url}: status {response.status_code} (want {status}) {response.text[:200]!r}",
            )
        if json is None:
            return ProbeResult(True, f"GET {url}: {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            return ProbeResult(False, f"GET {url}: body is not JSON: {response.text[:200]!r}")
        diffs: list[str] = []
        if compare(body, json, "", diffs):
            return ProbeResult(True, f"GET {url}: {body!r}"[:300])
        return ProbeResult(False, f"GET {url}: {'; '.join(diffs)} (body {body!r})"[:500])

    probe.description = f"GET {url}"  # type: ignore[attr-defined]
    return probe


def command(
    cmd: str | list[str],
    *,
    expect_exit: int = 0,
    stdout_contains: str | None = None,
    timeout: float = 30.0,
) -> Probe:
    """A probe that runs a command and holds on the exit code (and text in its output)."""
    check_seconds("timeout", timeout)
    argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)

    async def probe() -> ProbeResult:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
            )
        except OSError as exc:
            return ProbeResult(False, f"cannot run {argv[0]!r}: {exc}")
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return ProbeResult(False, f"{shlex.join(argv)} ran past {timeout:g}s")
        except asyncio.CancelledError:  # the scenario was stopped (Ctrl-C): so is the command
            proc.kill()
            await proc.wait()
            raise
        text = out.decode(errors="replace").strip()
        ok = proc.returncode == expect_exit and (stdout_contains is None or stdout_contains in text)
        return ProbeResult(ok, f"exit {proc.returncode}: {text[-300:]!r}")

    probe.description = f"$ {shlex.join(argv)}"  # type: ignore[attr-defined]
    return probe
