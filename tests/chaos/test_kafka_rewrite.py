"""The Metadata / FindCoordinator rewrite on hand-built frames: classic and flexible versions
(the embedded-Kafka tests cover the versions aiokafka speaks)."""

from __future__ import annotations

import struct

import pytest

from eventharness.env.kafka_rewrite import FIND_COORDINATOR, METADATA, Frames, KafkaRewriter

BROKER, PROXY = ("127.0.0.1", 9092), ("127.0.0.1", 40001)


def _string(text: str | None, flexible: bool) -> bytes:
    if text is None:
        return b"\x00" if flexible else struct.pack(">h", -1)
    raw = text.encode()
    return (bytes([len(raw) + 1]) if flexible else struct.pack(">h", len(raw))) + raw


def _frame(body: bytes) -> bytes:
    return struct.pack(">i", len(body)) + body


def _request(api_key: int, version: int, correlation: int) -> bytes:
    return _frame(struct.pack(">hhi", api_key, version, correlation) + _string("client", False))


def _metadata(version: int, host: str, port: int, tail: bytes = b"TAIL") -> bytes:
    flexible = version >= 9
    body = struct.pack(">i", 7) + (b"\x00" if flexible else b"")
    if version >= 3:
        body += struct.pack(">i", 0)
    body += bytes([2]) if flexible else struct.pack(">i", 1)
    body += struct.pack(">i", 1) + _string(host, flexible) + struct.pack(">i", port)
    if version >= 1:
        body += _string(None, flexible)
    if flexible:
        body += b"\x00"
    return _frame(body + tail)


@pytest.mark.parametrize("version", [0, 1, 5, 9, 12])
def test_metadata_brokers_are_rewritten_and_the_rest_is_kept(version: int) -> None:
    rewriter = KafkaRewriter(BROKER, PROXY)
    rewriter.request(_request(METADATA, version, 7))
    out = rewriter.response(_metadata(version, *BROKER))
    assert out == _metadata(version, *PROXY)
    assert Frames().feed(out) == [out]  # the length prefix matches the new size


def test_a_response_to_an_unnoted_request_is_untouched() -> None:
    rewriter = KafkaRewriter(BROKER, PROXY)
    frame = _metadata(1, *BROKER)
    assert rewriter.response(frame) == frame


def test_find_coordinator_v1_is_rewritten() -> None:
    rewriter = KafkaRewriter(BROKER, PROXY)
    rewriter.request(_request(FIND_COORDINATOR, 1, 7))

    def response(host: str, port: int) -> bytes:
        head = struct.pack(">iih", 7, 0, 0) + _string(None, False) + struct.pack(">i", 1)
        return _frame(head + _string(host, False) + struct.pack(">i", port))

    assert rewriter.response(response(*BROKER)) == response(*PROXY)


def test_frames_are_cut_from_a_stream_in_pieces() -> None:
    frames = Frames()
    one, two = _frame(b"abc"), _frame(b"defgh")
    stream = one + two
    assert frames.feed(stream[:5]) == []
    assert frames.feed(stream[5:]) == [one, two]
