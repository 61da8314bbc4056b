"""The embedded Kafka launcher, against the real Tansu binary."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventharness.env.embedded import EmbeddedKafka, kafka_metadata_ok
from eventharness.model.channels import parse_broker_url
from eventharness.model.errors import BrokerUnavailable

pytestmark = pytest.mark.kafka


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


@pytest.fixture
def broker() -> Iterator[EmbeddedKafka]:
    kafka = EmbeddedKafka()
    try:
        yield kafka
    finally:
        kafka.stop()


def test_start_returns_a_url_that_answers_metadata(broker: EmbeddedKafka) -> None:
    url = broker.start()
    parsed = parse_broker_url(url)
    assert parsed.scheme == "kafka"
    ((host, port),) = parsed.hosts
    assert host == "127.0.0.1"
    assert broker.url == url
    # The broker advertises exactly the address we gave it, so clients can follow metadata.
    assert kafka_metadata_ok(host, port) == [(host, port)]
    assert broker.pid is not None and _alive(broker.pid)


def test_stop_ends_the_process_and_is_idempotent(broker: EmbeddedKafka) -> None:
    url = broker.start()
    pid = broker.pid
    assert pid is not None
    broker.stop()
    assert not _alive(pid)
    assert broker.pid is None
    host, port = parse_broker_url(url).hosts[0]
    with pytest.raises(OSError):
        kafka_metadata_ok(host, port, timeout=0.5)
    broker.stop()  # a second stop is harmless


def test_a_taken_port_gives_an_error_naming_the_port_and_the_log() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        kafka = EmbeddedKafka(port=port)
        try:
            with pytest.raises(BrokerUnavailable) as caught:
                kafka.start(timeout=10)
            message = str(caught.value)
            assert str(port) in message
            assert "command:" in message and "broker --listener-url" in message
            assert "Address in use" in message  # the log tail, from Tansu itself
            assert "\x1b[" not in message  # no terminal colour codes in the error
            assert kafka.pid is None
        finally:
            kafka.stop()


def test_missing_binary_is_a_readable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALF_TANSU_BIN", "/nonexistent/tansu")
    with pytest.raises(BrokerUnavailable, match="/nonexistent/tansu"):
        EmbeddedKafka().start()


def test_two_brokers_run_side_by_side() -> None:
    with EmbeddedKafka() as first, EmbeddedKafka() as second:
        assert first.url != second.url
        assert first.pid != second.pid
        for kafka in (first, second):
            host, port = parse_broker_url(kafka.url).hosts[0]
            assert kafka_metadata_ok(host, port) == [(host, port)]


def test_explicit_log_path_is_written_and_kept(tmp_path: Path) -> None:
    log = tmp_path / "tansu.log"
    with EmbeddedKafka(log_path=log) as kafka:
        assert kafka.log_path == log
    assert "listening on" in log.read_text()


def test_a_process_that_forgets_to_stop_leaves_no_broker_behind() -> None:
    script = textwrap.dedent(
        """
        from eventharness.env.embedded import EmbeddedKafka
        kafka = EmbeddedKafka()
        kafka.start()
        print(kafka.pid, flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    pid = int(done.stdout.strip())
    assert not _alive(pid), f"Tansu pid {pid} outlived the process that started it"
