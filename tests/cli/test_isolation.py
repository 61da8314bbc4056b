"""Isolation on the real brokers: what a run creates, named with its run id, is gone when it
ends; what a killed run left is removed by ``eventharness clean``. Checked with independent
clients (confluent-kafka's AdminClient, pika), not with the harness's own."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pika
import pika.exceptions
import pytest
from confluent_kafka.admin import AdminClient

from tests.cli.test_cli import EXE, cli, no_traceback

CONFIG = """\
[profiles.default]
brokers = {{ kafka = "{kafka}", rabbit = "{amqp}?declare_exchanges=true" }}
within = "{within}"
"""

# Everything named with the run id: a topic (published to), a Kafka consumer group and a
# RabbitMQ queue (stubs with group:), an exchange (declared by the publish).
CREATES = """\
name: creates things named with the run id
stubs:
  - {consume: "kafka:eh-${run.id}-orders", group: "eh-${run.id}-workers",
     respond: [{channel: "rabbit:eh-${run.id}-ex/shipped", value: {type: Shipped}}]}
  - {consume: "rabbit:eh-${run.id}-ex/shipped", group: "eh-${run.id}-queue"}
steps:
  - expect: {channel: "rabbit:eh-${run.id}-ex/shipped", type: Shipped, within: 60s}
  - publish: {channel: "kafka:eh-${run.id}-orders", value: {type: OrderPlaced}}
  - expect_none: {channel: "kafka:eh-${run.id}-orders", type: Never, during: 300ms}
