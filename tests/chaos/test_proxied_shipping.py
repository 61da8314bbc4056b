"""A service behind the environment's proxy on RabbitMQ: the example shop's shipping, which
reads payments from the embedded Kafka and publishes shipments to a RabbitMQ exchange, with
both brokers reached through ``${brokers.NAME}`` — the proxies' addresses. Latency on its path
to RabbitMQ adds to the hop from a payment to its shipment (figure printed with ``-s``); a cut
stops the shipments and lifting it lets the one held during the cut through, once; both are
scenario network faults, noted on the timeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import eventharness as eh
from eventharness.env.config import load_config
from eventharness.env.environment import Environment
from eventharness.env.proxy import Cut, Latency
from tests.conftest import unique

pytestmark = [pytest.mark.kafka, pytest.mark.amqp]

REPO = Path(__file__).resolve().parents[2]
DELAY = 0.2


@pytest.fixture
def shipping(
    kafka_url: str, amqp_url: str, tmp_path: Path
) -> Iterator[tuple[Environment, str, str]]:
    payments, exchange = unique("payments"), unique("shipping")
    (tmp_path / "eventharness.toml").write_text(
        f"""
[profiles.default]
brokers = {{ kafka = "{kafka_url}", rabbit = "{amqp_url}" }}

[profiles.default.services.shipping]
command = "${{python}} -m examples.shop shipping"
cwd = "{REPO}"
ready = {{ log = "shipping ready" }}
proxy = true
env = {{ KAFKA_BOOTSTRAP = "${{brokers.kafka.bootstrap}}", AMQP_URL = "${{brokers.rabbit}}", \
PAYMENTS_TOPIC = "{payments}", SHIPPING_EXCHANGE = "{exchange}", \
GROUP_PREFIX = "{unique("chaos")}" }}
"""
    )
    config = load_config(tmp_path / "eventharness.toml")
    env = Environment(config, config.profile(None), state_dir=tmp_path / ".eventharness")
    env.start()
    try:
        yield env, f"kafka:{payments}", f"rabbit:{exchange}/shipment.*"
    finally:
        env.stop()


async def _hop(h: eh.Harness, payments: str, shipments: str, order_id: str) -> float:
    """Seconds from publishing a payment to its shipment arriving."""
    async with h.scenario(f"ship {order_id}", within=60) as s:
        shipped = s.expect(shipments, type="ShipmentScheduled", match={"order_id": order_id})
        sent = await s.publish(
            payments, {"type": "PaymentAuthorized", "order_id": order_id, "amount": 5}
        )
    assert shipped.first is not None
    return shipped.first.received - sent.received


async def test_latency_and_a_cut_on_the_path_of_a_service_to_rabbitmq(
    kafka_url: str, amqp_url: str, shipping: tuple[Environment, str, str]
) -> None:
    env, payments, shipments = shipping
    assert {b for (svc, b) in env.proxies} == {"kafka", "rabbit"}  # both paths proxied
    rabbit = env.proxy("shipping", "rabbit").proxy
    assert rabbit.connections > 0  # shipping's AMQP connection goes through it
    async with eh.Harness({"kafka": kafka_url, "rabbit": amqp_url}, network=env.network) as h:
        plain = min([await _hop(h, payments, shipments, unique("o")) for _ in range(3)])
        slowed = []
        for _ in range(3):
            order_id = unique("o")
            async with h.scenario(f"slow {order_id}", within=60) as s:
                shipped = s.expect(shipments, match={"order_id": order_id})
                await s.network_fault("shipping", Latency(DELAY), broker="rabbit")
                sent = await s.publish(
                    payments, {"type": "PaymentAuthorized", "order_id": order_id, "amount": 5}
                )
            assert shipped.first is not None
            slowed.append(shipped.first.received - sent.received)
        assert min(slowed) >= DELAY  # the publish to RabbitMQ waits on its way there

        during = unique("o-cut")
        async with h.scenario("cut", within=60) as cut:
            cut.expect_recovery(shipments, type="ShipmentScheduled", by="value.order_id")
            cut.expect_none(shipments, during=3.0)  # nothing gets through while it is cut
            await cut.network_fault("shipping", Cut(), broker="rabbit", duration=3.0)
            await cut.publish(
                payments, {"type": "PaymentAuthorized", "order_id": during, "amount": 5}
            )
        assert cut.result is not None
        (shipment,) = [e for e in cut.result.events if e.direction == "in"]
        applied, lifted = (n.at for n in cut.result.notes)
        assert shipment.received > lifted  # it came once the cut was lifted, and only once
        assert lifted - applied >= 3.0
    kinds = [a.toxic.kind for a in rabbit.history]
    assert kinds == ["latency", "latency", "latency", "cut"]
    print(
        f"\npayment → shipment hop, shipping behind the proxy to RabbitMQ: {plain * 1000:.1f} ms;"
        f" with latency {DELAY * 1000:g} ms each way: {min(slowed) * 1000:.1f} ms"
    )
