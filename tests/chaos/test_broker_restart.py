"""The harness survives its brokers: a RabbitMQ restart (a private node, ``stop_app`` then
``start_app``) and an embedded Kafka killed and started again, in the middle of a scenario.

The running scenario fails with kind ``error`` naming the broker and when the connection was
lost, long before its window ends, and keeps the events collected before the fault; the next
scenario in the same harness passes. The time from the broker being back to the next
scenario's first publish being acknowledged is printed (``-s``) as the reconnect figure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

import eventharness as eh
from eventharness.env.embedded import EmbeddedKafka
from tests.chaos.private_rabbit import PrivateRabbit, rabbit_available
from tests.conftest import broker_missing, unique

WINDOW = 60.0  # far longer than any fault takes to be noticed: the failure must come first


@pytest.fixture
def rabbit() -> Iterator[PrivateRabbit]:
    missing = rabbit_available()
    if missing is not None:
        broker_missing("a private RabbitMQ node", missing)
    node = PrivateRabbit()
    try:
        node.start()
    except RuntimeError as exc:
        node.stop()
        broker_missing("a private RabbitMQ node", str(exc))
    try:
        yield node
    finally:
        node.stop()


async def _fault_mid_scenario(
    h: eh.Harness, first: str, second: str, publish_to: str, fault: asyncio.Future[None]
) -> eh.ScenarioResult:
    """A scenario that sees one event, then waits for a second while ``fault`` happens."""
    with pytest.raises(eh.ScenarioFailed) as failed:
        async with h.scenario("broker goes away", within=WINDOW) as s:
            got = s.expect(first, type="First")
            s.expect(second, type="Second")
            await s.publish(publish_to, {"type": "First"})
            assert await s.first_event(got) is not None
            fault.set_result(None)
    return failed.value.result


async def _next_scenario_passes(h: eh.Harness, expect: str, publish_to: str) -> float:
    """The next scenario, after the broker is back: passes; seconds to its first ack."""
    back = time.monotonic()
    async with h.scenario("after the restart", within=WINDOW) as s:
        s.expect(expect, type="Again")
        await s.publish(publish_to, {"type": "Again"})
        acked = time.monotonic() - back
    assert s.result is not None and s.result.passed, s.result
    return acked


def _assert_broker_error(result: eh.ScenarioResult, url_part: str) -> None:
    assert result.status == "error", result.failures
    message = result.failures[0].message
    assert "connection to the broker was lost" in message
    assert url_part in message
    assert " at t=" in message
    assert "guest:guest" not in message  # the password stays out of the report
    assert [e.type for e in result.events if e.type == "First"] == ["First", "First"]
    assert result.duration_s < WINDOW / 2


@pytest.mark.amqp
async def test_a_rabbitmq_restart_fails_the_running_scenario_and_the_next_one_passes(
    rabbit: PrivateRabbit,
) -> None:
    url = rabbit.url + "?declare_exchanges=true"
    ex = unique("eh-chaos")
    async with eh.Harness({"rabbit": url}) as h:
        fault: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def restart() -> None:
            await fault
            await asyncio.to_thread(rabbit.stop_app)

        restarting = asyncio.create_task(restart())
        result = await _fault_mid_scenario(
            h, f"rabbit:{ex}/first", f"rabbit:{ex}/second", f"rabbit:{ex}/first", fault
        )
        await restarting
        _assert_broker_error(result, f"127.0.0.1:{rabbit.port}")
        await asyncio.to_thread(rabbit.start_app)
        acked = await _next_scenario_passes(h, f"rabbit:{ex}/again", f"rabbit:{ex}/again")
        assert h.transport("rabbit").reconnects == 1  # type: ignore[attr-defined]
    print(f"\nRabbitMQ restart: next publish acknowledged {acked:.3f}s after start_app")


@pytest.mark.kafka
async def test_an_embedded_kafka_killed_and_restarted_fails_the_scenario_and_the_next_passes() -> (
    None
):
    broker = EmbeddedKafka()
    try:
        url = broker.start()
    except eh.BrokerUnavailable as exc:
        broker_missing("embedded Kafka", str(exc))
    port = broker.port_number
    first, second = unique("first"), unique("second")
    try:
        async with eh.Harness({"kafka": url}) as h:
            for topic in (first, second):
                await h.transport("kafka").create_channel(topic)
            fault: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            async def kill() -> None:
                await fault
                broker.kill()

            killing = asyncio.create_task(kill())
            result = await _fault_mid_scenario(
                h, f"kafka:{first}", f"kafka:{second}", f"kafka:{first}", fault
            )
            await killing
            _assert_broker_error(result, f"127.0.0.1:{port}")
            broker = EmbeddedKafka(port=port)
            await asyncio.to_thread(broker.start)
            # the same topic as before the kill: the restarted broker (in memory) no longer has
            # it, and the producer's metadata from before must not say otherwise
            acked = await _next_scenario_passes(h, f"kafka:{first}", f"kafka:{first}")
    finally:
        broker.stop()
    print(f"\nembedded Kafka restart: next publish acknowledged {acked:.3f}s after it was back")
