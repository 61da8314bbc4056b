"""``eventharness watch`` as users run it: rounds, one webhook per failing round (and on a flaky
streak, and on recovery), ``/metrics`` read by prometheus-client's parser, Ctrl-C (exit 130,
nothing left running), bad options (exit 2 before anything starts), and a real RabbitMQ."""

from __future__ import annotations

import re
import signal
import socket
from pathlib import Path

import pytest

from tests.cli.test_cli import cli, no_traceback, project
from tests.cli.watching import (
    Receiver,
    WatchProcess,
    gone,
    lines_with,
    metrics_of,
    sometimes,
    steady,
    wait_for_file,
)
from tests.conftest import unique

SLEEPER = """\
import os, pathlib, sys, time
pathlib.Path(sys.argv[1]).write_text(str(os.getpid()))
print("sleeper ready", flush=True)
time.sleep(600)
"""


@pytest.fixture
def receiver() -> object:
    found = Receiver()
    yield found
    found.close()


def with_sleeper(root: Path, pid_file: Path) -> None:
    """Give the profile a service: what watch starts, and must stop."""
    (root / "sleeper.py").write_text(SLEEPER)
    with (root / "eventharness.toml").open("a") as config:
        config.write(
            "\n[profiles.default.services.sleeper]\n"
            f'command = ["${{python}}", "sleeper.py", "{pid_file}"]\n'
            'ready = { log = "sleeper ready" }\n'
        )


def test_exactly_one_webhook_per_failing_round_and_one_on_a_flaky_streak(
    tmp_path: Path, receiver: Receiver
) -> None:
    flip, _ = sometimes(tmp_path, "PFFPFP")
    root = project(tmp_path, {"a.yaml": steady(), "b.yaml": flip})
    done = cli(
        root,
        "watch",
        "scenarios",
        "--every",
        "10ms",
        "--rounds",
        "6",
        "--metrics-port",
        "0",
        "--flaky-after",
        "3",
        "--alert-webhook",
        receiver.url(),
    )
    no_traceback(done)
    assert done.returncode == 1, done.stdout + done.stderr  # a round failed
    rounds = list(lines_with(done.stdout, "round "))
    assert [line.split(":")[0] for line in rounds] == [f"round {n}" for n in range(1, 7)]
    failing_rounds = [n for n, line in enumerate(rounds, 1) if " failed" in line]
    assert failing_rounds == [2, 3, 5], done.stdout
    texts = receiver.wait_for(5)
    failures = [t for t in texts if re.search(r"round \d+ failed", t)]
    assert [re.search(r"round (\d+) failed", t)[1] for t in failures] == ["2", "3", "5"]  # type: ignore[index]
    for text in failures:
        assert "1 of 2 scenarios" in text
        assert "• sometimes fails [consistency] flip: did not hold within" in text
        assert "steady flow" not in text
        assert "hunter2" not in text and "probe:***@" in text  # the password stays out
    recovered = [t for t in texts if "passing again" in t]
    assert recovered == [
        "eventharness watch: round 4: passing again: sometimes fails (failing since round 2)"
    ]
    flaky = [t for t in texts if "flaky" in t]
    assert len(flaky) == 1 and "(round 6)" in flaky[0] and "3 times in a row" in flaky[0]
    assert len(texts) == 5  # one per failing round, one recovery, one flaky streak
    assert receiver.paths == ["/hook/T0KEN"] * 5
    assert "T0KEN" not in done.stdout + done.stderr  # the webhook's secret path is not shown


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_metrics_then_ctrl_c_stops_everything_and_exits_130(
    tmp_path: Path, receiver: Receiver, stop: signal.Signals
) -> None:
    flip, counter = sometimes(tmp_path, "PFFH")  # round 4 hangs until Ctrl-C
    root = project(tmp_path, {"a.yaml": steady(), "b.yaml": flip})
    sleeper_pid = tmp_path / "sleeper.pid"
    with_sleeper(root, sleeper_pid)
    watch = WatchProcess(
        root, "scenarios", "--every", "10ms", "--metrics-port", "0", "-v",
        "--alert-webhook", receiver.url(),
    )  # fmt: skip
    try:
        header = watch.until("metrics at ")
        url = re.search(r"metrics at (http://\S+/metrics)", header)[1]  # type: ignore[index]
        watch.until("round 3:")
        hanging = int(wait_for_file(Path(f"{counter}.pid")))  # round 4 runs its probe
        found = metrics_of(url)
        watch.proc.send_signal(stop)  # Ctrl-C, or a service manager's stop
        out, err = watch.finish()
    finally:
        watch.kill()

    def value(name: str, **labels: str) -> float:
        return found[(name, tuple(sorted(labels.items())))]

    assert value("eventharness_watch_rounds_total", result="passed") == 1
    assert value("eventharness_watch_rounds_total", result="failed") == 2
    runs = "eventharness_watch_scenario_runs_total"
    assert value(runs, scenario="steady flow", status="passed") == 3
    assert value(runs, scenario="sometimes fails", status="passed") == 1
    assert value(runs, scenario="sometimes fails", status="failed") == 2
    assert (
        value("eventharness_watch_failures_total", scenario="sometimes fails", kind="consistency")
        == 2
    )
    assert value("eventharness_watch_scenario_passing", scenario="sometimes fails") == 0
    assert value("eventharness_watch_scenario_passing", scenario="steady flow") == 1
    hop = {"source": "kafka:orders", "target": "kafka:payments"}
    assert value("eventharness_watch_hop_latency_seconds_count", **hop) == 3
    assert 0 < value("eventharness_watch_hop_latency_seconds_sum", **hop) < 15
    assert value("eventharness_watch_hop_latency_seconds_bucket", le="+Inf", **hop) == 3
    assert value("eventharness_watch_scenario_duration_seconds_count", scenario="steady flow") == 3
    assert value("eventharness_watch_alerts_total", reason="failure") == 2
    assert found[("eventharness_watch_last_round_timestamp_seconds", ())] > 1.7e9

    assert watch.proc.returncode == 130, out + err
    assert "Traceback" not in out + err and "Aborted" not in err, err
    assert err.strip().splitlines() == [
        "interrupted in round 4: watch stopped after 3 rounds (2 failed)"
    ], err
    assert gone(hanging)  # the probe of the interrupted round
    assert gone(int(sleeper_pid.read_text()))  # the service the watch started
    with pytest.raises(OSError):  # /metrics is no longer served
        metrics_of(url)
    assert len(receiver.texts) == 2  # rounds 2 and 3; the interrupted round sends nothing


