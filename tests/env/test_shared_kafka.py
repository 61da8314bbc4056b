"""The embedded Kafka shared by the processes of a run: started by the first user, found by
the others, stopped by the last one out; a crashed user does not keep it alive, and a stale
state file (a recycled pid) never makes it signal another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eventharness.env.embedded import kafka_metadata_ok
from eventharness.env.shared_kafka import SharedKafka
from eventharness.model.channels import parse_broker_url

pytestmark = pytest.mark.kafka


def answers(url: str) -> bool:
    host, port = parse_broker_url(url).hosts[0]
    try:
        kafka_metadata_ok(host, port, timeout=1.0)
    except OSError:
        return False
    return True


def test_the_last_user_out_stops_it(tmp_path: Path) -> None:
    first, second = SharedKafka(tmp_path, "gw0"), SharedKafka(tmp_path, "gw1")
    url = first.acquire()
    try:
        assert second.acquire() == url  # found, not started again
        assert sorted(first.users()) == ["gw0", "gw1"]
        first.release()
        assert answers(url) and second.users() == ["gw1"]
    finally:
        first.release()
        second.release()
    assert not answers(url)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_a_crashed_user_does_not_keep_it_alive(tmp_path: Path) -> None:
    survivor = SharedKafka(tmp_path, "gw1")
    url = survivor.acquire()
    state = json.loads((tmp_path / "kafka.json").read_text())
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    state["users"].append({"name": "gw0", "pid": int(gone.stdout)})  # a worker that crashed
    (tmp_path / "kafka.json").write_text(json.dumps(state))
    survivor.release()
    assert not answers(url)


def test_a_stale_state_file_never_signals_another_process(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    stale = {"url": "kafka://127.0.0.1:1", "pid": os.getpid(), "users": []}  # a recycled pid
    (tmp_path / "kafka.json").write_text(json.dumps(stale))
    shared = SharedKafka(tmp_path, "gw0")
    url = shared.acquire()  # starts a fresh broker; this process is not signalled
    try:
        assert url != stale["url"] and answers(url)
    finally:
        shared.release()
    assert not answers(url)
