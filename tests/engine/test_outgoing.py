"""The outgoing pipeline on its own: stamping, carrying a cause's headers, composing (validate,
encode, record), and the sender (faults, the transport, the timeline, transport errors)."""

from __future__ import annotations

from typing import Any

import pytest

import eventharness as eh
from eventharness.engine.outgoing import (
    Forward,
    Outgoing,
    Rejected,
    Sender,
    carry,
    compose,
    stamp,
)
from eventharness.model.errors import BrokerError
from eventharness.model.events import Event, Position, Record, make_traceparent, trace_id_of

SCHEMA = {"type": "object", "required": ["total"], "properties": {"total": {"type": "integer"}}}


def test_stamp_gives_ids_and_trace_context_and_the_callers_headers_win() -> None:
    correlation = "c" * 32
    text, wire = stamp(correlation, {"message-id": "m-given", "x-raw": b"\xff"})
    assert text["correlation-id"] == correlation and wire["correlation-id"] == correlation.encode()
    assert trace_id_of(text["traceparent"]) == correlation
    assert wire["traceparent"] == text["traceparent"].encode()
    assert text["message-id"] == "m-given" and wire["message-id"] == b"m-given"
    assert wire["x-raw"] == b"\xff"  # bytes go to the broker as they were given


def test_carry_propagates_the_causes_headers_and_the_replys_own_win() -> None:
    cause = Event(
        "k:orders",
        {"type": "OrderPlaced"},
        b"{}",
        headers={"correlation-id": "c-1"},
        correlation_id="c-1",
        traceparent=make_traceparent("a" * 32),
    )
    text, wire = carry(cause, "correlation_id", {"x-extra": "1", "message-id": "m-2"})
    assert text["correlation-id"] == "c-1"
    assert text["traceparent"].split("-")[1] == "a" * 32  # same trace, new span
    assert text["traceparent"] != cause.traceparent
    assert text["message-id"] == "m-2" and wire["x-extra"] == b"1"


async def test_compose_validates_before_encoding_and_rejects_what_violates() -> None:
    async with eh.Harness({"k": "memory://outgoing-compose"}) as h:
        channel = h.channel("k:orders")
        event, record = compose(
            h,
            channel,
            {"total": 1},
            key="o-1",
            headers=stamp("c-1", None),
            correlation_id="c-1",
            schema=SCHEMA,
            validate=True,
            partition=2,
        )
        assert event.direction == "out" and event.raw == record.value == b'{"total":1}'
        assert record.key == b"o-1" and record.partition == 2
        assert record.properties == {"message_id": event.message_id, "correlation_id": "c-1"}
        with pytest.raises(Rejected) as caught:
            compose(
                h,
                channel,
                {"total": "1"},
                key=None,
                headers=stamp("c-1", None),
                correlation_id="c-1",
                schema=SCHEMA,
                validate=True,
            )
        assert caught.value.event.value == {"total": "1"} and caught.value.problems
        compose(
            h,
            channel,
            {"total": "1"},
            key=None,
            headers=stamp("c-1", None),
            correlation_id="c-1",
            schema=SCHEMA,
        )  # a stub's reply is not validated


class _Transport:
    def __init__(self, fail: bool = False) -> None:
        self.published: list[tuple[str, Record]] = []
        self.fail = fail

    async def publish(self, address: str, record: Record) -> Position:
        if self.fail:
            raise BrokerError("broker gone")
        self.published.append((address, record))
        return Position(offset=len(self.published))


def _message(value: Any = 1) -> tuple[Event, Record]:
    return Event("b:x", value, b"1", direction="out"), Record(b"1")


async def test_sender_notes_the_timeline_then_publishes_without_faults() -> None:
    transport, timeline = _Transport(), []
    sender = Sender(lambda broker: transport, timeline.append)  # type: ignore[arg-type,return-value]
    channel = eh.parse_channel("b:x")
    event, record = _message()
    event.position = await sender.publish(channel, event, record)
    assert timeline == [event] and event.seq == 1 and event.position.offset == 1
    assert transport.published == [("x", record)]


async def test_sender_runs_faults_in_order_and_notes_lost_messages() -> None:
    transport, timeline = _Transport(), []
    sender = Sender(lambda broker: transport, timeline.append)  # type: ignore[arg-type,return-value]

    async def twice(item: Outgoing, forward: Forward) -> None:
        await forward(item.noted("first"))
        await forward(item.copy().noted("again"))

    async def drop_again(item: Outgoing, forward: Forward) -> None:
        if "again" in item.notes:
            item.lost(item.noted("lost"))
        else:
            await forward(item)

    event, record = _message()
    await sender.send(eh.parse_channel("b:x"), event, record, [twice, drop_again], ["by me"])
    assert [e.note for e in timeline] == ["by me; first", "by me; first; again; lost"]
    assert len(transport.published) == 1


async def test_sender_reports_transport_errors_to_failed_or_raises() -> None:
    failures: list[str] = []
    sender = Sender(
        lambda broker: _Transport(fail=True),  # type: ignore[arg-type,return-value]
        failed=lambda ev, exc: failures.append(str(exc)),
    )
    event, record = _message()
    await sender.send(eh.parse_channel("b:x"), event, record)
    assert failures == ["broker gone"]
    with pytest.raises(BrokerError):
        await Sender(lambda broker: _Transport(fail=True)).send(  # type: ignore[arg-type,return-value]
            eh.parse_channel("b:x"), *_message()
        )
