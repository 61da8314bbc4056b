"""The `eventharness` command as users run it: exit codes 0/1/2, one-line causes without
tracebacks, reports, selection, per-file profiles, doctor, and up/status/down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import AMQP_URL

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "eventharness")

CONFIG = """\
[profiles.default]
brokers = { kafka = "memory://cli", rabbit = "AMQP" }
within = "2s"
schemas = "schemas"

[profiles.other]
brokers = { bus = "memory://other" }
"""

ECHO = """\
name: {name}
vars: {{order_id: "o-${{uuid}}"}}
steps:
  - publish: {{channel: kafka:orders, key: "${{order_id}}",
              value: {{type: OrderPlaced, order_id: "${{order_id}}", total: 42}}}}
  - expect: {{as: seen, channel: kafka:orders, type: {type}, within: 500ms}}
"""


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "eventharness.toml").write_text(CONFIG.replace("AMQP", AMQP_URL))
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "shop.Thing.json").write_text('{"type": "object"}')
    for name, text in files.items():
        path = tmp_path / "scenarios" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


def cli(
    cwd: Path, *args: str, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1", **env},
    )


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_passing_run_exits_0_with_reports(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "a.yaml": ECHO.format(name="echo a", type="OrderPlaced"),
            "b.yaml": ECHO.format(name="echo b", type="OrderPlaced"),
        },
    )
    done = cli(
        root,
        "run",
        "scenarios",
        "--report-json",
        "out/r.json",
        "--junit",
        "out/j.xml",
        "-k",
        "echo",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "profile default" in done.stdout
    assert "brokers: kafka=memory://cli" in done.stdout
    assert "✓ echo a" in done.stdout and "2 passed, 0 failed, 0 errors" in done.stdout
    report = json.loads((root / "out" / "r.json").read_text())
    assert report["summary"]["passed"] == 2
    assert [s["file"] for s in report["scenarios"]] == ["scenarios/a.yaml", "scenarios/b.yaml"]
    assert (root / "out" / "j.xml").read_text().startswith("<?xml")


def test_failing_run_exits_1_with_the_timeline(tmp_path: Path) -> None:
    root = project(tmp_path, {"a.yaml": ECHO.format(name="echo", type="OrderShipped")})
    done = cli(root, "run", "--report-json", "r.json")
    assert done.returncode == 1, done.stdout + done.stderr
    no_traceback(done)
    assert "✗ [timeout] seen: kafka:orders [type=OrderShipped]" in done.stdout
    assert "timeline (t from scenario start, → sent, ← received):" in done.stdout
    assert "type: expected 'OrderShipped', got 'OrderPlaced'" in done.stdout  # nearest miss
    report = json.loads((root / "r.json").read_text())
    assert [(f["kind"], f["step"]) for f in report["scenarios"][0]["failures"]] == [
        ("timeout", "seen")
    ]


def test_unreachable_broker_exits_2_with_one_line(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {"a.yaml": ECHO.format(name="echo", type="OrderPlaced").replace("kafka:", "rabbit:shop/")},
    )
    began = time.monotonic()
    done = cli(
        root, "run", "--broker", "rabbit=amqp://guest:guest@127.0.0.1:1/", "--connect-timeout", "2"
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert time.monotonic() - began < 20
    no_traceback(done)
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, done.stderr
    assert done.stderr.strip().endswith(lines[0])  # the cause is one line, and the last
    assert lines[0].startswith("error: cannot connect to RabbitMQ at amqp://guest:***@127.0.0.1:1/")
    assert "rabbitmq-server -detached" in lines[0]  # the remedy


def test_validate(tmp_path: Path) -> None:
    root = project(tmp_path, {"a.yaml": ECHO.format(name="echo", type="OrderPlaced")})
    done = cli(root, "validate")
    assert done.returncode == 0 and "✓ 1 scenario file" in done.stdout
    (root / "scenarios" / "b.yaml").write_text(
        "name: b\nsteps:\n  - expct: {channel: kafak:orders}\n"
        "  - expect: {channel: kafak:orders, schema: shop.Thin, within: 5 s}\n"
    )
    done = cli(root, "validate", "scenarios")
    assert done.returncode == 2
    no_traceback(done)
    assert "error: 4 problems in scenario files:" in done.stderr
    for line, words in (
        (3, "unknown step kind 'expct'"),
        (4, "broker 'kafak'"),
        (4, "schema 'shop.Thin' not found"),
        (4, "'5 s' is not a duration"),
    ):
        assert f"scenarios/b.yaml:{line}: " in done.stderr and words in done.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    root = project(tmp_path, {"a.yaml": ECHO.format(name="echo", type="OrderPlaced")})
    for args, words in (
        (("run", "-k", "nothing-like-this"), "no scenario matches -k 'nothing-like-this'"),
        (("run", "--profile", "defualt"), "no profile 'defualt' (did you mean 'default'?)"),
        (("run", "missing/"), "missing: no such file or folder"),
        (("run", "--broker", "kafka"), "write name=URL"),
    ):
        done = cli(root, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        no_traceback(done)
        assert words in done.stderr, done.stderr
    (root / "eventharness.toml").write_text("[profiles.default]\nwithin = 'soon'\n")
    done = cli(root, "run")
    assert done.returncode == 2
    assert f"{root / 'eventharness.toml'}: profiles.default.within: 'soon'" in done.stderr


def test_a_file_names_its_profile(tmp_path: Path) -> None:
    other = ECHO.format(name="on the bus", type="OrderPlaced").replace("kafka:", "bus:")
    root = project(
        tmp_path,
        {
            "a.yaml": ECHO.format(name="default one", type="OrderPlaced"),
            "b.yaml": "profile: other\n" + other,
        },
    )
    done = cli(root, "run", "--report-json", "r.json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "profile other" in done.stdout and "brokers: bus=memory://other" in done.stdout
    assert json.loads((root / "r.json").read_text())["summary"]["passed"] == 2


def test_fail_fast(tmp_path: Path) -> None:
    root = project(
        tmp_path, {f"{i}.yaml": ECHO.format(name=f"s{i}", type="Nope") for i in range(3)}
    )
    done = cli(root, "run", "--fail-fast", "--concurrency", "1", "--report-json", "r.json")
    assert done.returncode == 1
    assert len(json.loads((root / "r.json").read_text())["scenarios"]) == 1


def test_shop_scenarios_on_the_memory_broker_fail_but_do_not_crash(tmp_path: Path) -> None:
    done = cli(
        REPO,
        "run",
        "scenarios/shop",
        "-k",
        "schema",
        "--broker",
        "kafka=memory://",
        "--broker",
        "rabbit=memory://",
        "--report-json",
        str(tmp_path / "r.json"),
        "--state-dir",
        str(tmp_path / "state"),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    no_traceback(done)
    assert (
        "service payments not started: it needs broker 'kafka', which is memory://" in done.stdout
    )
    (scenario,) = json.loads((tmp_path / "r.json").read_text())["scenarios"]
    assert scenario["status"] == "failed"
    assert [f["kind"] for f in scenario["failures"]] == ["timeout"]
    assert scenario["events"][0]["direction"] == "out"  # the publish part ran


@pytest.mark.amqp
def test_doctor(tmp_path: Path, amqp_url: str) -> None:
    root = project(tmp_path, {})
    done = cli(root, "doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ broker kafka (memory://cli): in-process memory broker" in done.stdout
    assert (
        "✓ broker rabbit (amqp://guest:***@127.0.0.1:5672/): RabbitMQ connected; logged in "
        "as guest on vhost /" in done.stdout
    )
    assert "✓ schemas" in done.stdout and "1 subject(s) load: shop.Thing" in done.stdout
    done = cli(root, "doctor", "--broker", "rabbit=amqp://guest:guest@127.0.0.1:1/")
    assert done.returncode == 2
    assert "✗ broker rabbit" in done.stdout
    assert "cannot connect to RabbitMQ at amqp://guest:***@127.0.0.1:1/" in done.stdout
    assert "rabbitmq-server -detached" in done.stdout  # the transport's own remedy
    no_traceback(done)
    assert done.stderr.count("\n") == 1, done.stderr  # one line: no client-library noise


def test_up_status_down(tmp_path: Path) -> None:
    root = project(tmp_path, {})
    (root / "eventharness.toml").write_text(
        CONFIG.replace("AMQP", AMQP_URL)
        + textwrap.dedent("""
        [profiles.default.services.sleeper]
        command = ["${python}", "-c",
                   "print('sleeper ready', flush=True); import time; time.sleep(600)"]
        ready = { log = "sleeper ready" }
        """)
    )
    done = cli(root, "up")
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "✓ up in" in done.stdout and "service sleeper" in done.stdout
        done = cli(root, "status")
        assert done.returncode == 0 and "running" in done.stdout
        again = cli(root, "up")
        assert again.returncode == 2 and "already up" in again.stderr
    finally:
        down = cli(root, "down")
    assert down.returncode == 0
    assert "service sleeper" in down.stdout and "stopped" in down.stdout
    assert "nothing is up" in cli(root, "status").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--report-json", "/proc/x.json"],
            "error: --report-json /proc/x.json: cannot be written (No such file or directory); "
            "choose another path",
        ),
        (
            ["--junit", "DIR"],
            "error: --junit DIR: is a folder; give a file name, e.g. DIR/report.xml",
        ),
        (
            ["--broker", "kafak=memory://x"],
            "error: --broker kafak=memory://x: no profile of this run has a broker named "
            "'kafak' and no scenario uses one; did you mean 'kafka'? (brokers: kafka, rabbit)",
        ),
        (
            ["--broker", "kafka=kafak://127.0.0.1:9092"],
            "error: --broker kafka: broker URL kafak://127.0.0.1:9092: no transport for scheme "
            "'kafak'; did you mean kafka://? (known: amqp, amqps, kafka, kafkas, memory)",
        ),
        (
            ["--connect-timeout", "-1"],
            "error: --connect-timeout -1: give a positive number of seconds, e.g. "
            "--connect-timeout 10",
        ),
        (
            ["--connect-timeout", "0"],
            "error: --connect-timeout 0: give a positive number of seconds, e.g. "
            "--connect-timeout 10",
        ),
    ],
)
def test_bad_options_exit_2_before_anything_runs(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """Each is refused up front with one line — never a traceback after an all-pass run, never
    silently ignored."""
    root = project(tmp_path, {"echo.yaml": ECHO.format(name="echo", type="OrderPlaced")})
    args = [a.replace("DIR", str(tmp_path)) for a in args]
    done = cli(root, "run", "scenarios", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == message.replace("DIR", str(tmp_path))
    assert "Traceback" not in done.stderr and "echo" not in done.stdout  # nothing ran


def test_an_unknown_broker_scheme_in_the_config_fails_validate(tmp_path: Path) -> None:
    root = project(tmp_path, {"echo.yaml": ECHO.format(name="echo", type="OrderPlaced")})
    config = root / "eventharness.toml"
    config.write_text(config.read_text().replace('"memory://cli"', '"kafak://127.0.0.1:9092"'))
    done = cli(root, "validate", "scenarios")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: {config}: profiles.default.brokers.kafka: broker URL kafak://127.0.0.1:9092: "
        "no transport for scheme 'kafak'; did you mean kafka://? (known: amqp, amqps, kafka, "
        'kafkas, memory) (or use "embedded" for the built-in Kafka)'
    )


REPO_STYLE = """\
[profiles.default]
brokers = { kafka = "embedded", rabbit = "RABBIT" }
connect_timeout = "5s"

