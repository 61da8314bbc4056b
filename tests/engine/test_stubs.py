"""Virtual services: templated answers, conditions, counters, propagation, scoping, the spy,
and the same stub on embedded Kafka and RabbitMQ."""

from __future__ import annotations

import asyncio
import json

import pytest

import eventharness as eh
from eventharness.engine.stubs import Reply, Response, StubError
from eventharness.model.events import Record
from eventharness.transports.memory import MemoryTransport
from tests.conftest import unique

ORDER = {"type": "OrderPlaced", "order_id": "o-1", "total": 42}
PAYMENT = {
    "channel": "k:payments",
    "value": {
        "type": "PaymentAuthorized",
        "order_id": "${in.value.order_id}",
        "amount": "${in.value.total}",
        "note": "order ${in.value.order_id} #${count}",
    },
}


async def test_answers_with_a_templated_event_that_keeps_correlation(memory_url: str) -> None:
    async with eh.Harness({"k": memory_url}) as h:
        async with h.scenario("pays") as s:
            stub = s.stub("k:orders", name="payments", type="OrderPlaced", respond=[PAYMENT])
            pay = s.expect("k:payments", type="PaymentAuthorized", name="pay")
            sent = await s.publish("k:orders", ORDER, key="o-1")
        assert s.result is not None
        got = s.result.events[-1]
        assert got.direction == "in" and got.value == {
            "type": "PaymentAuthorized",
            "order_id": "o-1",
            "amount": 42,
            "note": "order o-1 #1",
        }
        assert got.key == "o-1"  # the consumed key, unless the response names one
        assert got.correlation_id == s.correlation_id
        assert got.headers["correlation-id"] == s.correlation_id
        assert got.trace_id == sent.trace_id and got.traceparent != sent.traceparent
        assert got.message_id and got.message_id != sent.message_id
        assert pay.first is got
        # the spy
        (call,) = stub.calls
        assert call.event.value == ORDER and call.count == 1
        assert [e.value["amount"] for e in call.sent] == [42]
        assert stub.assert_called(times=1, match={"order_id": "o-1"}) == stub.received
        # the timeline shows the stub's send, marked
        lines = s.result.timeline().splitlines()
        assert [line.split()[1:3] for line in lines] == [
            ["→", "k:orders"],
            ["→", "k:payments"],
            ["←", "k:payments"],
        ]
        assert lines[1].endswith("! stub payments")


async def test_conditions_counters_and_several_responses(memory_url: str) -> None:
    respond = [
        Response(
            "k:payments",
            {"type": "PaymentAuthorized", "n": "${count}"},
            when={"total": {"le": 1000}},
        ),
        Response(
            "k:payments",
            {"type": "PaymentDeclined", "reason": "limit"},
            when={"value.total": {"gt": 1000}},
        ),
        Response(
            "k:audit",
            {"type": "Audited", "order": "${in.value.order_id}"},
            key="audit-${count}",
            headers={"x-seen": "${in.type}"},
        ),
        Response("k:audit", {"type": "ThirdOrder"}, when={"count": 3}),
    ]
    async with eh.Harness({"k": memory_url}) as h:
        async with h.scenario("rules") as s:
            stub = s.stub("k:orders", respond=respond)
            auth = s.expect("k:payments", type="PaymentAuthorized", count=2, within=0.3)
            s.expect("k:payments", type="PaymentDeclined", count=1, within=0.3)
            audit = s.expect("k:audit", type="Audited", count=3, within=0.3)
            third = s.expect("k:audit", type="ThirdOrder", count=1, within=0.3)
            for oid, total in (("a", 10), ("b", 5000), ("c", 20)):
                await s.publish(
                    "k:orders", {"type": "OrderPlaced", "order_id": oid, "total": total}, key=oid
                )
        assert [e.value["n"] for e in auth.matched] == [1, 3]  # counts every event it took
        assert [(e.key, e.value["order"], e.headers["x-seen"]) for e in audit.matched] == [
            ("audit-1", "a", "OrderPlaced"),
            ("audit-2", "b", "OrderPlaced"),
            ("audit-3", "c", "OrderPlaced"),
        ]
        assert third.first is not None and third.first.key == "c"
        assert [len(c.sent) for c in stub.calls] == [2, 2, 3]


