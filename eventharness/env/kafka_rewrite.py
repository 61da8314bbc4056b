"""Keeping Kafka clients behind a proxy: the broker addresses in Metadata and FindCoordinator
responses are rewritten to the proxy's.

A Kafka client asks its bootstrap server for Metadata (api key 3) and then connects to the
addresses the broker *advertises* there, and to the group coordinator that FindCoordinator
(api key 10) names — which would bypass a proxy. So the proxy reads the frames (a 4-byte
big-endian length, then the message), remembers the api key and version of each request by its
correlation id, and in the matching responses replaces the advertised host and port of the
proxied broker with its own. Only those fields are parsed; everything after them is copied as
it is, so any version works whose layout up to the broker list is known: Metadata v0 to v12 and
FindCoordinator v0 to v5 (flexible versions, with compact strings and tagged fields, included).
A small hand parser rather than a Kafka protocol library: the libraries in Python (aiokafka's
protocol classes, kafka-python) decode and re-encode whole messages, and only know the versions
they implement, where a proxy must pass through whatever its clients speak.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = ["Frames", "KafkaRewriter"]

METADATA, FIND_COORDINATOR = 3, 10
# The first flexible version (compact strings, tagged fields) of each rewritten api.
_FLEXIBLE = {METADATA: 9, FIND_COORDINATOR: 3}


class Frames:
    """Cuts a byte stream into Kafka frames (length prefix included)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        while len(self._buffer) >= 4:
            (size,) = struct.unpack_from(">i", self._buffer)
            if len(self._buffer) < 4 + size:
                break
            frames.append(bytes(self._buffer[: 4 + size]))
            del self._buffer[: 4 + size]
        return frames


@dataclass
class KafkaRewriter:
    """One client connection's rewriting: requests seen, responses rewritten."""

    upstream: tuple[str, int]  # the broker as it advertises itself
    advertised: tuple[str, int]  # the proxy, as clients must see it
    _pending: dict[int, tuple[int, int]] = field(default_factory=dict)

    def request(self, frame: bytes) -> None:
        """Note a Metadata or FindCoordinator request (by its correlation id)."""
        if len(frame) < 12:
            return
        api_key, version, correlation = struct.unpack_from(">hhi", frame, 4)
        if api_key in _FLEXIBLE:
            self._pending[correlation] = (api_key, version)

    def response(self, frame: bytes) -> bytes:
        """The frame, with the proxied broker's address replaced when it is a response to a
        noted request; unchanged when anything does not parse."""
        if len(frame) < 8:
            return frame
        (correlation,) = struct.unpack_from(">i", frame, 4)
        noted = self._pending.pop(correlation, None)
        if noted is None:
            return frame
        api_key, version = noted
        try:
            body = _rewrite(api_key, version, frame[4:], self.upstream, self.advertised)
        except (struct.error, IndexError, ValueError):
            return frame
        return struct.pack(">i", len(body)) + body


class _Reader:
    def __init__(self, data: bytes, flexible: bool) -> None:
        self.data, self.pos, self.flexible = data, 0, flexible

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(value)

    def uvarint(self) -> int:
        shift = value = 0
        while True:
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def string_span(self) -> tuple[int, int, str | None]:
        """Where a (nullable) string starts and ends, and its text."""
        start = self.pos
        size = self.uvarint() - 1 if self.flexible else self.take(">h")
        if size < 0:
            return start, self.pos, None
        text = self.data[self.pos : self.pos + size].decode()
        self.pos += size
        return start, self.pos, text

    def tags(self) -> None:
        if self.flexible:
            for _ in range(self.uvarint()):
                self.uvarint()
                self.pos += self.uvarint()

    def count(self) -> int:
        return self.uvarint() - 1 if self.flexible else self.take(">i")


def _string(text: str, flexible: bool) -> bytes:
    raw = text.encode()
    if flexible:
        return _uvarint(len(raw) + 1) + raw
    return struct.pack(">h", len(raw)) + raw


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _rewrite(
    api_key: int,
    version: int,
    message: bytes,
    upstream: tuple[str, int],
    advertised: tuple[str, int],
) -> bytes:
    """``message`` (correlation id onwards) with every (host, port) equal to ``upstream``
    replaced by ``advertised``."""
    r = _Reader(message, version >= _FLEXIBLE[api_key])
    r.take(">i")  # correlation id
    r.tags()  # response header v1 (flexible versions)
    edits: list[tuple[int, int, bytes]] = []  # (start, end, replacement)

    def endpoint() -> None:
        start, end, host = r.string_span()
        port_at = r.pos
        port = r.take(">i")
        if (host, port) == upstream or (host is not None and port == upstream[1]):
            edits.append((start, end, _string(advertised[0], r.flexible)))
            edits.append((port_at, port_at + 4, struct.pack(">i", advertised[1])))

    if api_key == METADATA:
        if version >= 3:
            r.take(">i")  # throttle_time_ms
        for _ in range(r.count()):
            r.take(">i")  # node_id
            endpoint()
            if version >= 1:
                r.string_span()  # rack
            r.tags()
    elif version <= 3:
        if version >= 1:
            r.take(">i")  # throttle_time_ms
        r.take(">h")  # error_code
        if version >= 1:
            r.string_span()  # error_message
        r.take(">i")  # node_id
        endpoint()
    else:
        r.take(">i")  # throttle_time_ms
        for _ in range(r.count()):
            r.string_span()  # key
            r.take(">i")  # node_id
            endpoint()
            r.take(">h")  # error_code
            r.string_span()  # error_message
            r.tags()
    out = bytearray()
    last = 0
    for start, end, replacement in edits:
        out += message[last:start] + replacement
        last = end
    out += message[last:]
    return bytes(out)
