"""A private RabbitMQ node for tests that restart their broker.

The shared RabbitMQ on 5672 is never touched: each node has its own name
(``eh-chaos-<random>@localhost``), its own AMQP and distribution ports, its own data and log
folders in a temporary directory, and no plugins. :meth:`PrivateRabbit.stop_app` and
:meth:`PrivateRabbit.start_app` restart the broker application (``rabbitmqctl -n NODE``);
:meth:`PrivateRabbit.stop` ends the node by its pid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

__all__ = ["PrivateRabbit", "rabbit_available"]

_START_TIMEOUT_S = 120.0


def rabbit_available() -> str | None:
    """Why a private node cannot be started here, or None when it can."""
    for tool in ("rabbitmq-server", "rabbitmqctl"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH (apt-get install rabbitmq-server)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _give_to_rabbitmq(base: Path) -> None:
    try:
        import pwd

        user = pwd.getpwnam("rabbitmq")
    except (ImportError, KeyError):
        return
    if os.geteuid() != 0:
        return
    for path in (base, *base.rglob("*")):
        os.chown(path, user.pw_uid, user.pw_gid)


class PrivateRabbit:
    """One RabbitMQ node of this test run only."""

    def __init__(self) -> None:
        self.name = f"eh-chaos-{uuid.uuid4().hex[:8]}@localhost"
        self.port = _free_port()
        self.dist_port = _free_port()
        self.base = Path(tempfile.mkdtemp(prefix="eh-chaos-rabbit-"))
        plugins = self.base / "enabled_plugins"
        plugins.write_text("[].\n")
        for folder in ("mnesia", "log"):
            (self.base / folder).mkdir()
        _give_to_rabbitmq(self.base)  # rabbitmq-server run as root drops to that user
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            "RABBITMQ_PID_FILE": str(self.base / "node.pid"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "none"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "none-advanced.config"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(self.base / "feature_flags"),
            "ERL_CRASH_DUMP": str(self.base / "erl_crash.dump"),
        }
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self) -> str:
        """Start the node and wait until it accepts AMQP connections; its URL."""
        log = open(self.base / "server.out", "ab")  # noqa: SIM115 - the node owns it
        self._process = subprocess.Popen(
            ["rabbitmq-server"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.base,
        )
        log.close()
        self._ctl("await_startup", timeout=_START_TIMEOUT_S)
        return self.url

    def stop_app(self) -> None:
        self._ctl("stop_app")

    def start_app(self) -> None:
        self._ctl("start_app")
        self._ctl("await_startup")

    def _ctl(self, *args: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            done = subprocess.run(
                ["rabbitmqctl", "-n", self.name, *args],
                env=self.env,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
            if done.returncode == 0:
                return
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"RabbitMQ node {self.name} exited: {self.log_tail()}")
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"rabbitmqctl {' '.join(args)} on {self.name} failed: "
                    f"{done.stderr.decode(errors='replace')[-500:]}"
                )
            time.sleep(0.5)  # polling an external tool, not synchronising a test

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.base / "server.out").read_text(errors="replace")[-1500:]
        return ""

    def stop(self) -> None:
        """End the node: ``rabbitmqctl stop``, then whatever still runs under its name is
        signalled by process group. The groups are found by the node's name in the processes'
        environment, not by the script's pid: Debian's ``rabbitmq-server`` runs the node
        through ``su``, which starts a session (a process group) of its own. Then remove the
        node's folders."""
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                subprocess.run(
                    ["rabbitmqctl", "-n", self.name, "stop"],
                    env=self.env,
                    capture_output=True,
                    timeout=30,
                    check=False,
                )
            groups = {process.pid, *_groups_of_node(self.name)}
            for sig, patience in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
                alive = [g for g in groups if _signal_group(g, sig)]
                if all(_group_gone(g, patience) for g in alive):
                    break
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1)  # reap the script
        shutil.rmtree(self.base, ignore_errors=True)


def _groups_of_node(name: str) -> set[int]:
    """Process groups of the processes whose environment names node ``name``."""
    marker = f"RABBITMQ_NODENAME={name}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.add(os.getpgid(int(entry.name)))
        except (OSError, ProcessLookupError):
            continue  # gone meanwhile, or not ours to read
    return found


def _signal_group(group: int, sig: signal.Signals) -> bool:
    """Signal every process of ``group``; False when none is left."""
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        return False
    return True


def _group_gone(group: int, patience: float) -> bool:
    """Whether every process of ``group`` has ended within ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)  # polling the kernel for a group that has no event to wait on
    return False
