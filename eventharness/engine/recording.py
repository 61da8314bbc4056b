"""Record what a running system emits, and replay it: as a load, or as a virtual service.

    eventharness record -b kafka=kafka://127.0.0.1:9092 -b rabbit=amqp://... \\
        --channel kafka:orders --channel kafka:payments --channel 'rabbit:shipping/#' \\
        --duration 10s -o shop.jsonl
    eventharness replay shop.jsonl -b kafka=... --speed max

A recording is JSON Lines, one message a line, in the order of their ``t``::

    {"t": 0.0132, "channel": "kafka:payments", "key": "o-1", "headers": {...},
     "value": {"type": "PaymentAuthorized", ...}}

``t`` is seconds from the start of the recording: when the message arrived, or, for a Kafka
record, when it was published (its timestamp) if that is earlier — an observer pulls a topic,
so it can get a record after a service consumed it and what that service sent on RabbitMQ
(pushed) has already arrived; the timestamp keeps the record before its consequences.
``channel`` is where the message was published (an AMQP message seen through
``rabbit:shipping/#`` is recorded with its exchange and routing key,
``rabbit:shipping/shipment.scheduled``, so it can be published again as it was; ``seen_on``
keeps the pattern). ``value`` is the decoded JSON (or text); bytes that are not
UTF-8 are kept as ``"value_b64"``. Header values whose names look secret (authorization,
cookie, token, password, secret, api-key, credential, session, signature) are written as
``"***"`` and left out when replaying; in any other header value, the password of a URL
(``x-db-url: postgres://app:***@db/shop``) is written as ``***``. The AMQP
``correlation_id``/``message_id`` properties are kept under ``properties``. Recording observes,
as the collector does: nothing committed, no queue taken from a service.

``Recording.load(path)`` reads one; :func:`replay` publishes it (at its recorded pace, N times
faster, or as fast as possible); :func:`replay_as_stub` makes a virtual service that answers
an event like one recorded with what the system sent after that one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eventharness.engine.outgoing import Sender
from eventharness.engine.stubs import Reply, Stub, StubHost
from eventharness.model.channels import Channel, parse_channel, redact
from eventharness.model.errors import EventHarnessError, UsageError
from eventharness.model.events import (
    CORRELATION_HEADER,
    MESSAGE_ID_HEADER,
    TRACEPARENT_HEADER,
    Event,
    Record,
    decode_text,
    encode_key,
    encode_value,
    event_from_record,
)

if TYPE_CHECKING:
    from eventharness.transports.base import Transport

__all__ = [
    "REDACTED",
    "Recorded",
    "Recording",
    "is_secret_header",
    "record",
    "replay",
    "replay_as_stub",
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


# -- recording ---------------------------------------------------------------------------


def _published_channel(seen_on: str, record: Record) -> str:
    broker, _, address = seen_on.partition(":")
    props = record.properties
    if "exchange" in props and ("/" in address or props.get("exchange")):
        return f"{broker}:{props['exchange']}/{props.get('routing_key', '')}"
    if props.get("topic"):
        return f"{broker}:{props['topic']}"
    return seen_on


def _recorded(seen_on: str, record: Record, started: float, started_wall: float) -> Recorded:
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


async def record(
    transports: Mapping[str, Transport],
    channels: Sequence[str],
    *,
    duration: float | None = None,
    count: int | None = None,
    progress: Progress | None = None,
    armed: Callable[[], None] | None = None,
) -> Recording:
    """Observe ``channels`` until ``duration`` seconds passed or ``count`` messages came.

    ``armed`` is called once every subscription is in place (publish after that).
    ``progress`` gets a one-line status about once a second."""
    parsed = _channels_to_record(transports, channels, duration=duration, count=count)
    recording = Recording()
    enough = asyncio.Event()
    started, started_wall = time.monotonic(), time.time()
    subs = []
    tasks: list[asyncio.Task[None]] = []

    async def pump(channel: str, sub: Any) -> None:
        async for rec in sub:
            recording.events.append(_recorded(channel, rec, started, started_wall))
            if count is not None and len(recording.events) >= count:
                enough.set()
                return

    try:
        for channel in parsed:
            sub = await transports[channel.broker].subscribe(channel.address)
            subs.append(sub)
            tasks.append(asyncio.create_task(pump(str(channel), sub)))
        started, started_wall = time.monotonic(), time.time()
        if armed is not None:
            armed()
        await _until_done(recording, enough, tasks, started, duration, progress)
    finally:
        await _stop(tasks, subs)
    recording.events.sort(key=lambda item: item.t)
    if count is not None:
        del recording.events[count:]
    return recording


def _channels_to_record(
    transports: Mapping[str, Transport],
    channels: Sequence[str],
    *,
    duration: float | None,
    count: int | None,
) -> list[Channel]:
    """The parsed channels, once the arguments say what and how long to record."""
    if duration is None and count is None:
        raise UsageError(
            "say how long to record: a duration (--duration 10s) or a number of "
            "messages (--count N)"
        )
    parsed = [parse_channel(c, known_brokers=transports) for c in channels]
    if not parsed:
        raise UsageError("name at least one channel to record (--channel kafka:orders)")
    return parsed


async def _until_done(
    recording: Recording,
    enough: asyncio.Event,
    tasks: Sequence[asyncio.Task[None]],
    started: float,
    duration: float | None,
    progress: Progress | None,
) -> None:
    """Wait until ``enough`` is set or ``duration`` has passed; raise what a pump raised."""
    deadline = None if duration is None else started + duration
    while not enough.is_set():
        failed = next((t for t in tasks if t.done() and t.exception()), None)
        if failed is not None:
            raise failed.exception()  # type: ignore[misc]
        remaining = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
        if remaining <= 0:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(enough.wait(), remaining)
        if progress is not None:
            progress(_status("recording", time.monotonic() - started, duration, recording))


async def _stop(tasks: Sequence[asyncio.Task[None]], subs: Sequence[Any]) -> None:
    """Cancel the pumps and close their subscriptions, whatever state they are in."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    for sub in subs:
        with contextlib.suppress(EventHarnessError, OSError, RuntimeError):
            await sub.aclose()


