"""Publishes that do not wait for the broker (``s.publish(..., wait=False)``): acknowledged
before judging, positions filled in, a failed acknowledgement an ``error`` failure — on the
memory broker, on the embedded Kafka (the producer's batch, with ``linger_ms``) and on
RabbitMQ (a publish to a missing exchange)."""

from __future__ import annotations

import uuid

import pytest

import eventharness as eh


async def test_unawaited_publishes_are_collected_and_get_their_positions(memory_url: str) -> None:
    async with eh.Harness({"kafka": memory_url}, within=5) as h:
        async with h.scenario("many") as s:
            s.expect("kafka:orders", type="OrderPlaced", at_least=200)
            sent = [
                await s.publish("kafka:orders", {"type": "OrderPlaced", "n": i}, wait=False)
                for i in range(200)
            ]
        assert s.result is not None and s.result.passed
        assert all(ev.position is not None for ev in sent)


@pytest.mark.kafka
async def test_kafka_batched_publishes_arrive_once_each_with_their_offsets(kafka_url: str) -> None:
    topic = f"acks-{uuid.uuid4().hex[:8]}"
    async with eh.Harness({"kafka": f"{kafka_url}?linger_ms=5"}, within=30) as h:
        async with h.scenario("batched") as s:
            got = s.expect(f"kafka:{topic}", type="OrderPlaced", count=2_000)
            sent = [
                await s.publish(
                    f"kafka:{topic}", {"type": "OrderPlaced", "n": i}, key=f"o-{i}", wait=False
                )
                for i in range(2_000)
            ]
        assert s.result is not None and s.result.passed, s.result
        positions = {(ev.position.partition, ev.position.offset) for ev in sent if ev.position}
        assert len(positions) == 2_000  # every publish acknowledged at its own offset
        assert sorted(ev.value["n"] for ev in got.matched) == list(range(2_000))


@pytest.mark.amqp
async def test_an_unacknowledged_publish_is_an_error_failure_naming_it(amqp_url: str) -> None:
    missing = f"no-such-exchange-{uuid.uuid4().hex[:8]}"
    async with eh.Harness({"rabbit": amqp_url}, within=2) as h:
        with pytest.raises(eh.ScenarioFailed) as failed:
            async with h.scenario("lost") as s:
                await s.publish(f"rabbit:{missing}/k", {"type": "X"}, wait=False)
                await s.publish(f"rabbit:{missing}/k", {"type": "X"}, wait=False)
    result = failed.value.result
    assert [(f.kind, f.step) for f in result.failures] == [("error", f"publish rabbit:{missing}/k")]
    message = result.failures[0].message
    assert "2 of 2 publishes were not acknowledged" in message and missing in message
