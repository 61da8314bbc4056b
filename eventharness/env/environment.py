"""The environment of a profile: its embedded brokers and the services of the system under test.

    env = Environment(config, profile, state_dir=Path(".eventharness"))
    env.start()          # embedded Kafka, then every service at once; waits for readiness
    ...                  # env.brokers (name → URL), env.variables (the profile's vars)
    env.stop()           # SIGTERM to each process group it started, SIGKILL after a grace period

Readiness: a ``log`` line is waited for on the service's output pipe (a reader thread copies it
to ``<state_dir>/logs/<service>.log`` and wakes the waiter); ``tcp``, ``http`` and ``command``
checks are polled until ``start_timeout``. A service that exits or never gets ready fails the
start with the tail of its log, and everything already started is stopped.

``eventharness up`` keeps an environment running after the command returns: it starts a
*supervisor* (``python -m eventharness.env.environment``) that owns the processes and records
them in ``<state_dir>/state.json`` — pids with their start times, so ``down`` never signals a
process that merely reuses a recorded pid. ``down`` stops the supervisor (which stops its
children), then any recorded process still alive. Nothing else is ever signalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import select
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from eventharness.engine.templates import Reference, references, render
from eventharness.env.config import EMBEDDED, Config, Profile, Readiness, ServiceConfig, load_config
from eventharness.model.channels import parse_broker_url, parse_channel, redact
from eventharness.model.errors import EventHarnessError, UsageError

__all__ = [
    "Environment",
    "ServiceError",
    "StartError",
    "read_state",
    "state_alive",
    "stop_recorded",
]

STOP_GRACE_S = 5.0
POLL_INTERVAL_S = 0.1
LOG_TAIL_LINES = 20
STATE_FILE = "state.json"
Log = Callable[[str], None]


class ServiceError(EventHarnessError):
    """A service or embedded broker could not be started (exit code 2)."""


StartError = ServiceError


def _ignore(_: str) -> None:
    return None


# --- process identity ----------------------------------------------------------------------


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
    return start is not None and process_start(pid) == start


def _wait_gone(pid: int, start: int | None, timeout: float) -> bool:
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


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_recorded(pid: int, start: int | None, grace: float = STOP_GRACE_S) -> str:
    """Stop a recorded process group by pid, only if the pid still is that process."""
    if not is_same(pid, start):
        return "not running"
    _signal_group(pid, signal.SIGTERM)
    if _wait_gone(pid, start, grace):
        return "stopped"
    if is_same(pid, start):
        _signal_group(pid, signal.SIGKILL)
        _wait_gone(pid, start, grace)
        return "killed"
    return "stopped"


# --- services ------------------------------------------------------------------------------


class ServiceProcess:
    """One service: its process (own session, so its whole group can be signalled), a reader
    thread copying its output to the log file, and a condition to wait on lines."""

    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict[str, str],
                 log_path: Path, ready: Readiness | None, timeout: float) -> None:
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.log_path = log_path
        self.ready = ready
        self.timeout = timeout
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._closed = False
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[str] = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed by the reader
        try:
            self.proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
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

    def wait_ready(self) -> None:
        deadline = self.started + self.timeout
        if self.ready is None:
            self._check_alive()
            return
        if self.ready.kind == "log":
            self._wait_line(self.ready.target, deadline)
            return
        probe = {"tcp": _tcp_ok, "http": _http_ok, "command": _command_ok}[self.ready.kind]
        last = ""
        while True:
            self._check_alive()
            ok, last = probe(self.ready.target, max(0.2, min(2.0, deadline - time.monotonic())))
            if ok:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._failure(
                    f"not ready after {self.timeout:g}s: {self.ready.kind} {self.ready.target} "
                    f"({last})"
                )
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(min(POLL_INTERVAL_S, remaining))  # an exit ends the wait early

    def _wait_line(self, text: str, deadline: float) -> None:
        with self._changed:
            while not any(text in line for line in self._lines):
                if self._closed or self.proc.poll() is not None:
                    self.proc.wait(STOP_GRACE_S)
                    self._changed.wait(0.2)  # let the reader take the last lines
                    raise self._failure(f"exited with code {self.proc.returncode} before "
                                        f"printing {text!r}")
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
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(grace)
        else:  # the leader is gone; its group may not be
            _signal_group(self.proc.pid, signal.SIGTERM)
        self._reader.join(grace)
        return self.proc.returncode


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no log)"
    kept = text.splitlines()[-lines:]
    return "\n".join(f"    {redact(line)}" for line in kept) if kept else "    (log is empty)"


def _tcp_ok(target: str, timeout: float) -> tuple[bool, str]:
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return True, "open"
    except (OSError, ValueError) as exc:
        return False, str(exc)


def _http_ok(target: str, timeout: float) -> tuple[bool, str]:
    import httpx

    try:
        response = httpx.get(target, timeout=timeout)
    except httpx.HTTPError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return response.is_success, f"status {response.status_code}"


def _command_ok(target: str, timeout: float) -> tuple[bool, str]:
    try:
        done = subprocess.run(shlex.split(target), capture_output=True, text=True,
                              timeout=max(timeout, 5.0), check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return done.returncode == 0, f"exit {done.returncode}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- the environment -----------------------------------------------------------------------


class Environment:
    """What a profile needs running: embedded brokers and services. Stops only what it started."""

    def __init__(
        self,
        config: Config,
        profile: Profile,
        *,
        brokers: Mapping[str, str] | None = None,
        state_dir: Path | None = None,
        start_services: bool = True,
        run_id: str | None = None,
        log: Log = _ignore,
    ) -> None:
        self.config = config
        self.profile = profile
        self.wanted = {**profile.brokers, **(brokers or {})}
        self.state_dir = (state_dir or config.root / ".eventharness").resolve()
        self.start_services = start_services
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.log = log
        self.brokers: dict[str, str] = {}
        self.embedded: dict[str, Any] = {}
        self.services: dict[str, ServiceProcess] = {}
        self.skipped: dict[str, str] = {}
        self.variables: dict[str, str] = {}
        self._ports: dict[str, int] = {}
        self._stopped = False

    # -- templates -------------------------------------------------------------------------

    def resolve(self, ref: Reference) -> Any:
        parts = ref.name.split(".")
        head = parts[0]
        if head == "run":
            return self.run_id
        if head == "port":
            return self._ports.setdefault(parts[1], free_port())
        if head == "brokers":
            url = self.brokers.get(parts[1]) or self.wanted.get(parts[1], "")
            if url == EMBEDDED:
                raise ServiceError(f"broker {parts[1]!r} is embedded and not started yet")
            if len(parts) > 2:
                return parse_broker_url(url).bootstrap
            return url
        if head == "vars":
            return self.variables[parts[1]]
        if head == "env":
            return os.environ.get(ref.name[4:], ref.default if ref.default is not None else "")
        if head == "python":
            return sys.executable
        if head == "root":
            return str(self.config.root)
        raise UsageError(f"unknown variable ${{{ref.text}}}")

    def render(self, value: Any) -> Any:
        return render(value, self.resolve)

    # -- starting --------------------------------------------------------------------------

    def start(self) -> None:
        """Start embedded brokers, then every service at once; wait until all are ready.
        On any failure, stop what was started and raise ServiceError."""
        try:
            self._start_brokers()
            for name, value in self.profile.vars.items():
                self.variables[name] = str(self.render(value))
            self._start_services()
        except BaseException:
            self.stop()
            raise

    def _start_brokers(self) -> None:
        for name, url in self.wanted.items():
            if url != EMBEDDED:
                self.brokers[name] = url
                continue
            from eventharness.env.embedded import EmbeddedKafka

            self.log(f"starting embedded Kafka for broker {name!r}")
            log_path = self.state_dir / "logs" / f"{name}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            kafka = EmbeddedKafka(log_path=log_path)
            self.embedded[name] = kafka
            try:
                self.brokers[name] = kafka.start()
            except EventHarnessError as exc:
                raise ServiceError(str(exc)) from exc

    def _start_services(self) -> None:
        for svc in self.profile.services.values():
            reason = self._skip_reason(svc)
            if reason:
                self.skipped[svc.name] = reason
                continue
            argv = [str(a) for a in self.render(svc.command)]
            cwd = Path(str(self.render(svc.cwd)))
            cwd = cwd if cwd.is_absolute() else self.config.root / cwd
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            env.update({k: str(v) for k, v in self.render(self.profile.env).items()})
            env.update({k: str(v) for k, v in self.render(svc.env).items()})
            ready = svc.ready
            if ready is not None:
                ready = Readiness(ready.kind, str(self.render(ready.target)))
            self.log(f"starting service {svc.name!r}: {shlex.join(argv)}")
            self.services[svc.name] = ServiceProcess(
                svc.name, argv, cwd, env, self.state_dir / "logs" / f"{svc.name}.log",
                ready, svc.start_timeout,
            )
        for service in self.services.values():
            service.wait_ready()
            self.log(f"service {service.name!r} ready (pid {service.pid}, "
                     f"{time.monotonic() - service.started:.1f}s)")

    def _skip_reason(self, svc: ServiceConfig) -> str | None:
        if not svc.enabled:
            return "disabled in the profile (enabled = false)"
        if not self.start_services:
            return "services not started (--no-services)"
        shared = {
            ref.name.split(".")[1] for ref in references(self.profile.env)
            if ref.head == "brokers" and "." in ref.name
        }
        for broker in sorted(svc.brokers_used() | shared):
            url = self.brokers.get(broker, "")
            if url.startswith("memory://"):
                return f"it needs broker {broker!r}, which is {url} (in-process only)"
        return None

    # -- stopping --------------------------------------------------------------------------

    def stop(self) -> dict[str, str]:
        """Stop services (in reverse), delete cleanup channels, stop embedded brokers.
        Idempotent; returns what happened to each."""
        if self._stopped:
            return {}
        self._stopped = True
        outcome: dict[str, str] = {}
        for name, service in reversed(list(self.services.items())):
            code = service.stop()
            outcome[name] = f"exit {code}"
        problems = self._cleanup()
        for name, kafka in self.embedded.items():
            kafka.stop()
            outcome[name] = "stopped"
        for problem in problems:
            self.log(problem)
        return outcome

    def _cleanup(self) -> list[str]:
        if not self.profile.cleanup or not self.brokers:
            return []
        try:
            channels = [str(self.render(c)) for c in self.profile.cleanup]
        except EventHarnessError as exc:
            return [f"cleanup skipped: {exc}"]
        problems: list[str] = []

        def work() -> None:
            problems.extend(asyncio.run(_delete_channels(channels, self.brokers)))

        thread = threading.Thread(target=work, name="cleanup")
        thread.start()
        thread.join(30.0)
        return problems

    # -- state -----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "profile": self.profile.name,
            "config": str(self.config.path) if self.config.path else None,
            "run_id": self.run_id,
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "embedded": {
                name: {"url": self.brokers[name], "pid": kafka.pid,
                       "start": process_start(kafka.pid) if kafka.pid else None,
                       "log": str(kafka.log_path)}
                for name, kafka in self.embedded.items() if name in self.brokers
            },
            "brokers": {name: redact(url) for name, url in self.brokers.items()},
            "variables": dict(self.variables),
            "services": {
                name: {"pid": svc.pid, "start": svc.start_ticks, "log": str(svc.log_path),
                       "command": shlex.join(svc.argv),
                       "ready": f"{svc.ready.kind} {svc.ready.target}" if svc.ready else None}
                for name, svc in self.services.items()
            },
            "skipped": dict(self.skipped),
        }


async def _delete_channels(channels: list[str], brokers: Mapping[str, str]) -> list[str]:
    from eventharness.transports.base import open_transport

    problems: list[str] = []
    for text in channels:
        try:
            channel = parse_channel(text, known_brokers=brokers)
            url = brokers[channel.broker]
            if url.startswith("memory://"):
                continue
            transport = await open_transport(url, connect_timeout=5.0)
            try:
                await transport.delete_channel(channel.address)
            finally:
                await transport.aclose()
        except EventHarnessError as exc:
            problems.append(f"cleanup of {text}: {exc}")
    return problems


# --- state file (up/down/status) -----------------------------------------------------------


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def read_state(state_dir: Path) -> dict[str, Any] | None:
    path = state_path(state_dir)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is unreadable ({exc}); delete it after checking that no "
                         "process it lists still runs") from exc
    return data if isinstance(data, dict) else None


def state_alive(state: Mapping[str, Any]) -> bool:
    sup = state.get("supervisor") or {}
    return bool(sup) and is_same(int(sup.get("pid", 0)), sup.get("start"))


def processes_of(state: Mapping[str, Any]) -> list[tuple[str, int, int | None]]:
    """(label, pid, start) of every recorded process: services, embedded brokers, supervisor."""
    found: list[tuple[str, int, int | None]] = []
    for name, svc in (state.get("services") or {}).items():
        found.append((f"service {name}", int(svc["pid"]), svc.get("start")))
    for name, broker in (state.get("embedded") or {}).items():
        if broker.get("pid"):
            found.append((f"broker {name}", int(broker["pid"]), broker.get("start")))
    sup = state.get("supervisor")
    if sup:
        found.append(("supervisor", int(sup["pid"]), sup.get("start")))
    return found


def bring_down(state_dir: Path, grace: float = STOP_GRACE_S) -> list[tuple[str, int, str]]:
    """Stop the supervisor (it stops its children), then anything recorded still alive."""
    state = read_state(state_dir)
    if state is None:
        return []
    outcome: list[tuple[str, int, str]] = []
    sup = state.get("supervisor") or {}
    if sup and is_same(int(sup["pid"]), sup.get("start")):
        os.kill(int(sup["pid"]), signal.SIGTERM)
        _wait_gone(int(sup["pid"]), sup.get("start"), grace * 3 + 30)
    for label, pid, start in processes_of(state):
        if label == "supervisor":
            outcome.append((label, pid, "stopped" if not is_same(pid, start) else
                            stop_recorded(pid, start, grace)))
            continue
        result = stop_recorded(pid, start, grace)
        outcome.append((label, pid, "stopped" if result == "not running" else result))
    with contextlib.suppress(FileNotFoundError):
        state_path(state_dir).unlink()
    return outcome


def launch_supervisor(
    config: Config, profile: Profile, *, brokers: Mapping[str, str], state_dir: Path,
    timeout: float,
) -> dict[str, Any]:
    """Start a detached supervisor that starts the environment and keeps it running; return
    its state once everything is ready, or raise ServiceError with its explanation."""
    state_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "eventharness.env.environment", "--state-dir", str(state_dir),
            "--profile", profile.name]
    if config.path is not None:
        argv += ["--config", str(config.path)]
    for name, url in brokers.items():
        argv += ["--broker", f"{name}={url}"]
    proc = subprocess.Popen(
        argv, cwd=config.root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=open(state_dir / "supervisor.log", "w"),  # noqa: SIM115 - the child keeps it
        start_new_session=True, text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("READY "):
            proc.stdout.close()
            state: dict[str, Any] = json.loads(line[6:])
            return state
        lines.append(line.rstrip("\n"))
    if proc.poll() is None:  # it hangs: stop it, and what it started
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_GRACE_S * 3 + 30)
    message = "\n".join(line.removeprefix("FAILED ") for line in lines) or (
        f"the environment did not come up within {timeout:g}s; see {state_dir}/supervisor.log")
    raise ServiceError(message)


def _supervise(argv: list[str]) -> int:
    """The supervisor process of ``eventharness up``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m eventharness.env.environment")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--config")
    parser.add_argument("--broker", action="append", default=[])
    args = parser.parse_args(argv)
    from eventharness.env.config import parse_broker_overrides

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    state_dir = Path(args.state_dir)
    env: Environment | None = None
    try:
        config = load_config(args.config)
        env = Environment(config, config.profile(args.profile),
                          brokers=parse_broker_overrides(args.broker), state_dir=state_dir)
        env.start()
        state = env.state()
        state["supervisor"] = {"pid": os.getpid(), "start": process_start(os.getpid())}
        tmp = state_path(state_dir).with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(state_path(state_dir))
        print("READY " + json.dumps(state), flush=True)
    except EventHarnessError as exc:
        print("FAILED " + str(exc).replace("\n", "\nFAILED "), flush=True)
        if env is not None:
            env.stop()
        return 2
    with open(os.devnull, "w") as devnull:  # `up` has gone: never write to its pipe again
        os.dup2(devnull.fileno(), sys.stdout.fileno())
    while not stop.wait(3600):
        pass
    env.stop()
    with contextlib.suppress(FileNotFoundError):
        state_path(state_dir).unlink()
    return 0


if __name__ == "__main__":
    sys.exit(_supervise(sys.argv[1:]))