async def test_a_stub_only_answers_its_own_scenario(memory_url: str) -> None:
    """Two scenarios side by side, each with a stub on the same channel: each order gets one
    answer, from its own scenario's stub."""
    async with eh.Harness({"k": memory_url}) as h:

        async def one(oid: str) -> eh.Scenario:
            async with h.scenario(oid) as s:
                s.stub("k:orders", respond=[PAYMENT])
                s.expect("k:payments", match={"order_id": oid}, count=1, within=0.3)
                await s.publish("k:orders", {**ORDER, "order_id": oid}, key=oid)
            return s

        scenarios = await asyncio.gather(*(one(f"o-{i}") for i in range(5)))
    for s in scenarios:
        assert s.result is not None and s.result.passed
        inbound = [e for e in s.result.events if e.direction == "in"]
        assert len(inbound) == 1


async def test_a_harness_stub_answers_everyone_and_stops(memory_url: str) -> None:
    async with eh.Harness({"k": memory_url}) as h, MemoryTransport(memory_url) as system:
        answers = await system.subscribe("payments")
        async with h.stub("k:orders", respond=[PAYMENT]) as stub:
            await system.publish("orders", Record(json.dumps(ORDER).encode(), b"o-1"))
            await stub.wait_called(1, within=2)
            record = await asyncio.wait_for(anext(aiter(answers)), 2)
        assert json.loads(record.value)["order_id"] == "o-1"
        assert not stub.running
        assert "correlation-id" not in record.headers  # nothing to carry on, nothing invented
        with pytest.raises(eh.UsageError, match="was stopped"):
            await stub.start()
        await answers.aclose()


async def test_a_python_responder(memory_url: str) -> None:
    def respond(event: eh.Event, count: int) -> list[Reply]:
        return [Reply("k:out", {"type": "Echo", "i": i, "of": count}) for i in range(count)]

    async with eh.Harness({"k": memory_url}) as h:
        async with h.scenario("echo") as s:
            s.stub("k:in", respond=respond)
            out = s.expect("k:out", type="Echo", count=3, within=0.3)
            await s.publish("k:in", {"n": 1})
            await s.publish("k:in", {"n": 2})
        assert sorted((e.value["of"], e.value["i"]) for e in out.matched) == [
            (1, 0),
            (2, 0),
            (2, 1),
        ]


async def test_assert_called_and_wait_called_explain_what_arrived(memory_url: str) -> None:
    async with eh.Harness({"k": memory_url}) as h:
        async with h.scenario("spy") as s:
            stub = s.stub("k:orders", type="OrderPlaced")  # no respond: a pure spy
            await s.publish("k:orders", {"type": "Other"})
            await s.publish("k:orders", ORDER, key="o-1")
            await stub.wait_called(1, within=2)
            with pytest.raises(AssertionError) as caught:
                await stub.wait_called(2, within=0.05)
        assert "expected 2 call(s) matching [type=OrderPlaced] within 0.05s, got 1" in str(
            caught.value
        )
        with pytest.raises(AssertionError) as caught:
            stub.assert_called(times=1, match={"order_id": "o-2"})
        text = str(caught.value)
        assert text.splitlines()[0] == (
            "stub 'k:orders' on k:orders: expected 1 call(s) matching "
            "[match={'order_id': 'o-2'}], got 0"
        )
        assert "#1 OrderPlaced key=o-1" in text
        assert "order_id: expected 'o-2', got 'o-1'" in text
        assert "took 1 event(s) that did not match its own filter [type=OrderPlaced]" in text


async def test_a_template_naming_a_missing_field_fails_the_scenario(memory_url: str) -> None:
    async with eh.Harness({"k": memory_url}) as h:
        with pytest.raises(eh.ScenarioFailed) as caught:
            async with h.scenario("typo") as s:
                s.stub(
                    "k:orders",
                    name="payments",
                    respond=[
                        {"channel": "k:payments", "value": {"order_id": "${in.value.orderId}"}}
                    ],
                )
                s.expect("k:payments", within=0.2)
                await s.publish("k:orders", ORDER)
    kinds = [(f.kind, f.step) for f in caught.value.result.failures]
    assert kinds == [("timeout", "k:payments"), ("error", "stub payments")]  # no answer: late too
    error = next(f for f in caught.value.result.failures if f.kind == "error")
    assert error.message == (
        "stub payments: ${in.value.orderId}: the consumed event has no 'value.orderId' "
        "(its value has: order_id, total, type)"
    )