def test_bad_options_exit_2_with_one_line_before_anything_starts(tmp_path: Path) -> None:
    root = project(tmp_path, {"a.yaml": steady()})
    sleeper_pid = tmp_path / "sleeper.pid"
    with_sleeper(root, sleeper_pid)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = {
            ("--every", "0"): "--every '0': give a duration of more than 0",
            ("--every", "soon"): "--every 'soon': give a duration of more than 0",
            ("--alert-webhook", "ftp://u:s3cret@example.com/x"): "is not an http(s) URL",
            ("--alert-webhook", "hooks.example.com/x"): "is not an http(s) URL",
            ("--metrics-port", port): f"--metrics-port {port}: cannot serve /metrics on",
        }
        for args, cause in cases.items():
            done = cli(root, "watch", "scenarios", "--rounds", "1", *args)
            no_traceback(done)
            assert done.returncode == 2, (args, done.stdout, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and cause in lines[0], (args, done.stderr)
            assert "s3cret" not in done.stderr
    assert not sleeper_pid.exists()  # nothing was started


def test_an_undelivered_alert_is_said_and_the_watch_goes_on(tmp_path: Path) -> None:
    flip, _ = sometimes(tmp_path, "FF")
    root = project(tmp_path, {"b.yaml": flip})
    refusing = Receiver(status=500)
    try:
        done = cli(
            root, "watch", "scenarios", "--every", "10ms", "--rounds", "2",
            "--metrics-port", "0", "--alert-webhook", refusing.url(),
        )  # fmt: skip
    finally:
        refusing.close()
    no_traceback(done)
    assert done.returncode == 1
    assert len(refusing.bodies) == 2
    undelivered = list(lines_with(done.stdout, "not delivered"))
    assert undelivered == [
        f"alert of round {n} not delivered: http://127.0.0.1:{refusing.port} answered 500 "
        "Internal Server Error"
        for n in (1, 2)
    ], done.stdout


@pytest.mark.amqp
def test_on_rabbitmq_one_webhook_per_failing_round(
    tmp_path: Path, receiver: Receiver, amqp_url: str
) -> None:
    exchange = unique("eh-watch")
    flip, _ = sometimes(tmp_path, "PFPF")
    inbound, outbound = f"rabbit:{exchange}/order.placed", f"rabbit:{exchange}/payment.done"
    root = project(tmp_path, {"a.yaml": steady(inbound, outbound), "b.yaml": flip})
    done = cli(
        root, "watch", "scenarios", "--every", "10ms", "--rounds", "4", "--metrics-port", "0",
        "--broker", f"rabbit={amqp_url}?declare_exchanges=true",
        "--alert-webhook", receiver.url(),
    )  # fmt: skip
    no_traceback(done)
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(list(lines_with(done.stdout, " failed"))) == 2, done.stdout
    texts = receiver.wait_for(3)
    assert [t.splitlines()[0] for t in texts if "failed" in t] == [
        "eventharness watch: round 2 failed — 1 of 2 scenarios",
        "eventharness watch: round 4 failed — 1 of 2 scenarios",
    ]
    assert len(texts) == 3 and "passing again" in texts[1]  # round 3: recovered
    assert "guest:guest" not in done.stdout + done.stderr + "".join(texts)


def test_the_profile_watch_table_is_the_options_twin(tmp_path: Path, receiver: Receiver) -> None:
    flip, _ = sometimes(tmp_path, "FPFP")
    root = project(tmp_path, {"b.yaml": flip})
    config = (root / "eventharness.toml").read_text()
    table = (
        "\n[profiles.default.watch]\n"
        f'every = "10ms"\nmetrics_port = 0\nalert_webhook = "{receiver.url()}"\n'
        "flaky_after = 3\nalert_recovered = true\n"
    )
    (root / "eventharness.toml").write_text(
        config.replace("[profiles.other]", table + "\n[profiles.other]")
    )
    done = cli(root, "watch", "scenarios", "--rounds", "4", "--no-alert-recovered")
    no_traceback(done)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "every 0.01s · metrics at http://127.0.0.1:" in done.stdout
    texts = receiver.wait_for(3)
    # the config's webhook and flaky_after; the command line's --no-alert-recovered: round 2
    # (passing again) sends nothing, round 4 completes the flaky streak
    assert [t.splitlines()[0] for t in texts] == [
        "eventharness watch: round 1 failed — 1 of 1 scenarios",
        "eventharness watch: round 3 failed — 1 of 1 scenarios",
        "eventharness watch: flaky: sometimes fails alternated between passing and failing "
        "3 times in a row (round 4)",
    ]


@pytest.mark.parametrize(
    ("line", "cause"),
    [
        ("every = 0", "profiles.default.watch.every: 0 is not a positive duration"),
        ("metrics_port = 70000", "profiles.default.watch.metrics_port: must be a port 0-65535"),
        ('alert_webhook = "smtp://u:pw@mail"', "profiles.default.watch.alert_webhook: is not an"),
        ("flaky_after = 1", "profiles.default.watch.flaky_after: must be a whole number ≥ 2"),
        ("every_s = 3", "profiles.default.watch.every_s: unknown key; use every, metrics_port"),
    ],
)
def test_a_bad_watch_table_is_a_config_error(tmp_path: Path, line: str, cause: str) -> None:
    root = project(tmp_path, {"a.yaml": steady()})
    with (root / "eventharness.toml").open("a") as config:
        config.write(f"\n[profiles.default.watch]\n{line}\n")
    done = cli(root, "watch", "scenarios", "--rounds", "1")
    no_traceback(done)
    assert done.returncode == 2
    assert cause in done.stderr and "pw@" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
