"""The state of `eventharness up`: typed, round-tripped through state.json, alive only while
its supervisor is the recorded process; and the one profile→URL resolution."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eventharness.env.brokers import EMBEDDED, resolve_brokers
from eventharness.env.processes import process_start
from eventharness.env.state import (
    EmbeddedRecord,
    EnvironmentState,
    ProcessRecord,
    ServiceRecord,
    read_state,
    remove_state,
    running_state,
    write_state,
)
from eventharness.model.errors import UsageError


def a_state(supervisor: ProcessRecord | None) -> EnvironmentState:
    return EnvironmentState(
        profile="default",
        run_id="abc123",
        config="/x/eventharness.toml",
        started="2024-01-01T00:00:00+00:00",
        embedded={
            "kafka": EmbeddedRecord("kafka://127.0.0.1:1234", pid=11, start=5, log="/l/kafka.log")
        },
        brokers={"kafka": "kafka://127.0.0.1:1234", "rabbit": "amqp://guest:***@h:5672/"},
        variables={"topic": "orders-abc123"},
        services={
            "svc": ServiceRecord(
                pid=12, start=6, log="/l/svc.log", command="svc --x", ready="log svc ready"
            )
        },
        skipped={"other": "disabled in the profile (enabled = false)"},
        supervisor=supervisor,
    )


def test_round_trip_and_order_of_processes(tmp_path: Path) -> None:
    me = ProcessRecord(os.getpid(), process_start(os.getpid()))
    state = a_state(me)
    write_state(tmp_path, state)
    assert read_state(tmp_path) == state
    assert state.to_json()["supervisor"] == {"pid": me.pid, "start": me.start}
    assert [label for label, _ in state.processes()] == [
        "service svc",
        "broker kafka",
        "supervisor",
    ]
    assert state.alive()
    assert running_state(tmp_path, "default") == state
    assert running_state(tmp_path, "other") is None
    remove_state(tmp_path)
    assert read_state(tmp_path) is None


def test_a_state_whose_supervisor_is_gone_is_not_running(tmp_path: Path) -> None:
    start = process_start(os.getpid())
    assert start is not None
    write_state(tmp_path, a_state(ProcessRecord(os.getpid(), start + 1)))  # a reused pid
    state = read_state(tmp_path)
    assert state is not None and not state.alive()
    assert running_state(tmp_path) is None


def test_an_unreadable_state_file_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"profile": "default"}')
    with pytest.raises(UsageError, match=r"state\.json is unreadable .* delete it"):
        read_state(tmp_path)


def test_resolve_brokers() -> None:
    profile = {"kafka": EMBEDDED, "rabbit": "amqp://h/"}
    assert resolve_brokers(profile, {}) == profile
    running = a_state(None)
    assert resolve_brokers(profile, {}, running) == {
        "kafka": "kafka://127.0.0.1:1234",
        "rabbit": "amqp://h/",
    }
    assert (
        resolve_brokers(profile, {"kafka": "kafka://other:9092"}, running)["kafka"]
        == "kafka://other:9092"
    )
    assert (
        resolve_brokers(profile, {"kafka": EMBEDDED}, running)["kafka"] == "kafka://127.0.0.1:1234"
    )
    assert resolve_brokers({"rabbit": "amqp://h/"}, {"kafka": EMBEDDED}, None)["kafka"] == EMBEDDED
