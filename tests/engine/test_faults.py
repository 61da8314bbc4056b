"""Each fault makes the failure a scenario checking for it expects — on the memory broker,
RabbitMQ and embedded Kafka — is deterministic under its seed, and shows on the timeline."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

import eventharness as eh
from eventharness.engine.faults import (
    Corrupt,
    Delay,
    Drop,
    Duplicate,
    Fault,
    Pause,
    Reorder,
)
from tests.conftest import unique
from tests.inprocess_shop import PAYMENT_SCHEMA


@dataclass
class Net:
    """Where the flow runs: scenario publishes to ``orders``, the stub reads ``consume`` and
    answers on ``payments``, the scenario collects ``watch``."""

    kind: str
    brokers: dict[str, str]
    orders: str
    consume: str
    payments: str
    watch: str
    within: float  # a window every healthy answer fits in on this broker


@pytest.fixture(
    params=[
        "memory",
        pytest.param("amqp", marks=pytest.mark.amqp),
        pytest.param("kafka", marks=pytest.mark.kafka),
    ]
)
async def net(request: pytest.FixtureRequest, memory_url: str) -> AsyncIterator[Net]:
    kind = request.param
    if kind == "memory":
        yield Net(kind, {"b": memory_url}, "b:orders", "b:orders", "b:payments", "b:payments", 0.5)
    elif kind == "amqp":
        url = request.getfixturevalue("amqp_url") + "?declare_exchanges=true"
        ex = unique("eh-faults")
        yield Net(
            kind,
            {"b": url},
            f"b:{ex}/orders.placed",
            f"b:{ex}/orders.*",
            f"b:{ex}/payments.made",
            f"b:{ex}/payments.*",
            3.0,
        )
        async with eh.Harness({"b": url}) as h:
            with contextlib.suppress(eh.BrokerError):
                await h.transport("b").delete_channel(f"{ex}/")
    else:
        url = request.getfixturevalue("kafka_url")
        orders, payments = unique("orders"), unique("payments")
        async with eh.Harness({"b": url}) as h:
            for topic in (orders, payments):
                await h.transport("b").create_channel(topic, partitions=2)
        yield Net(
            kind, {"b": url}, f"b:{orders}", f"b:{orders}", f"b:{payments}", f"b:{payments}", 5.0
        )


def payment(net: Net) -> dict[str, Any]:
    return {
        "channel": net.payments,
        "value": {
            "type": "PaymentAuthorized",
            "order_id": "${in.value.order_id}",
            "amount": "${in.value.total}",
            "seq": "${in.value.seq}",
        },
    }


def order(oid: str = "o-1", seq: int = 0) -> dict[str, Any]:
    return {"type": "OrderPlaced", "order_id": oid, "total": 42, "seq": seq}


async def run_flow(
    net: Net,
    faults: list[Fault],
    *,
    orders: int = 1,
    key_order: bool = False,
    schema: Any = None,
    type_filter: bool = True,
    count: int | None = None,
    within: float | None = None,
    amount: bool = False,
) -> tuple[eh.ScenarioResult, list[str]]:
    """One scenario against a faulty payments stub: its result and its failures."""
    async with eh.Harness(net.brokers) as h:
        try:
            async with h.scenario("faulty payments") as s:
                s.stub(
                    net.consume,
                    name="payments",
                    type="OrderPlaced",
                    respond=[payment(net)],
                    faults=faults,
                )
                pay = s.expect(
                    net.watch,
                    type="PaymentAuthorized" if type_filter else None,
                    schema=schema,
                    name="pay",
                    count=count,
                    at_least=orders if orders > 1 and count is None else None,
                    within=within or net.within,
                )
                if key_order:
                    s.expect_key_order(pay, by="value.seq", name="per-key order")
                if amount:
                    s.check_equal("pay.value.amount", 42, name="amount kept")
                for seq in range(orders):
                    await s.publish(net.orders, order(seq=seq), key="o-1")
        except eh.ScenarioFailed as exc:
            result = exc.result
        else:
            assert s.result is not None
            result = s.result
    return result, [f"{f.kind}:{f.step}" for f in result.failures]


def notes(result: eh.ScenarioResult) -> list[str]:
    return [e.note or "" for e in result.events if e.direction == "out"]


async def test_healthy_stub_passes(net: Net) -> None:
    result, failures = await run_flow(net, [])
    assert failures == []
    assert result.passed


async def test_drop_is_a_timeout(net: Net) -> None:
    result, failures = await run_flow(net, [Drop()], within=0.5)
    assert failures == ["timeout:pay"]
    assert "stub payments; dropped, never sent (fault drop)" in notes(result)
    assert "! stub payments; dropped, never sent (fault drop)" in result.timeline()


async def test_delay_beyond_the_window_is_a_timeout_and_within_it_passes(net: Net) -> None:
    result, failures = await run_flow(net, [Delay(1.0)], within=0.3)
    assert failures == ["timeout:pay"]
    assert (
        "stub payments; delayed 1000ms (fault delay 1s); never sent: stopped while "
        "waiting" in notes(result)
    )
    result, failures = await run_flow(net, [Delay(0.2, jitter=0.05)])
    assert failures == []
    (published, answered) = (e for e in result.events if e.direction == "out")
    arrived = next(e for e in result.events if e.direction == "in")
    assert answered.received - published.received >= 0.15
    assert arrived.received >= answered.received
    assert "(fault delay 0.2s±0.05s)" in (answered.note or "")


async def test_duplicate_is_a_duplicate(net: Net) -> None:
    result, failures = await run_flow(net, [Duplicate()], count=1, within=0.5)
    assert failures == ["duplicate:pay"]
    assert any("sent again, copy 2 of 2 (fault duplicate)" in n for n in notes(result))


async def test_reorder_breaks_per_key_order(net: Net) -> None:
    result, failures = await run_flow(net, [Reorder(hold=1)], orders=2, key_order=True)
    assert failures == ["ordering:per-key order"]
    stub_notes = [n for n in notes(result) if n.startswith("stub")]
    assert stub_notes == [
        "stub payments",
        "stub payments; held back (fault reorder hold=1); released after 1 later message(s)",
    ]


async def test_corrupt_field_is_a_schema_failure(net: Net) -> None:
    result, failures = await run_flow(net, [Corrupt(field="amount")], schema=PAYMENT_SCHEMA)
    assert failures == ["schema:pay"]
    assert "stub payments; amount: 42 → '42' (fault corrupt field=amount)" in notes(result)
    assert "amount" in "\n".join(result.failures[0].details)


async def test_corrupt_bytes_are_a_schema_failure(net: Net) -> None:
    result, failures = await run_flow(net, [Corrupt()], schema=PAYMENT_SCHEMA, type_filter=False)
    assert failures == ["schema:pay"]
    assert "not UTF-8 text (16 bytes" in "\n".join(result.failures[0].details)
    assert "stub payments; payload replaced by 16 undecodable bytes (fault corrupt bytes)" in notes(
        result
    )


async def test_corrupt_value_is_a_consistency_failure(net: Net) -> None:
    _, failures = await run_flow(net, [Corrupt(field="amount", value=43)], amount=True)
    assert failures == ["consistency:amount kept"]


async def test_pause_builds_lag_then_catches_up(net: Net) -> None:
    result, failures = await run_flow(net, [Pause(1.0)], within=0.4)
    assert failures == ["timeout:pay"]
    result, failures = await run_flow(net, [Pause(0.3)], orders=3)
    assert failures == []
    answers = [e for e in result.events if e.direction == "in"]
    assert len(answers) == 3
    assert all(result.t(e) >= 0.3 for e in answers)  # all three waited behind the pause
    stub_notes = [n for n in notes(result) if n.startswith("stub")]
    assert stub_notes == [
        "stub payments; consumer paused 0.3s before taking its cause (fault pause 0.3s nth=1)",
        "stub payments",
        "stub payments",
    ]


# -- faults on the harness's own publishes -----------------------------------------------


async def publish_run(
    net: Net, faults: list[Fault], *, ordered: bool = False, count: int | None = None
) -> tuple[eh.ScenarioResult, list[str], eh.Scenario]:
    async with eh.Harness(net.brokers) as h:
        try:
            async with h.scenario("faulty publishes") as s:
                stub = s.stub(net.consume, name="payments", respond=[payment(net)])
                first = s.expect(
                    net.watch, match={"seq": 0}, name="first", count=count, within=net.within
                )
                if ordered:
                    s.expect(
                        net.watch, match={"seq": 1}, name="second", after=first, within=net.within
                    )
                for seq in range(2 if ordered else 1):
                    await s.publish(net.orders, order(seq=seq), key="o-1", faults=faults)
        except eh.ScenarioFailed as exc:
            result = exc.result
        else:
            assert s.result is not None
            result = s.result
    assert stub is not None
    return result, [f"{f.kind}:{f.step}" for f in result.failures], s


async def test_publish_faults(net: Net) -> None:
    result, failures, _ = await publish_run(net, [Drop()])
    assert failures == ["timeout:first"]
    assert notes(result) == ["dropped, never sent (fault drop)"]
    # a duplicated publish: the (non-idempotent) stub answers twice, with two message ids
    result, failures, _ = await publish_run(net, [Duplicate()], count=1)
    assert failures == ["unexpected:first"]
    # one Reorder object given to both publishes swaps them
    result, failures, _ = await publish_run(net, [Reorder()], ordered=True)
    published = [
        e.value["seq"] for e in result.events if e.direction == "out" and e.channel == net.orders
    ]
    answered = [e.value["seq"] for e in result.events if e.direction == "in"]
    assert published == answered == [1, 0]
    assert failures == ["ordering:second"]


@pytest.mark.kafka
async def test_an_after_violation_inside_one_kafka_fetch_batch_is_an_ordering_failure(
    kafka_url: str,
) -> None:
    """Two events that come back in one fetch batch share their receive time; the arrival
    sequence still puts the second-expected one first, and `after=` says so."""
    topic, other = unique("batched"), unique("arming")
    # linger: the two concurrent publishes leave in one produce request, one record batch,
    # so the observer fetches them together
    async with eh.Harness({"b": f"{kafka_url}?linger_ms=200"}) as h:
        await h.transport("b").create_channel(topic, partitions=1)
        with pytest.raises(eh.ScenarioFailed) as caught:
            async with h.scenario("one batch") as s:
                first = s.expect(f"b:{topic}", match={"seq": 0}, name="first", within=5)
                s.expect(f"b:{topic}", match={"seq": 1}, name="second", after=first, within=5)
                await s.publish(f"b:{other}", {"type": "Arm"})  # arms the observer first
                await asyncio.gather(
                    s.publish(f"b:{topic}", order(seq=1), key="o-1"),
                    s.publish(f"b:{topic}", order(seq=0), key="o-1"),
                )
        for name in (topic, other):
            await h.transport("b").delete_channel(name)
    result = caught.value.result
    answers = [e for e in result.events if e.direction == "in"]
    assert [e.value["seq"] for e in answers] == [1, 0]
    assert answers[0].received == answers[1].received  # one fetch batch: a tie on time
    assert [f"{f.kind}:{f.step}" for f in result.failures] == ["ordering:second"]


async def test_reorder_releases_a_lone_message_late_and_stopping_loses_it(
    memory_url: str,
) -> None:
    async with eh.Harness({"b": memory_url}) as h:
        async with h.scenario("lone") as s:
            s.expect("b:orders", within=1)
            await s.publish("b:orders", order(), faults=[Reorder(release_after=0.2)])
        assert s.result is not None
        (out,) = (e for e in s.result.events if e.direction == "out")
        assert out.note == (
            "held back (fault reorder hold=1); released alone after 0.2s: no later message"
        )
        with pytest.raises(eh.ScenarioFailed) as caught:
            async with h.scenario("stopped") as s:
                s.expect("b:orders", within=0.1)
                await s.publish("b:orders", order(), faults=[Reorder(release_after=5)])
        (out,) = (e for e in caught.value.result.events if e.direction == "out")
        assert out.note == "held back (fault reorder hold=1); never released: stopped while held"


# -- determinism -------------------------------------------------------------------------


def picks(fault: Fault, n: int = 40) -> list[int]:
    return [i for i in range(1, n + 1) if fault.selects()]


def test_selection_is_deterministic_under_a_seed() -> None:
    assert picks(Drop(rate=0.3, seed=7)) == picks(Drop(rate=0.3, seed=7))
    assert picks(Drop(rate=0.3, seed=7)) != picks(Drop(rate=0.3, seed=8))
    assert picks(Drop(rate=0.3)) == picks(Drop(rate=0.3, seed=0))
    assert 4 <= len(picks(Drop(rate=0.3, seed=7))) <= 20
    assert picks(Drop(nth=[2, 5])) == [2, 5]
    assert picks(Drop(every=10)) == [10, 20, 30, 40]
    assert picks(Drop(every=2, nth=range(1, 7))) == [2, 4, 6]
    assert picks(Pause(1)) == [1]


async def test_a_seeded_stub_drops_the_same_answers_every_run(memory_url: str) -> None:
    async def dropped(seed: int) -> list[int]:
        async with eh.Harness({"b": memory_url}) as h, h.scenario("rate") as s:
            stub = s.stub(
                "b:orders",
                respond=[{"channel": "b:payments", "value": {"seq": "${in.value.seq}"}}],
                faults=[Drop(rate=0.5, seed=seed)],
            )
            for seq in range(12):
                await s.publish("b:orders", order(seq=seq))
            await stub.wait_called(12, within=2)
        return [c.event.value["seq"] for c in stub.calls if "dropped" in (c.sent[0].note or "")]

    first = await dropped(3)
    assert first == await dropped(3)
    assert first != await dropped(4)
    assert 0 < len(first) < 12


async def test_delay_waits_its_seeded_jittered_time(memory_url: str) -> None:
    async def delays(seed: int) -> list[tuple[float, float]]:
        """(noted delay, how long the publish took) of each of six delayed publishes."""
        fault = Delay(0.05, jitter=0.04, seed=seed)
        measured = []
        async with eh.Harness({"b": memory_url}) as h, h.scenario("delayed") as s:
            s.expect("b:orders", at_least=6, within=2)
            for seq in range(6):
                began = time.monotonic()
                event = await s.publish("b:orders", order(seq=seq), faults=[fault])
                took = time.monotonic() - began
                found = re.fullmatch(
                    r"delayed (\d+)ms \(fault delay 0\.05s±0\.04s\)", event.note or ""
                )
                assert found, event.note
                measured.append((int(found[1]) / 1000, took))
        return measured

    first = await delays(5)
    noted = [d for d, _ in first]
    assert all(0.01 <= d <= 0.09 for d in noted), noted  # 0.05 s ± 0.04 s
    assert len(set(noted)) > 1, noted  # jitter varies the delay
    assert all(took >= d - 0.002 for d, took in first), first  # and the publish waited it
    assert [d for d, _ in await delays(5)] == noted  # the same seed, the same delays
    assert [d for d, _ in await delays(6)] != noted


def test_fault_arguments_are_checked() -> None:
    with pytest.raises(eh.UsageError, match=r"nth must be a whole number ≥ 1"):
        Drop(nth=0)
    with pytest.raises(
        eh.UsageError, match="delay must be a positive, finite number of seconds, got -1"
    ):
        Delay(-1)