[profiles.default.env]
AMQP_URL = "${brokers.rabbit}"

[profiles.default.services.shipping]
command = ["${python}", "shipping.py", "STARTED"]
ready = { log = "shipping ready" }
"""

SHIPPING = """\
import pathlib, sys, time
pathlib.Path(sys.argv[1]).write_text("started")
print("shipping ready", flush=True)
time.sleep(600)
"""


@pytest.mark.amqp
@pytest.mark.parametrize("command", ["run", "up"])
def test_a_broker_that_refuses_is_the_cause_before_anything_starts(
    tmp_path: Path, amqp_url: str, command: str
) -> None:
    """A wrong RabbitMQ password: the run (or `up`) says so first and exits 2 — it does not
    start embedded Kafka or a service and then report that the service exited."""
    wrong = amqp_url.replace("guest:guest@", "guest:wrong-s3cret@")
    assert wrong != amqp_url
    started = tmp_path / "started.txt"
    root = project(
        tmp_path,
        {"a.yaml": ECHO.format(name="echo", type="OrderPlaced").replace("kafka:", "rabbit:x/")},
    )
    (root / "eventharness.toml").write_text(
        REPO_STYLE.replace("RABBIT", wrong).replace("STARTED", str(started))
    )
    (root / "shipping.py").write_text(SHIPPING)
    done = cli(root, command, "--state-dir", str(tmp_path / "state"), timeout=60)
    try:
        assert done.returncode == 2, done.stdout + done.stderr
        no_traceback(done)
        first = done.stderr.splitlines()[0]
        assert first.startswith("error: "), done.stderr
        assert "ACCESS_REFUSED" in first and "guest" in first, done.stderr
        assert "amqp://guest:***@127.0.0.1:5672/" in first
        assert "wrong-s3cret" not in done.stdout + done.stderr
        assert not started.exists()  # the service was never started
        assert "embedded Kafka" not in done.stdout + done.stderr
    finally:
        if command == "up":
            cli(root, "down", "--state-dir", str(tmp_path / "state"))


def test_doctor_refuses_a_non_positive_connect_timeout(tmp_path: Path) -> None:
    root = project(tmp_path, {})
    done = cli(root, "doctor", "--connect-timeout", "0")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: --connect-timeout 0: give a positive number of seconds, e.g. --connect-timeout 10"
    )
