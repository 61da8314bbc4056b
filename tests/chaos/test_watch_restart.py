"""``eventharness watch`` keeps going through a RabbitMQ restart (a private node, ``stop_app``
then ``start_app``): the rounds while the broker is away fail with kind ``error`` naming it,
one webhook each; the rounds after it is back pass again, in the same watch process."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.private_rabbit import PrivateRabbit, rabbit_available
from tests.cli.test_cli import project
from tests.cli.watching import Receiver, WatchProcess, steady
from tests.conftest import broker_missing, unique

_ROUND = re.compile(r"^round (\d+): (\d+) passed(?:, (\d+) failed)?")


@pytest.fixture
def rabbit() -> Iterator[PrivateRabbit]:
    missing = rabbit_available()
    if missing is not None:
        broker_missing("a private RabbitMQ node", missing)
    node = PrivateRabbit()
    try:
        node.start()
    except RuntimeError as exc:
        node.stop()
        broker_missing("a private RabbitMQ node", str(exc))
    try:
        yield node
    finally:
        node.stop()


def next_round(watch: WatchProcess) -> tuple[int, bool, str]:
    """The next round line: its number, whether it passed, the line."""
    line = watch.until("round ")
    found = _ROUND.match(line)
    assert found is not None, line
    return int(found[1]), found[3] is None, line


@pytest.mark.amqp
def test_watch_keeps_going_through_a_rabbitmq_restart(
    tmp_path: Path, rabbit: PrivateRabbit
) -> None:
    exchange = unique("eh-watch-chaos")
    inbound, outbound = f"rabbit:{exchange}/order.placed", f"rabbit:{exchange}/payment.done"
    root = project(tmp_path, {"a.yaml": steady(inbound, outbound)})
    receiver = Receiver()
    watch = WatchProcess(
        root, "scenarios", "--every", "100ms", "--metrics-port", "0", "--connect-timeout", "5",
        "--broker", f"rabbit={rabbit.url}?declare_exchanges=true",
        "--alert-webhook", receiver.url(),
    )  # fmt: skip
    try:
        number, passed, line = next_round(watch)
        assert passed, line
        rabbit.stop_app()
        while passed:  # the rounds already under way may still pass
            number, passed, line = next_round(watch)
        assert "steady flow [error]" in line, line
        failed_at = number
        began = time.monotonic()
        rabbit.start_app()
        started_s = time.monotonic() - began
        while not passed:
            number, passed, line = next_round(watch)
        recovered_s = time.monotonic() - began
        watch.proc.send_signal(signal.SIGINT)
        out, err = watch.finish()
    finally:
        watch.kill()
        receiver.close()
    assert watch.proc.returncode == 130, out + err
    assert "Traceback" not in out + err, err
    failing = [line for line in out.splitlines() if _ROUND.match(line) and " failed" in line]
    assert failing and all("[error]" in line for line in failing), out
    failures = [t for t in receiver.texts if re.search(r"round \d+ failed", t)]
    assert len(failures) == len(failing), (receiver.texts, out)  # one webhook each
    first = next(t for t in failures if f"round {failed_at} failed" in t)
    assert f"127.0.0.1:{rabbit.port}" in first, first  # the broker is named
    assert "guest:guest" not in out + err + "".join(receiver.texts)
    assert any("passing again: steady flow" in t for t in receiver.texts), receiver.texts
    print(
        f"\nwatch through a RabbitMQ restart: {len(failing)} failing rounds; start_app took "
        f"{started_s:.2f}s, a round passed {recovered_s:.2f}s after it began"
    )
