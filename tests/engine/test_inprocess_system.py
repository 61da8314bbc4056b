"""The engine against an in-process two-hop system: the correct version passes, and every
broken variant fails with exactly the failure kind that names what it broke."""

from __future__ import annotations

import uuid

import pytest

import eventharness as eh
from tests.inprocess_shop import FAULTS, PAYMENT_SCHEMA, Shop, running_shop


def brokers(url: str) -> dict[str, str]:
    return {"kafka": url, "rabbit": url}


async def order_scenario(
    h: eh.Harness, order_id: str, shop: Shop | None = None, within: float = 0.5
) -> eh.ScenarioResult:
    shop = shop or Shop("memory://", "memory://")
    async with h.scenario(f"order {order_id} ships") as s:
        pay = s.expect(
            f"kafka:{shop.payments}",
            type="PaymentAuthorized",
            match={"order_id": order_id},
            schema=PAYMENT_SCHEMA,
            within=within,
            name="pay",
        )
        s.expect(
            f"rabbit:{shop.exchange}/shipment.*",
            type="ShipmentScheduled",
            after=pay,
            within=within,
            count=1,
            name="ship",
        )
        await s.publish(
            f"kafka:{shop.orders}",
            {"type": "OrderPlaced", "order_id": order_id, "total": 42},
            key=order_id,
        )
        s.check_equal("pay.value.amount", "ship.value.amount", 42, name="amounts agree")
    assert s.result is not None
    return s.result


async def test_correct_system_passes(memory_url: str) -> None:
    async with running_shop(memory_url), eh.Harness(brokers(memory_url)) as h:
        result = await order_scenario(h, "o-1", Shop(memory_url, memory_url))
    assert result.passed
    assert [(e.direction, e.channel, e.type) for e in result.events] == [
        ("out", "kafka:orders", "OrderPlaced"),
        ("in", "kafka:payments", "PaymentAuthorized"),
        ("in", "rabbit:shipping/shipment.*", "ShipmentScheduled"),
    ]


EXPECTED = {
    "reordered": ("ordering", "ship"),
    "dropped": ("timeout", "pay"),
    "duplicated": ("duplicate", "ship"),
    "slow": ("timeout", "pay"),
    "bad-schema": ("schema", "pay"),
    "lost-correlation": ("timeout", "pay"),
    "inconsistent-amount": ("consistency", "amounts agree"),
}


@pytest.mark.parametrize("fault", FAULTS)
async def test_each_broken_variant_fails_with_its_kind(memory_url: str, fault: str) -> None:
    async with running_shop(memory_url, fault), eh.Harness(brokers(memory_url)) as h:
        with pytest.raises(eh.ScenarioFailed) as caught:
            await order_scenario(h, "o-1")
    result = caught.value.result
    kind, step = EXPECTED[fault]
    assert [(f.kind, f.step) for f in result.failures] == [(kind, step)]
    assert result.status == "failed"


async def test_lost_correlation_names_the_nearest_miss(memory_url: str) -> None:
    async with running_shop(memory_url, "lost-correlation"), eh.Harness(brokers(memory_url)) as h:
        with pytest.raises(eh.ScenarioFailed) as caught:
            await order_scenario(h, "o-9")
    text = str(caught.value)
    assert "[timeout] pay: kafka:payments [type=PaymentAuthorized" in text
    assert "nearest misses:" in text
    assert "correlation: carries no correlation id, not this scenario's" in text
    assert "within=" in text  # says which setting widens the window


async def test_schema_failure_names_field_and_rule(memory_url: str) -> None:
    async with running_shop(memory_url, "bad-schema"), eh.Harness(brokers(memory_url)) as h:
        with pytest.raises(eh.ScenarioFailed) as caught:
            await order_scenario(h, "o-2")
    (failure,) = caught.value.result.failures
    assert "amount" in "\n".join(failure.details)
    assert "type" in "\n".join(failure.details)


async def test_failure_text_is_a_timeline(memory_url: str) -> None:
    async with (
        running_shop(memory_url, "inconsistent-amount"),
        eh.Harness(brokers(memory_url)) as h,
    ):
        with pytest.raises(eh.ScenarioFailed) as caught:
            await order_scenario(h, "o-3")
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("scenario 'order o-3 ships' failed in ")
    assert (
        "✗ [consistency] amounts agree: values differ: pay.value.amount=42, "
        "ship.value.amount=43, 42=42" in lines
    )
    timeline = lines[lines.index("timeline (t from scenario start, → sent, ← received):") + 1 :]
    assert [line.split()[1:4] for line in timeline] == [
        ["→", "kafka:orders", "OrderPlaced"],
        ["←", "kafka:payments", "PaymentAuthorized"],
        ["←", "rabbit:shipping/shipment.*", "ShipmentScheduled"],
    ]


async def test_failed_scenario_releases_and_next_starts_clean(memory_url: str) -> None:
    async with running_shop(memory_url), eh.Harness(brokers(memory_url)) as h:
        with pytest.raises(eh.ScenarioFailed):
            async with h.scenario("wrong type") as s:
                s.expect("kafka:payments", type="Nope", within=0.2)
                await s.publish(
                    "kafka:orders", {"type": "OrderPlaced", "order_id": "x", "total": 1}, key="x"
                )
        assert h.collector._routes == {}  # nothing of the failed scenario stays routed
        result = await order_scenario(h, "o-4")
    assert result.passed
    assert len(h.results) == 2


async def test_two_hundred_concurrent_scenarios_see_only_their_own(memory_url: str) -> None:
    import asyncio

    async with running_shop(memory_url), eh.Harness(brokers(memory_url)) as h:
        order_ids = [f"o-{uuid.uuid4().hex[:8]}" for _ in range(200)]
        results = await asyncio.gather(*(order_scenario(h, oid) for oid in order_ids))
    assert all(r.passed for r in results)
    for oid, result in zip(order_ids, results, strict=True):
        inbound = [e for e in result.events if e.direction == "in"]
        assert len(inbound) == 2
        assert {e.value["order_id"] for e in inbound} == {oid}
        assert {e.correlation_id for e in inbound} == {result.correlation_id}


# The same scenario, unchanged, on real brokers: only the URLs (and fresh names) differ.
# Faults that depend on timing races (slow, reordered) stay on the deterministic memory broker.
REAL_FAULTS = ("dropped", "duplicated", "bad-schema", "lost-correlation", "inconsistent-amount")
REAL_WITHIN = 8.0  # Tansu hands a new consumer group its partitions after ~5 s


@pytest.mark.kafka
@pytest.mark.amqp
@pytest.mark.parametrize("fault", [None, *REAL_FAULTS])
async def test_on_kafka_and_rabbitmq(kafka_url: str, amqp_url: str, fault: str | None) -> None:
    shop = Shop.unique(kafka_url, amqp_url)
    async with running_shop(shop, fault), eh.Harness(shop.brokers) as h:
        if fault is None:
            result = await order_scenario(h, "o-real", shop, within=REAL_WITHIN)
            assert result.passed, result.explain()
            # receive order across two brokers may differ from causal order by a few ms
            assert sorted((e.direction, e.type) for e in result.events) == [
                ("in", "PaymentAuthorized"),
                ("in", "ShipmentScheduled"),
                ("out", "OrderPlaced"),
            ]
            return
        with pytest.raises(eh.ScenarioFailed) as caught:
            await order_scenario(h, "o-real", shop, within=REAL_WITHIN)
    kind, step = EXPECTED[fault]
    assert [(f.kind, f.step) for f in caught.value.result.failures] == [(kind, step)], (
        caught.value.result.explain()
    )
