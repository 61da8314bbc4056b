"""Broker fixtures shared by the whole suite.

Real brokers are found or started here: embedded Kafka (Tansu) is started once per session on a
free port and stopped by its pid; RabbitMQ is the local one (``EH_AMQP_URL`` overrides it).
Outside CI a missing broker skips the tests that need it, with the reason; under ``CI=true`` it
fails them, so a broken machine can never pass as green.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
AMQP_URL = os.environ.get("EH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def broker_missing(what: str, remedy: str) -> None:
    message = f"{what} is not available: {remedy}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def kafka_url() -> Iterator[str]:
    """A session-wide embedded Kafka (Tansu): ``kafka://127.0.0.1:PORT``."""
    try:
        from eventharness.env.embedded import EmbeddedKafka
    except ImportError as exc:  # pragma: no cover - depends on the install
        broker_missing("embedded Kafka", f"pip install 'eventharness[embedded]' ({exc})")
        raise
    broker = EmbeddedKafka()
    try:
        url = broker.start()
    except Exception as exc:
        broker_missing("embedded Kafka", str(exc))
        raise
    try:
        yield url
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The local RabbitMQ, checked once per session."""
    from eventharness.model.channels import parse_broker_url

    url = parse_broker_url(AMQP_URL)
    host, port = url.hosts[0]
    if not _reachable(host, port):
        broker_missing(
            f"RabbitMQ at {url}",
            "start it with `rabbitmq-server -detached` or set EH_AMQP_URL",
        )
    return AMQP_URL


@pytest.fixture
def memory_url() -> str:
    """A fresh, private in-memory broker for each test."""
    return f"memory://t-{uuid.uuid4().hex[:12]}"


def unique(prefix: str) -> str:
    """A name no other test (or earlier run) uses: topics, exchanges, queues, groups."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# The conformance suite's size per broker: CI fails when one of them runs fewer tests than
# this (a broker quietly dropped out of the suite). Raise a figure when tests are added.
CONFORMANCE_FLOOR = {"amqp": 10, "kafka": 8, "memory-exchange": 10, "memory-topic": 8}
_GATE = pytest.StashKey[list[str]]()


def _conformance_counts(stats: dict[str, list[object]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if "tests/conformance/" not in nodeid or "[" not in nodeid:
                continue
            if getattr(report, "when", "call") != "call" and outcome == "passed":
                continue
            broker = nodeid.rsplit("[", 1)[1].rstrip("]")
            counts.setdefault(broker, {}).setdefault(outcome, 0)
            counts[broker][outcome] += 1
    return counts


def ci_gate_problems(stats: dict[str, list[object]]) -> list[str]:
    """Why a CI run that passed must not count as green: skipped or deselected tests, or a
    broker whose conformance count fell below its floor."""
    problems = []
    skipped = len(stats.get("skipped", []))
    deselected = len(stats.get("deselected", []))
    if skipped:
        problems.append(
            f"{skipped} test(s) skipped: in CI every test runs (a missing broker "
            "is a failure, not a skip)"
        )
    if deselected:
        problems.append(f"{deselected} test(s) deselected: CI runs the whole suite (no -k/-m)")
    counts = _conformance_counts(stats)
    if counts:  # the conformance suite ran: every broker must run all of it
        for broker, floor in CONFORMANCE_FLOOR.items():
            ran = counts.get(broker, {}).get("passed", 0)
            if ran < floor:
                problems.append(
                    f"conformance on {broker}: {ran} passed, expected at least "
                    f"{floor} (tests/conftest.py CONFORMANCE_FLOOR)"
                )
    return problems


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not IN_CI or exitstatus != pytest.ExitCode.OK:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    problems = ci_gate_problems(reporter.stats if reporter is not None else {})
    if problems:
        session.config.stash[_GATE] = problems
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many conformance tests ran on each broker: the suite proves all three."""
    counts = _conformance_counts(terminalreporter.stats)
    if counts:
        terminalreporter.section("conformance suite per broker")
        for broker in sorted(counts):
            line = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts[broker].items()))
            terminalreporter.write_line(f"{broker:>16}: {line}")
    problems = terminalreporter.config.stash.get(_GATE, [])
    if problems:
        terminalreporter.section("CI gate: not green", red=True)
        for problem in problems:
            terminalreporter.write_line(f"error: {problem}", red=True)
