"""The environment: services started with their settings, readiness of each kind, failures with
the log tail, teardown by process group, and `up`/`down` across processes via the state file.

The services here are small Python scripts, so every behaviour is checked on real processes."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from eventharness.engine.templates import Reference
from eventharness.env.config import load_config
from eventharness.env.environment import Environment
from eventharness.env.processes import is_same, process_start, stop_recorded
from eventharness.env.services import ServiceError
from eventharness.env.state import read_state
from eventharness.env.supervisor import bring_down, launch_supervisor
from eventharness.model.channels import parse_broker_url

SERVICE = textwrap.dedent("""\
    import os, socket, subprocess, sys, time, pathlib
    mode = sys.argv[1]
    print("booting", os.environ.get("GREETING"), os.environ.get("PORT"), flush=True)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    pathlib.Path(os.environ["CHILD_FILE"]).write_text(str(child.pid))
    if mode == "crash":
        print("boom: cannot reach the database", flush=True)
        sys.exit(3)
    if mode == "tcp":
        time.sleep(0.3)
        server = socket.socket()
        server.bind(("127.0.0.1", int(os.environ["PORT"])))
        server.listen()
    if mode == "file":
        time.sleep(0.3)
        pathlib.Path(os.environ["FLAG"]).write_text("ok")
    if mode == "log":
        time.sleep(0.2)
        print("svc ready", flush=True)
    time.sleep(600)
    """)


def make_profile(tmp_path: Path, services: str, brokers: str = "{}") -> Path:
    (tmp_path / "svc.py").write_text(SERVICE)
    path = tmp_path / "eventharness.toml"
    path.write_text(
        textwrap.dedent(f"""\
        [profiles.default]
        brokers = {brokers}
        [profiles.default.vars]
        greeting = "hello-${{run.id}}"
        [profiles.default.env]
        GREETING = "${{vars.greeting}}"
        PORT = "${{port.web}}"
        FLAG = "${{root}}/flag-${{run.id}}"
        """)
        + textwrap.dedent(services)
    )
    return path


def service(name: str, mode: str, ready: str, timeout: str = "20s") -> str:
    return f"""
        [profiles.default.services.{name}]
        command = ["${{python}}", "svc.py", "{mode}"]
        env = {{ CHILD_FILE = "${{root}}/{name}.child" }}
        ready = {ready}
        start_timeout = "{timeout}"
        """


def environment(tmp_path: Path, config_path: Path, **options: object) -> Environment:
    config = load_config(config_path)
    return Environment(config, config.profile(), state_dir=tmp_path / ".eh", **options)  # type: ignore[arg-type]


def child_of(tmp_path: Path, name: str) -> tuple[int, int | None]:
    pid = int((tmp_path / f"{name}.child").read_text())
    return pid, process_start(pid)


def test_each_readiness_kind_and_teardown_by_group(tmp_path: Path) -> None:
    path = make_profile(
        tmp_path,
        service("logged", "log", '{ log = "svc ready" }')
        + service("tcp", "tcp", '{ tcp = "127.0.0.1:${port.web}" }')
        + service("file", "file", '{ command = "test -f ${root}/flag-${run.id}" }'),
    )
    env = environment(tmp_path, path)
    began = time.monotonic()
    try:
        env.start()
        assert set(env.services) == {"logged", "tcp", "file"}
        assert time.monotonic() - began < 15
        log = (tmp_path / ".eh" / "logs" / "logged.log").read_text()
        port = env.resolve(Reference("port.web"))
        assert f"booting hello-{env.run_id} {port}" in log
        assert env.variables == {"greeting": f"hello-{env.run_id}"}
        children = {name: child_of(tmp_path, name) for name in env.services}
        assert all(is_same(pid, start) for pid, start in children.values())
    finally:
        outcome = env.stop()
    assert outcome == {name: f"exit {-signal.SIGTERM}" for name in ("file", "tcp", "logged")}
    for pid, start in children.values():  # the services' own children went with their group
        deadline = time.monotonic() + 5
        while is_same(pid, start) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not is_same(pid, start)


def test_a_crashing_service_fails_the_start_with_its_log(tmp_path: Path) -> None:
    path = make_profile(
        tmp_path,
        service("good", "log", '{ log = "svc ready" }')
        + service("bad", "crash", '{ log = "svc ready" }'),
    )
    env = environment(tmp_path, path)
    with pytest.raises(ServiceError) as caught:
        env.start()
    message = str(caught.value)
    assert "service 'bad' exited with code 3 before printing 'svc ready'" in message
    assert "boom: cannot reach the database" in message
    assert str(tmp_path / ".eh" / "logs" / "bad.log") in message
    assert "start_timeout" in message
    good = env.services["good"].proc
    assert good.poll() is not None  # the one that did start was stopped


def test_a_service_that_never_gets_ready_times_out(tmp_path: Path) -> None:
    path = make_profile(tmp_path, service("slow", "none", '{ log = "svc ready" }', "1s"))
    env = environment(tmp_path, path)
    began = time.monotonic()
    with pytest.raises(ServiceError, match=r"did not print 'svc ready' within 1s"):
        env.start()
    assert time.monotonic() - began < 10
    assert env.services["slow"].proc.poll() is not None


def test_services_needing_a_memory_broker_are_skipped(tmp_path: Path) -> None:
    path = make_profile(
        tmp_path,
        """
        [profiles.default.services.worker]
        command = "${python} svc.py log"
        env = { BOOTSTRAP = "${brokers.kafka.bootstrap}", CHILD_FILE = "x" }
        """,
        brokers='{ kafka = "embedded" }',
    )
    env = environment(tmp_path, path)
    env.wanted["kafka"] = "memory://x"
    env.start()
    try:
        assert env.services == {}
        assert "needs broker 'kafka', which is memory://x" in env.skipped["worker"]
        assert env.embedded == {}
    finally:
        env.stop()


def test_up_and_down_across_processes(tmp_path: Path, amqp_url: str) -> None:
    path = make_profile(tmp_path, service("svc", "log", '{ log = "svc ready" }'))
    config = load_config(path)
    state_dir = tmp_path / ".eh"
    secret = amqp_url  # a real broker: `up` checks each broker before it starts anything
    password = (parse_broker_url(secret).password or "").encode()
    assert password
    state = launch_supervisor(
        config, config.profile(), brokers={"rabbit": secret}, state_dir=state_dir, timeout=60
    )
    try:
        assert read_state(state_dir) == state
        assert state.alive()
        assert state.supervisor is not None  # its command line (what `ps` shows) has no secret
        argv = Path(f"/proc/{state.supervisor.pid}/cmdline").read_bytes().split(b"\0")
        assert b"eventharness.env.supervisor" in b" ".join(argv)
        assert not any(password in arg for arg in argv)
        pid, start = state.services["svc"].pid, state.services["svc"].start
        assert is_same(pid, start)
        child = child_of(tmp_path, "svc")
    finally:
        outcome = bring_down(state_dir)
    assert [label for label, _, _ in outcome] == ["service svc", "supervisor"]
    assert all(what == "stopped" for _, _, what in outcome), outcome
    assert not is_same(pid, start)
    assert not is_same(*child)
    assert read_state(state_dir) is None


def test_up_reports_a_failing_service(tmp_path: Path) -> None:
    path = make_profile(tmp_path, service("bad", "crash", '{ log = "svc ready" }'))
    config = load_config(path)
    with pytest.raises(ServiceError, match="exited with code 3"):
        launch_supervisor(
            config, config.profile(), brokers={}, state_dir=tmp_path / ".eh", timeout=60
        )
    assert read_state(tmp_path / ".eh") is None


def test_a_reused_pid_is_never_signalled() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        start = process_start(proc.pid)
        assert start is not None
        assert stop_recorded(proc.pid, start + 1) == "not running"  # another process's record
        assert proc.poll() is None
        assert stop_recorded(proc.pid, start) == "stopped"
        assert proc.wait(5) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def test_down_says_what_became_of_each_process(tmp_path: Path) -> None:
    """A recorded process already gone is "already gone"; one whose pid another process has
    taken is left alone and said to be — never "stopped"."""
    from eventharness.env.state import ProcessRecord, ServiceRecord, write_state
    from tests.env.test_state import a_state

    other = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        start = process_start(other.pid)
        assert start is not None
        state = dataclasses.replace(
            a_state(ProcessRecord(gone.pid, 1)),
            embedded={},
            services={
                "svc": ServiceRecord(
                    pid=other.pid, start=start + 1, log="l", command="svc", ready="log"
                )
            },
        )
        write_state(tmp_path, state)
        outcome = bring_down(tmp_path)
        assert outcome == [
            (
                "service svc",
                other.pid,
                f"already gone; pid {other.pid} now belongs to another process, left alone",
            ),
            ("supervisor", gone.pid, "already gone"),
        ]
        assert other.poll() is None  # never signalled
        assert read_state(tmp_path) is None
    finally:
        other.kill()
        other.wait()
