"""Arming: a scenario subscribes what it expects when it is declared, not at its first publish.

A system triggered some other way (an HTTP call, a command, a raw broker write) is seen once
``await s.armed()`` returned; windows open when the scenario is armed, so a slow subscription
does not eat into ``within``; a failure never claims a subscription that did not exist.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

import eventharness as eh
from eventharness.engine.expectations import Expectation
from eventharness.engine.matchers import Matcher
from eventharness.engine.verdict import Evidence, Facts, judge
from eventharness.model.events import Record
from eventharness.model.result import Failure
from eventharness.transports.base import Subscription
from eventharness.transports.memory import MemoryTransport


class SlowSubscribe:
    """A memory transport whose ``subscribe`` takes ``delay`` seconds (a Kafka consumer waits
    for its assignment much like this); ``called`` is set when a subscribe starts."""

    def __init__(self, url: str, delay: float) -> None:
        self.inner = MemoryTransport(url)
        self.url = self.inner.url
        self.delay = delay
        self.called = asyncio.Event()

    async def connect(self) -> None:
        await self.inner.connect()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def publish(self, address: str, record: Record) -> Any:
        return await self.inner.publish(address, record)

    async def subscribe(self, address: str, **options: Any) -> Subscription:
        self.called.set()
        await asyncio.sleep(self.delay)
        return await self.inner.subscribe(address, **options)

    async def create_channel(self, address: str, *, partitions: int = 1) -> None:
        await self.inner.create_channel(address, partitions=partitions)

    async def delete_channel(self, address: str) -> None:
        await self.inner.delete_channel(address)


@pytest.fixture
async def system(memory_url: str) -> AsyncIterator[MemoryTransport]:
    """The system under test's side of the memory broker."""
    async with MemoryTransport(memory_url) as transport:
        yield transport


def rec(value: Any, correlation_id: str) -> Record:
    return Record(json.dumps(value).encode(), None, {"correlation-id": correlation_id.encode()})


async def test_a_trigger_that_is_not_a_publish_is_seen_after_armed(
    memory_url: str, system: MemoryTransport
) -> None:
    async with eh.Harness({"k": memory_url}) as h, h.scenario("raw trigger") as s:
        done = s.expect("k:out", type="Done", within=2)
        await s.armed()
        assert h.watching("k:out")
        # the system is triggered by something else than s.publish (HTTP, a command, a DB)
        await system.publish("out", rec({"type": "Done", "n": 1}, s.correlation_id))
        assert (await s.first_event(done)) is not None


async def test_a_probe_can_be_the_trigger(memory_url: str, system: MemoryTransport) -> None:
    async with eh.Harness({"k": memory_url}) as h, h.scenario("probe trigger") as s:
        s.expect("k:out", type="Done", within=2)

        async def trigger() -> bool:
            await system.publish("out", rec({"type": "Done"}, s.correlation_id))
            return True

        assert await s.eventually(trigger, within=1)
    assert s.result is not None and s.result.passed


async def test_declaring_starts_the_subscription_without_awaiting_the_scenario(
    memory_url: str,
) -> None:
    slow = SlowSubscribe(memory_url, delay=0.0)
    async with eh.Harness({"k": slow}) as h, h.scenario("declared") as s:
        s.expect("k:out", within=1, at_least=0)
        with anyio.fail_after(2):  # before: nothing subscribed until a publish or the end
            await slow.called.wait()


async def test_within_starts_when_the_scenario_is_armed(memory_url: str) -> None:
    # subscribing takes 0.4 s, the window is 0.2 s: the event comes right after arming
    slow = SlowSubscribe(memory_url, delay=0.4)
    async with (
        eh.Harness({"k": slow}) as h,
        MemoryTransport(memory_url) as system,
        h.scenario("slow arming") as s,
    ):
        s.expect("k:out", type="Done", within=0.2)
        await s.publish("k:in", {"type": "Go"})
        await system.publish("out", rec({"type": "Done"}, s.correlation_id))
    assert s.result is not None and s.result.passed, s.result and s.result.explain()
    assert s.started - s.began >= 0.35  # windows were measured from arming, not from entry


async def test_a_late_subscription_is_not_reported_as_a_quiet_channel(
    memory_url: str, system: MemoryTransport
) -> None:
    async with eh.Harness({"k": memory_url}) as h:
        with pytest.raises(eh.ScenarioFailed) as caught:
            async with h.scenario("too late") as s:
                # the system answered before anything was expected: the collector missed it
                await system.publish("out", rec({"type": "Done"}, s.correlation_id))
                s.expect("k:out", type="Done", within=0.1)
    text = caught.value.result.explain()
    assert "the collector was subscribed; nothing arrived" not in text
    assert "subscribed to k:out from t=" in text
    assert "await s.armed()" in text


def test_a_channel_never_subscribed_is_said_so(memory_url: str) -> None:
    h = eh.Harness({"k": memory_url})  # nothing was ever subscribed on it
    exp = Expectation(name="Done", channel="k:out", matcher=Matcher(type="Done"), within=0.1)
    evidence = Evidence("c-1", 0.0, 0.0, [], [exp], [], [], [], False)
    failures: list[Failure] = []
    judge(h, evidence, failures, Facts(h.scenario("unused")), now=1.0)
    (failure,) = failures
    assert failure.kind == "timeout"
    assert "the collector never subscribed to k:out" in "\n".join(failure.details)
    assert "was subscribed" not in "\n".join(failure.details)
