"""The recording file: JSON Lines, one message a line (the format is described in
:mod:`eventharness.engine.recording`), and how a received record becomes one line of it —
with secret headers and the passwords of URLs in header values redacted.

    found = Recording.load("shop.jsonl")      # UsageError naming file:line when it is wrong
    found.save("copy.jsonl")
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eventharness.model.channels import parse_channel, redact
from eventharness.model.errors import UsageError
from eventharness.model.events import (
    Event,
    Record,
    decode_text,
    encode_key,
    encode_value,
    event_from_record,
)

__all__ = [
    "REDACTED",
    "Progress",
    "Recorded",
    "Recording",
    "is_secret_header",
    "recorded_from",
    "recording_of",
]


REDACTED = "***"
_SECRET = re.compile(
    r"authori[sz]ation|cookie|token|passw|secret|api[-_]?key|credential|session|signature"
    r"|private[-_]?key",
    re.IGNORECASE,
)
_KEPT_PROPERTIES = ("correlation_id", "message_id")
Progress = Callable[[str], None]


def is_secret_header(name: str) -> bool:
    return _SECRET.search(name) is not None


@dataclass(frozen=True)
class Recorded:
    """One recorded message."""

    t: float
    channel: str
    value: Any = None
    key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    properties: Mapping[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # only for payloads that are not UTF-8
    seen_on: str | None = None

    @property
    def payload(self) -> bytes:
        return self.raw if self.raw is not None else encode_value(self.value)

    def to_record(self) -> Record:
        """The message as it can be published again (redacted headers left out)."""
        return Record(
            value=self.payload,
            key=encode_key(self.key),
            headers={k: v.encode() for k, v in self.headers.items() if v != REDACTED},
            properties=dict(self.properties),
        )

    def event(self) -> Event:
        return event_from_record(self.channel, self.to_record())

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "t": round(self.t, 6),
            "channel": self.channel,
            "key": self.key,
            "headers": dict(self.headers),
        }
        if self.properties:
            data["properties"] = dict(self.properties)
        if self.raw is not None:
            data["value_b64"] = base64.b64encode(self.raw).decode()
        else:
            data["value"] = self.value
        if self.seen_on and self.seen_on != self.channel:
            data["seen_on"] = self.seen_on
        return data

    @classmethod
    def from_json(cls, data: Any, where: str) -> Recorded:
        if not isinstance(data, Mapping):
            raise UsageError(f"{where}: expected a JSON object, got {type(data).__name__}")
        t, channel = data.get("t"), data.get("channel")
        if isinstance(t, bool) or not isinstance(t, int | float) or t < 0:
            raise UsageError(f"{where}: 't' must be seconds ≥ 0 from the recording's start")
        if not isinstance(channel, str):
            raise UsageError(f"{where}: 'channel' must be a channel like 'kafka:orders'")
        try:
            parse_channel(channel)
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from exc
        headers = data.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise UsageError(f"{where}: 'headers' must map names to text")
        raw = None
        if "value_b64" in data:
            try:
                raw = base64.b64decode(str(data["value_b64"]), validate=True)
            except ValueError as exc:
                raise UsageError(f"{where}: 'value_b64' is not base64: {exc}") from exc
        key = data.get("key")
        return cls(
            t=float(t),
            channel=channel,
            value=data.get("value"),
            key=None if key is None else str(key),
            headers={str(k): str(v) for k, v in headers.items()},
            properties={str(k): str(v) for k, v in (data.get("properties") or {}).items()},
            raw=raw,
            seen_on=data.get("seen_on"),
        )


@dataclass
class Recording:
    """Recorded messages in the order of their ``t``."""

    events: list[Recorded] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[Recorded]:
        return iter(self.events)

    @property
    def duration(self) -> float:
        return self.events[-1].t if self.events else 0.0

    def channels(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.events:
            counts[item.channel] = counts.get(item.channel, 0) + 1
        return counts

    def renamed(self, mapping: Mapping[str, str]) -> Recording:
        """The same recording with channels (or whole broker names: ``{"kafka": "k"}``)
        renamed — e.g. to replay a real system's traffic on the memory broker."""
        out = []
        for item in self.events:
            channel = mapping.get(item.channel)
            if channel is None:
                broker, _, address = item.channel.partition(":")
                channel = f"{mapping.get(broker, broker)}:{address}"
            out.append(
                Recorded(
                    item.t,
                    channel,
                    item.value,
                    item.key,
                    item.headers,
                    item.properties,
                    item.raw,
                    item.seen_on,
                )
            )
        return Recording(out)

    def save(self, path: str | Path) -> None:
        with Path(path).open("w", encoding="utf-8") as out:
            for item in self.events:
                out.write(json.dumps(item.to_json(), ensure_ascii=False, default=str) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        """Read a recording; every problem names ``file:line``."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read recording {path}: {exc.strerror or exc}") from exc
        events = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except RecursionError:
                raise UsageError(f"{where}: nested too deep to read; not a recording") from None
            except ValueError as exc:
                raise UsageError(
                    f"{where}: not JSON ({exc}); a recording has one JSON object per line"
                ) from exc
            events.append(Recorded.from_json(data, where))
        return cls(sorted(events, key=lambda item: item.t))


def _published_channel(seen_on: str, record: Record) -> str:
    broker, _, address = seen_on.partition(":")
    props = record.properties
    if "exchange" in props and ("/" in address or props.get("exchange")):
        return f"{broker}:{props['exchange']}/{props.get('routing_key', '')}"
    if props.get("topic"):
        return f"{broker}:{props['topic']}"
    return seen_on


def recording_of(events: Iterable[Event]) -> Recording:
    """What scenarios sent and received, as a recording (``eventharness run --record``): each
    message once (a scenario that collects what it or its stub published saw it twice; the
    copy on a concrete channel is kept over one collected on a pattern such as
    ``rabbit:shipping/shipment.*``), ``t`` from the first of them, secret headers and URL
    passwords redacted as :func:`recorded_from` does."""
    kept: dict[Any, Event] = {}
    for event in events:
        ident = event.message_id or (event.channel, event.raw, event.key, event.received)
        old = kept.get(ident)
        if old is None or (_is_pattern(old.channel) and not _is_pattern(event.channel)):
            kept[ident] = event
    if not kept:
        return Recording()
    start = min(event.received for event in kept.values())
    out = []
    for event in kept.values():
        record = Record(
            value=event.raw,
            key=encode_key(event.key),
            headers={k: v.encode() for k, v in event.headers.items()},
        )
        item = recorded_from(event.channel, record, start, 0.0)
        out.append(replace(item, t=round(max(0.0, event.received - start), 6)))
    return Recording(sorted(out, key=lambda item: item.t))


def _is_pattern(channel: str) -> bool:
    return "*" in channel or "#" in channel


def recorded_from(seen_on: str, record: Record, started: float, started_wall: float) -> Recorded:
    headers = {}
    for name, raw in record.headers.items():
        headers[name] = REDACTED if is_secret_header(name) else redact(decode_text(raw) or "")
    value: Any = None
    raw_bytes: bytes | None = None
    try:
        text = record.value.decode()
    except UnicodeDecodeError:
        raw_bytes = record.value
    else:
        try:
            value = json.loads(text) if text else None
        except ValueError:
            value = text
    channel = _published_channel(seen_on, record)
    t = (record.received or time.monotonic()) - started
    if record.broker_time is not None and record.properties.get("topic"):
        t = min(t, record.broker_time - started_wall)  # published, not pulled (see above)
    return Recorded(
        t=round(max(0.0, t), 6),
        channel=channel,
        value=value,
        key=decode_text(record.key),
        headers=headers,
        properties={k: record.properties[k] for k in _KEPT_PROPERTIES if record.properties.get(k)},
        raw=raw_bytes,
        seen_on=seen_on if seen_on != channel else None,
    )