"""

# The same, then waits: the run is killed while it waits.
HANGS = CREATES.replace("during: 300ms", "during: 120s").replace("creates", "hangs on")


def project(tmp_path: Path, kafka: str, amqp: str, scenario: str, within: str = "30s") -> Path:
    (tmp_path / "eventharness.toml").write_text(
        CONFIG.format(kafka=kafka, amqp=amqp, within=within)
    )
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "s.yaml").write_text(textwrap.dedent(scenario))
    return tmp_path


def kafka_names(kafka_url: str, mark: str) -> set[str]:
    admin = AdminClient({"bootstrap.servers": kafka_url.removeprefix("kafka://")})
    topics = admin.list_topics(timeout=10).topics
    groups = admin.list_consumer_groups(request_timeout=10).result().valid
    return {f"topic {t}" for t in topics if mark in t} | {
        f"group {g.group_id}" for g in groups if mark in g.group_id
    }


def rabbit_has(amqp_url: str, kind: str, name: str) -> bool:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        try:
            if kind == "queue":
                channel.queue_declare(name, passive=True)
            else:
                channel.exchange_declare(name, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            assert exc.reply_code == 404, exc
            return False
        return True
    finally:
        if connection.is_open:
            connection.close()


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(0.2)


def everything(kafka_url: str, amqp_url: str, run_id: str) -> dict[str, bool]:
    names = kafka_names(kafka_url, run_id)
    return {
        "topic": f"topic eh-{run_id}-orders" in names,
        "group": f"group eh-{run_id}-workers" in names,
        "exchange": rabbit_has(amqp_url, "exchange", f"eh-{run_id}-ex"),
        "queue": rabbit_has(amqp_url, "queue", f"eh-{run_id}-queue"),
    }


def test_a_run_removes_what_it_created(tmp_path: Path, kafka_url: str, amqp_url: str) -> None:
    root = project(tmp_path, kafka_url, amqp_url, CREATES)
    done = cli(root, "run", "scenarios", "--report-json", "r.json")
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"removed what run ([0-9a-f]{8}) created: (.*)", done.stdout)
    assert found, done.stdout
    run_id = found.group(1)
    report = json.loads((root / "r.json").read_text())
    removed = {(i["broker"], i["kind"], i["name"]) for i in report["cleanup"]["removed"]}
    assert removed >= {
        ("kafka", "topic", f"eh-{run_id}-orders"),
        ("kafka", "group", f"eh-{run_id}-workers"),
        ("rabbit", "exchange", f"eh-{run_id}-ex"),
        ("rabbit", "queue", f"eh-{run_id}-queue"),
    }
    assert report["cleanup"]["not_removed"] == []
    assert everything(kafka_url, amqp_url, run_id) == dict.fromkeys(
        ("topic", "group", "exchange", "queue"), False
    )
    assert not list((root / ".eventharness" / "runs").glob("*.json"))  # the record is gone


def test_clean_removes_what_a_killed_run_left(
    tmp_path: Path, kafka_url: str, amqp_url: str
) -> None:
    root = project(tmp_path, kafka_url, amqp_url, HANGS, within="120s")
    runs = root / ".eventharness" / "runs"
    process = subprocess.Popen(
        [EXE, "run", "scenarios"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        wait_for("the run's record", lambda: len(list(runs.glob("*.json"))) == 1)
        run_id = next(runs.glob("*.json")).stem
        wait_for(
            "the run's topic, group, exchange and queue",
            lambda: all(everything(kafka_url, amqp_url, run_id).values()),
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert all(everything(kafka_url, amqp_url, run_id).values())  # left behind

    dry = cli(root, "clean", "--dry-run")
    no_traceback(dry)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"would remove rabbit queue eh-{run_id}-queue" in dry.stdout
    assert all(everything(kafka_url, amqp_url, run_id).values())  # a dry run removes nothing

    # The killed stub's consumer-group member lingers until its session times out; the group
    # can be deleted once it is empty (a non-empty group is refused: exit 2, says why).
    done = cli(root, "clean")
    no_traceback(done)
    for _ in range(30):
        if done.returncode == 0:
            break
        assert "still has members" in done.stdout, done.stdout + done.stderr
        done = cli(root, "clean")
    assert done.returncode == 0, done.stdout + done.stderr
    assert everything(kafka_url, amqp_url, run_id) == dict.fromkeys(
        ("topic", "group", "exchange", "queue"), False
    )
    assert not list(runs.glob("*.json"))
    again = cli(root, "clean")
    assert again.returncode == 0 and "nothing to clean" in again.stdout, again.stdout


def test_clean_by_prefix_on_kafka(tmp_path: Path, kafka_url: str, amqp_url: str) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_url.removeprefix("kafka://")})
    from confluent_kafka.admin import NewTopic

    prefix = f"leftover-{os.getpid()}-{time.monotonic_ns() % 10**6}-"
    for future in admin.create_topics([NewTopic(f"{prefix}{i}", 1) for i in range(3)]).values():
        future.result(timeout=30)
    root = project(tmp_path, kafka_url, amqp_url, CREATES)
    done = cli(root, "clean", "--prefix", prefix)
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(re.findall(r"removed kafka topic (\S+)", done.stdout)) == [
        f"{prefix}{i}" for i in range(3)
    ]
    assert kafka_names(kafka_url, prefix) == set()


@pytest.mark.parametrize("prefix", ["", "  "])
def test_clean_refuses_an_empty_prefix(tmp_path: Path, prefix: str) -> None:
    root = project(tmp_path, "kafka://127.0.0.1:1", "amqp://guest:guest@127.0.0.1:1/", CREATES)
    done = cli(root, "clean", "--prefix", prefix)
    no_traceback(done)
    assert done.returncode == 2
    assert "--prefix" in done.stderr


def test_clean_says_which_broker_it_could_not_reach(tmp_path: Path) -> None:
    from eventharness.env.leftovers import Item, Ledger

    root = project(tmp_path, "kafka://127.0.0.1:1", "amqp://guest:guest@127.0.0.1:1/", CREATES)
    ledger = Ledger.begin(
        root / ".eventharness", "0badc0de", "default", [Item("rabbit", "queue", "eh-0badc0de-q")]
    )
    ledger.pid, ledger.start = 1 << 22, None  # a process that is gone
    ledger.write()
    done = cli(root, "clean")
    no_traceback(done)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "could not remove rabbit queue eh-0badc0de-q:" in done.stdout
    assert "127.0.0.1:1" in done.stdout and "guest:guest" not in done.stdout
    assert (root / ".eventharness" / "runs" / "0badc0de.json").exists()  # kept for a retry


def test_what_cannot_be_removed_is_reported_and_kept(tmp_path: Path) -> None:
    """A broker that went away by the end of the run: the run says what it could not remove on
    a terminal line and in the JSON report's cleanup, and keeps it in its record for
    ``clean``. (Tansu deletes a group even while it has members, so a refused deletion cannot
    be shown on it; Apache Kafka refuses with NON_EMPTY_GROUP, reported the same way.)"""
    from eventharness.cli.run import cleanup_report
    from eventharness.cli.session import remove_created
    from eventharness.env.leftovers import Item, Ledger

    lines: list[str] = []

    class Report:
        def line(self, text: str, style: str | None = None) -> None:
            lines.append(text)

    gone = {"kafka": "kafka://127.0.0.1:1", "rabbit": "amqp://guest:secret@127.0.0.1:1/"}
    items = [Item("kafka", "topic", "eh-r0-orders"), Item("rabbit", "queue", "eh-r0-q")]
    ledger = Ledger.begin(tmp_path, "r0", "default", items)
    removal = remove_created(ledger, gone, Report())
    text = "\n".join(lines)
    assert "could not remove kafka topic eh-r0-orders: cannot reach Kafka at" in text
    assert "could not remove rabbit queue eh-r0-q: " in text and "secret" not in text
    report = cleanup_report([removal])
    assert report is not None and report["removed"] == []
    assert sorted(i["name"] for i in report["not_removed"]) == ["eh-r0-orders", "eh-r0-q"]
    kept = Ledger.read(ledger.path)
    assert kept is not None and kept.items == sorted(items)  # for `eventharness clean`