async def test_harness_stub_errors_raise_on_exit(memory_url: str) -> None:
    async with eh.Harness({"k": memory_url}) as h, MemoryTransport(memory_url) as system:
        with pytest.raises(StubError, match=r"no 'value\.nope'"):
            async with h.stub(
                "k:in", respond=[{"channel": "k:out", "value": "${in.value.nope}"}]
            ) as stub:
                await system.publish("in", Record(b'{"a": 1}'))
                (call,) = await stub.wait_called(1, within=2)
                assert call.sent == [] and len(stub.errors) == 1


def test_bad_stub_arguments_are_usage_errors() -> None:
    h = eh.Harness({"k": "memory://x"})
    with pytest.raises(eh.UsageError, match="needs channel"):
        h.stub("k:in", respond=[{"value": 1}])
    with pytest.raises(eh.UsageError, match="not configured"):
        h.stub("k:in", respond=[{"channel": "nope:out", "value": 1}])
    with pytest.raises(eh.UsageError, match="faults must be Fault objects"):
        h.stub("k:in", faults=["drop"])  # type: ignore[list-item]


# -- real brokers ------------------------------------------------------------------------


@pytest.mark.amqp
async def test_on_rabbitmq_the_correlation_property_is_carried_on(amqp_url: str) -> None:
    exchange = unique("eh-stubs")
    url = amqp_url + "?declare_exchanges=true"
    async with eh.Harness({"r": url}) as h:
        transport = h.transport("r")
        try:
            async with h.scenario("amqp stub") as s:
                raw = await transport.subscribe(f"{exchange}/payments.*")
                stub = s.stub(
                    f"r:{exchange}/orders.*",
                    type="OrderPlaced",
                    respond=[
                        {
                            "channel": f"r:{exchange}/payments.authorized",
                            "value": {
                                "type": "PaymentAuthorized",
                                "order_id": "${in.value.order_id}",
                            },
                        }
                    ],
                )
                pay = s.expect(f"r:{exchange}/payments.*", type="PaymentAuthorized")
                await s.publish(f"r:{exchange}/orders.placed", ORDER, key="o-1")
                record = await asyncio.wait_for(anext(aiter(raw)), 10)
                await raw.aclose()
            assert record.properties["correlation_id"] == s.correlation_id
            assert record.properties["routing_key"] == "payments.authorized"
            assert pay.first is not None and pay.first.key == "o-1"
            assert stub.assert_called(1)[0].position.delivery_tag is not None
        finally:
            await transport.delete_channel(f"{exchange}/")


@pytest.mark.kafka
async def test_on_kafka_as_observer_and_as_a_worker_group(kafka_url: str) -> None:
    orders, payments = unique("orders"), unique("payments")
    async with eh.Harness({"k": kafka_url}) as h:
        for topic in (orders, payments):
            await h.transport("k").create_channel(topic, partitions=2)
        for group in (None, unique("stub-group")):
            async with h.scenario(f"kafka stub group={group}") as s:
                stub = s.stub(
                    f"k:{orders}", group=group, respond=[{**PAYMENT, "channel": f"k:{payments}"}]
                )
                s.expect(f"k:{payments}", match={"order_id": "o-1", "amount": 42}, within=20)
                await s.publish(f"k:{orders}", ORDER, key="o-1")
            assert stub.calls[0].event.position.offset is not None
            assert s.result is not None and s.result.passed
            assert [e.direction for e in s.result.events] == ["out", "out", "in"]


def test_a_reply_reads_fields_of_the_scenarios_variables() -> None:
    """``${order.total}`` (a field of a variable) and ``${fake.name}`` (a mapping variable)."""
    event = eh.Event("kafka:orders", {"order_id": "o-1"}, b"{}")
    drawn = iter(["Ann Lee", "Bob Roe"])

    class Names(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return next(drawn)

    response = Response(
        "kafka:payments",
        {"total": "${order.total}", "sku": "${order.lines.0.sku}", "payer": "${fake.name}"},
    )
    variables = {"order": {"total": 42, "lines": [{"sku": "s-1"}]}, "fake": Names()}
    reply = response.build(event, 1, "pay", variables)
    assert reply.value == {"total": 42, "sku": "s-1", "payer": "Ann Lee"}
    assert response.build(event, 2, "pay", variables).value["payer"] == "Bob Roe"
    with pytest.raises(StubError, match=r"stub pay: \$\{order.nope\}: no 'nope' in the variable"):
        Response("kafka:payments", {"x": "${order.nope}"}).build(event, 1, "pay", variables)
    default = Response("kafka:payments", {"x": "${order.nope:-0}"}).build(
        event, 1, "pay", variables
    )
    assert default.value == {"x": "0"}
