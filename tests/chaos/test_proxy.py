"""The TCP proxy between a service and its broker, on the real brokers: a Kafka client kept
behind it by the Metadata rewrite, latency that adds to every round trip, a cut that stops the
flow and whose lifting resumes it; the same on RabbitMQ. The figures (a publish round trip
direct, through the proxy, and through the proxy with latency) are printed with ``-s``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aio_pika
import pytest
from aiokafka import AIOKafkaProducer

import eventharness as eh
from eventharness.env.proxy import Cut, Latency, ResetPeer, TcpProxy, Timeout
from eventharness.model.channels import parse_broker_url
from tests.conftest import unique

LATENCY = 0.1  # each way: a request and its answer take at least twice this


async def _proxy(url: str, *, kafka: bool) -> TcpProxy:
    host, port = parse_broker_url(url).hosts[0]
    proxy = TcpProxy((host, port), kafka=kafka)
    await proxy.start()
    return proxy


@pytest.fixture
async def kafka_proxy(kafka_url: str) -> AsyncIterator[TcpProxy]:
    proxy = await _proxy(kafka_url, kafka=True)
    yield proxy
    await proxy.aclose()


@pytest.fixture
async def amqp_proxy(amqp_url: str) -> AsyncIterator[TcpProxy]:
    proxy = await _proxy(amqp_url, kafka=False)
    yield proxy
    await proxy.aclose()


async def _round_trips(send: object, times: int = 5) -> float:
    """The median seconds of ``times`` awaited calls of ``send()``."""
    spent: list[float] = []
    for _ in range(times):
        began = time.perf_counter()
        await send()  # type: ignore[operator]
        spent.append(time.perf_counter() - began)
    return sorted(spent)[len(spent) // 2]


@pytest.mark.kafka
async def test_a_kafka_client_stays_behind_the_proxy_and_latency_adds_to_its_round_trips(
    kafka_url: str, kafka_proxy: TcpProxy
) -> None:
    topic = unique("proxied")
    async with eh.Harness({"k": kafka_url}) as h:
        await h.transport("k").create_channel(topic)
    direct = AIOKafkaProducer(bootstrap_servers=parse_broker_url(kafka_url).bootstrap)
    proxied = AIOKafkaProducer(bootstrap_servers=kafka_proxy.bootstrap)
    await direct.start()
    await proxied.start()
    try:
        brokers = proxied.client.cluster.brokers()
        assert {(b.host, b.port) for b in brokers} == {kafka_proxy.address}  # rewritten
        plain = await _round_trips(lambda: direct.send_and_wait(topic, b"x"))
        through = await _round_trips(lambda: proxied.send_and_wait(topic, b"x"))
        async with kafka_proxy.toxic(Latency(LATENCY)):
            slowed = await _round_trips(lambda: proxied.send_and_wait(topic, b"x"))
        assert slowed >= 2 * LATENCY
        assert kafka_proxy.history[-1].until is not None
    finally:
        await proxied.stop()
        await direct.stop()
    print(
        f"\nKafka publish round trip: direct {plain * 1000:.2f} ms, through the proxy "
        f"{through * 1000:.2f} ms, with latency {LATENCY * 1000:g} ms each way "
        f"{slowed * 1000:.1f} ms"
    )


@pytest.mark.kafka
async def test_a_cut_stops_the_kafka_flow_and_lifting_it_resumes_it(
    kafka_url: str, kafka_proxy: TcpProxy
) -> None:
    topic = unique("cut")
    async with eh.Harness({"k": kafka_url}) as h:
        await h.transport("k").create_channel(topic)
        service = AIOKafkaProducer(bootstrap_servers=kafka_proxy.bootstrap)
        await service.start()
        try:
            async with h.scenario("cut", within=60) as s:
                s.correlate("during-the-cut")
                s.expect_none(f"k:{topic}", during=2.0)
                await s.armed()
                await kafka_proxy.add(Cut())
                with pytest.raises(OSError):  # new connections are refused
                    await asyncio.open_connection(*kafka_proxy.address)
                value = json.dumps({"type": "Paid", "correlation_id": "during-the-cut"})
                sending = asyncio.ensure_future(service.send_and_wait(topic, value.encode()))
            assert not sending.done()  # nothing went through while cut
            async with h.scenario("lifted", within=60) as s:
                s.correlate("during-the-cut")
                s.expect(f"k:{topic}", type="Paid")
                await s.armed()
                await kafka_proxy.remove(Cut())  # not the applied one: still cut
                await kafka_proxy.remove(kafka_proxy.history[-1].toxic)
                await sending
        finally:
            await service.stop()


@pytest.mark.amqp
async def test_rabbitmq_through_the_proxy_latency_cut_and_lift(
    amqp_url: str, amqp_proxy: TcpProxy
) -> None:
    exchange = unique("eh-proxy")
    proxied_url = f"amqp://guest:guest@{amqp_proxy.bootstrap}/"
    direct = await aio_pika.connect(amqp_url)
    channel = await direct.channel()
    ex = await channel.declare_exchange(exchange, "topic", auto_delete=True)
    try:
        connection = await aio_pika.connect(proxied_url)
        proxied = await (await connection.channel()).get_exchange(exchange)
        message = aio_pika.Message(b"x")
        plain = await _round_trips(lambda: ex.publish(message, routing_key="k"))
        through = await _round_trips(lambda: proxied.publish(message, routing_key="k"))
        async with amqp_proxy.toxic(Latency(LATENCY)):
            slowed = await _round_trips(lambda: proxied.publish(message, routing_key="k"))
        assert slowed >= 2 * LATENCY
        async with amqp_proxy.toxic(Cut()):
            with pytest.raises((OSError, aio_pika.exceptions.AMQPError, RuntimeError)):
                await proxied.publish(message, routing_key="k")  # the connection was dropped
            with pytest.raises((OSError, aio_pika.exceptions.AMQPError)):
                await aio_pika.connect(proxied_url)  # and new ones refused
        again = await aio_pika.connect(proxied_url)  # lifted: through the proxy again
        await (await (await again.channel()).get_exchange(exchange)).publish(message, "k")
        await again.close()
    finally:
        await channel.close()
        await direct.close()
    print(
        f"\nRabbitMQ publish round trip: direct {plain * 1000:.2f} ms, through the proxy "
        f"{through * 1000:.2f} ms, with latency {LATENCY * 1000:g} ms each way "
        f"{slowed * 1000:.1f} ms"
    )


@pytest.mark.amqp
async def test_reset_peer_and_timeout_on_rabbitmq(amqp_proxy: TcpProxy) -> None:
    proxied_url = f"amqp://guest:guest@{amqp_proxy.bootstrap}/?connection_timeout=2"
    connection = await aio_pika.connect(proxied_url)
    channel = await connection.channel()
    await amqp_proxy.add(ResetPeer())
    with pytest.raises((OSError, aio_pika.exceptions.AMQPError, RuntimeError)):
        await channel.declare_queue(exclusive=True)  # reset at once
    await amqp_proxy.remove(amqp_proxy.history[-1].toxic)
    async with amqp_proxy.toxic(Timeout()):
        with pytest.raises((TimeoutError, aio_pika.exceptions.AMQPError, OSError)):
            await asyncio.wait_for(aio_pika.connect(proxied_url), 3)  # accepted, never answered
    assert [a.toxic.kind for a in amqp_proxy.history] == ["reset_peer", "timeout"]
