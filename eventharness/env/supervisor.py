"""The long-lived process of ``eventharness up``, and how ``up`` and ``down`` talk to it.

    state = launch_supervisor(config, profile, brokers={}, state_dir=folder, timeout=180)
    ...                                     # the environment keeps running after `up` returns
    bring_down(folder)                      # [("service payments", 31100, "stopped"), ...]

``up`` starts a detached *supervisor* (``python -m eventharness.env.supervisor``) that starts
the environment (:class:`~eventharness.env.environment.Environment`), owns its processes and
records them in ``<state_dir>/state.json`` (:mod:`eventharness.env.state`) — pids with their
start times, so ``down`` never signals a process that merely reuses a recorded pid. It tells
``up`` how it went on its stdout: one ``READY <state json>`` line, or ``FAILED <cause>`` lines.
``down`` stops the supervisor (which stops its children), then any recorded process still
alive. Nothing else is ever signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from eventharness.env.config import Config, Profile, load_config
from eventharness.env.environment import Environment
from eventharness.env.processes import (
    STOP_GRACE_S,
    is_same,
    process_start,
    stop_recorded,
    wait_gone,
)
from eventharness.env.readiness import free_port
from eventharness.env.references import receives_spans
from eventharness.env.services import ServiceError
from eventharness.env.state import (
    EnvironmentState,
    ProcessRecord,
    read_state,
    remove_state,
    write_state,
)
from eventharness.model.errors import EventHarnessError

__all__ = ["MODULE", "bring_down", "launch_supervisor", "supervise"]

MODULE = "eventharness.env.supervisor"  # run as ``python -m`` by launch_supervisor
_READY, _FAILED = "READY ", "FAILED "


def launch_supervisor(
    config: Config,
    profile: Profile,
    *,
    brokers: Mapping[str, str],
    state_dir: Path,
    timeout: float,
) -> EnvironmentState:
    """Start a detached supervisor that starts the environment and keeps it running; return
    its state once everything is ready, or raise ServiceError with its explanation."""
    state_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", MODULE, "--state-dir", str(state_dir), "--profile", profile.name]
    if config.path is not None:
        argv += ["--config", str(config.path)]
    proc = subprocess.Popen(  # broker URLs (with passwords) go through stdin, never argv
        argv,
        cwd=config.root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=open(state_dir / "supervisor.log", "w"),  # noqa: SIM115 - the child keeps it
        start_new_session=True,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    with proc.stdin:
        proc.stdin.write(json.dumps({"brokers": dict(brokers)}) + "\n")
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(_READY):
            proc.stdout.close()
            return EnvironmentState.from_text(line[len(_READY) :])
        lines.append(line.rstrip("\n"))
    if proc.poll() is None:  # it hangs: stop it, and what it started
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_GRACE_S * 3 + 30)
    message = "\n".join(line.removeprefix(_FAILED) for line in lines) or (
        f"the environment did not come up within {timeout:g}s; see {state_dir}/supervisor.log"
    )
    raise ServiceError(message)


def bring_down(state_dir: Path, grace: float = STOP_GRACE_S) -> list[tuple[str, int, str]]:
    """Stop the supervisor (it stops its children), then anything recorded still alive;
    (label, pid, what happened) of each recorded process. A process that had already gone is
    said to be gone — and one whose pid now belongs to another process is left alone, and
    said to be."""
    state = read_state(state_dir)
    if state is None:
        return []
    before = {label: _standing(p.pid, p.start) for label, p in state.processes()}
    sup = state.supervisor
    if sup is not None and before.get("supervisor") == "alive":
        os.kill(sup.pid, signal.SIGTERM)
        wait_gone(sup.pid, sup.start, grace * 3 + 30)
    outcome: list[tuple[str, int, str]] = []
    for label, process in state.processes():
        standing = before[label]
        if standing == "reused":
            what = f"already gone; pid {process.pid} now belongs to another process, left alone"
        elif standing == "gone":
            what = "already gone"
        elif label == "supervisor" or not is_same(process.pid, process.start):
            what = "stopped"  # by SIGTERM, or by the supervisor as it stopped
        else:
            what = stop_recorded(process.pid, process.start, grace)
        outcome.append((label, process.pid, what))
    remove_state(state_dir)
    return outcome


def _standing(pid: int, start: int | None) -> str:
    """``alive`` (the recorded process), ``reused`` (another process has its pid), ``gone``."""
    if is_same(pid, start):
        return "alive"
    return "reused" if process_start(pid) is not None else "gone"


def supervise(argv: list[str]) -> int:
    """The supervisor process of ``eventharness up``: start, report, wait for SIGTERM, stop."""
    import argparse

    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    given = json.loads(sys.stdin.readline() or "{}")  # from launch_supervisor: not in argv
    brokers = {str(k): str(v) for k, v in dict(given.get("brokers") or {}).items()}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    state_dir = Path(args.state_dir)
    env: Environment | None = None
    try:
        config = load_config(args.config)
        profile = config.profile(args.profile)
        services = ((svc.env, svc.command) for svc in profile.services.values())
        # services that export spans get a port now; each `run --no-up` listens on it
        otlp = f"http://127.0.0.1:{free_port()}" if receives_spans(profile.env, services) else None
        env = Environment(config, profile, brokers=brokers, state_dir=state_dir, otlp=otlp)
        env.start()
        me = os.getpid()
        state = env.state().supervised_by(ProcessRecord(me, process_start(me)))
        write_state(state_dir, state)
        print(_READY + json.dumps(state.to_json()), flush=True)
    except EventHarnessError as exc:
        print(_FAILED + str(exc).replace("\n", "\n" + _FAILED), flush=True)
        if env is not None:
            env.stop()
        return 2
    with open(os.devnull, "w") as devnull:  # `up` has gone: never write to its pipe again
        os.dup2(devnull.fileno(), sys.stdout.fileno())
    while not stop.wait(3600):
        pass
    env.stop()
    remove_state(state_dir)
    return 0


if __name__ == "__main__":
    sys.exit(supervise(sys.argv[1:]))
