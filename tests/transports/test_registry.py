"""Transports are found by URL scheme: built-ins lazily, third parties through entry points."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import eventharness as eh
from eventharness.transports.base import transport_class
from eventharness.transports.memory import MemoryTransport

PLUGIN = '''
from eventharness.transports.memory import MemoryTransport

class EchoTransport(MemoryTransport):
    """A third-party broker kind: here, a memory broker under another scheme."""

    def __init__(self, url, **options):
        super().__init__("memory://echo-" + url.hosts[0][0], **options)
        self.url = url
'''


def test_builtin_schemes() -> None:
    assert transport_class("memory") is MemoryTransport
    assert transport_class("kafkas").__name__ == "KafkaTransport"
    assert transport_class("amqps").__name__ == "AmqpTransport"


def test_unknown_scheme_names_the_known_ones_and_the_group() -> None:
    with pytest.raises(
        eh.ChannelError,
        match=r"no transport for scheme 'nats'; known: .*amqp.*"
        r"kafka.*memory.*'eventharness.transports' entry-point group",
    ):
        transport_class("nats")


async def test_a_third_party_transport_plugs_in_by_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "echo_transport.py").write_text(PLUGIN)
    dist = tmp_path / "echo_transport-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-transport\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[eventharness.transports]\necho = echo_transport:EchoTransport\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        cls = transport_class("echo")
        assert cls.__name__ == "EchoTransport"
        async with eh.Harness({"x": "echo://plug"}) as h, h.scenario("through a plugin") as s:
            s.expect("x:out", type="Pong", within=2)
            await s.publish("x:in", {"type": "Ping"})
            await h.transport("x").publish(
                "out",
                eh.Record(
                    b'{"type": "Pong"}', headers={"correlation-id": s.correlation_id.encode()}
                ),
            )
    finally:
        sys.modules.pop("echo_transport", None)
