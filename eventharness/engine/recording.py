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
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eventharness.engine.outgoing import Sender
from eventharness.engine.recordfile import (
    REDACTED,
    Progress,
    Recorded,
    Recording,
    is_secret_header,
    recorded_from,
)
from eventharness.engine.stubs import Reply, Stub, StubHost
from eventharness.model.channels import Channel, parse_channel
from eventharness.model.errors import EventHarnessError, UsageError
from eventharness.model.events import (
    CORRELATION_HEADER,
    CORRELATION_ID_HEADER,
    MESSAGE_ID_HEADER,
    TRACEPARENT_HEADER,
    Event,
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

# -- recording ---------------------------------------------------------------------------


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
            recording.events.append(recorded_from(channel, rec, started, started_wall))
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
                and k
                not in (
                    CORRELATION_HEADER,
                    CORRELATION_ID_HEADER,
                    TRACEPARENT_HEADER,
                    MESSAGE_ID_HEADER,
                )
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