def _status(verb: str, elapsed: float, total: float | None, recording: Recording) -> str:
    of = f"/{total:g}s" if total is not None else ""
    per = ", ".join(f"{c} {n}" for c, n in sorted(recording.channels().items()))
    return f"{verb} {elapsed:.1f}s{of}: {len(recording)} message(s)" + (f" ({per})" if per else "")


# -- replaying ---------------------------------------------------------------------------


async def replay(
    transports: Mapping[str, Transport],
    recording: Recording,
    *,
    speed: float | None = 1.0,
    progress: Progress | None = None,
) -> int:
    """Publish the recording again: at its pace (``speed=1``), ``speed`` times faster, or as
    fast as the broker takes it (``speed=None``). Returns how many were published."""
    if speed is not None and speed <= 0:
        raise UsageError(f"speed must be a positive factor (1, 10, ...) or max, got {speed}")
    for name in recording.channels():
        parse_channel(name, known_brokers=transports)
    sender = Sender(transports.__getitem__)  # the outgoing pipeline from the Record on
    started = time.monotonic()
    last_report = started
    sent = 0
    for item in recording.events:
        if speed is not None:
            wait = started + item.t / speed - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # keeping the recorded pace is the point here
        channel = parse_channel(item.channel)
        record = item.to_record()
        event = Event(
            str(channel), item.value, record.value, item.key, dict(item.headers), direction="out"
        )
        event.position = await sender.publish(channel, event, record)
        sent += 1
        now = time.monotonic()
        if progress is not None and now - last_report >= 1.0:
            last_report = now
            progress(f"replaying {now - started:.1f}s: {sent}/{len(recording)} message(s)")
    return sent


def replay_as_stub(
    owner: StubHost,
    recording: Recording,
    trigger: str,
    *,
    name: str | None = None,
    match_on: Sequence[str] = ("type",),
    timing: bool = False,
    **options: Any,
) -> Stub:
    """A virtual service learnt from a recording: when it sees an event on ``trigger`` like a
    recorded one (equal at the ``match_on`` paths), it sends what the system sent after that
    one (the recorded messages that carry its correlation id), in the recorded order — with
    ``timing``, at the recorded delays.

    Fields that held the recorded trigger's value under the same name (``order_id``, say)
    take the new event's value, a key equal to the recorded trigger's key takes the new key,
    and correlation id and trace context are the new event's; everything else is as recorded.
    The n-th matching event gets the n-th recorded case, round robin. ``owner`` is a scenario
    (the stub lives as long as it does) or a harness; the replies go out as every stub's do
    (:mod:`eventharness.engine.outgoing`)."""
    cases: list[tuple[Recorded, Event, list[Recorded]]] = []
    events = [(item, item.event()) for item in recording.events]
    for item, event in events:
        if item.channel != trigger and item.seen_on != trigger:
            continue
        if event.correlation_id is None:
            continue
        after = [
            other
            for other, ev in events
            if other.t >= item.t
            and other is not item
            and other.channel != item.channel
            and ev.correlation_id == event.correlation_id
        ]
        if after:
            cases.append((item, event, after))
    if not cases:
        raise UsageError(
            f"the recording has no correlated messages after one on {trigger!r}; "
            f"its channels: {', '.join(recording.channels()) or 'none'}"
        )

    def respond(event: Event, count: int) -> list[Reply]:
        like = [c for c in cases if all(c[1].get(p) == event.get(p) for p in match_on)]
        if not like:
            return []
        recorded, recorded_event, after = like[(count - 1) % len(like)]
        replies = []
        previous = recorded.t
        for item in after:
            headers = {
                k: v
                for k, v in item.headers.items()
                if v != REDACTED
                and k not in (CORRELATION_HEADER, TRACEPARENT_HEADER, MESSAGE_ID_HEADER)
            }
            replies.append(
                Reply(
                    channel=item.channel,
                    value=_carried(item.value, recorded_event.value, event.value),
                    key=event.key if item.key == recorded.key else item.key,
                    headers=headers,
                    delay=max(0.0, item.t - previous) if timing else 0.0,
                )
            )
            previous = item.t
        return replies

    consume = trigger
    return owner.stub(consume, name=name or f"replay of {trigger}", respond=respond, **options)


def _carried(value: Any, recorded: Any, new: Any) -> Any:
    if (
        not isinstance(value, Mapping)
        or not isinstance(recorded, Mapping)
        or not isinstance(new, Mapping)
    ):
        return value
    out = dict(value)
    for key, item in value.items():
        if key in recorded and key in new and recorded[key] == item and key != "type":
            out[key] = new[key]
    return out
