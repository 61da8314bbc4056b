"""A service of the profile behind the environment's proxy (``proxy = true``): the example
shop's payments, on the embedded Kafka, reached through ``${brokers.kafka.bootstrap}`` — the
proxy's address, the broker's advertised one rewritten. Latency on its path adds to the hop
from an order to its payment (figure printed with ``-s``); a cut stops payments and lifting it
lets the order sent during the cut be paid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import eventharness as eh
from eventharness.env.config import load_config
from eventharness.env.environment import Environment
from eventharness.env.proxy import Cut, Latency
from tests.conftest import unique

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
DELAY = 0.2


@pytest.fixture
def shop(kafka_url: str, tmp_path: Path) -> Iterator[tuple[Environment, str, str]]:
    orders, payments = unique("orders"), unique("payments")
    (tmp_path / "eventharness.toml").write_text(
        f"""
[profiles.default]
brokers = {{ kafka = "{kafka_url}" }}

[profiles.default.services.payments]
command = "${{python}} -m examples.shop payments"
cwd = "{REPO}"
ready = {{ log = "payments ready" }}
proxy = true
env = {{ KAFKA_BOOTSTRAP = "${{brokers.kafka.bootstrap}}", ORDERS_TOPIC = "{orders}", \
PAYMENTS_TOPIC = "{payments}", GROUP_PREFIX = "{unique("chaos")}" }}
"""
    )
    config = load_config(tmp_path / "eventharness.toml")
    env = Environment(config, config.profile(None), state_dir=tmp_path / ".eventharness")
    env.start()
    try:
        yield env, f"kafka:{orders}", f"kafka:{payments}"
    finally:
        env.stop()


async def _hop(h: eh.Harness, orders: str, payments: str, order_id: str) -> float:
    """Seconds from publishing an order to its payment arriving."""
    async with h.scenario(f"pay {order_id}", within=60) as s:
        s.correlate(order_id)
        paid = s.expect(payments, type="PaymentAuthorized", match={"order_id": order_id})
        sent = await s.publish(orders, {"type": "OrderPlaced", "order_id": order_id, "total": 5})
    assert paid.first is not None
    return paid.first.received - sent.received


async def test_latency_and_a_cut_on_the_path_of_a_proxied_service(
    kafka_url: str, shop: tuple[Environment, str, str]
) -> None:
    env, orders, payments = shop
    proxy = env.proxy("payments")
    assert env.services["payments"].proc.args  # started behind the proxy:
    assert proxy.proxy.connections > 0  # its clients connected to the proxy
    async with eh.Harness({"kafka": kafka_url}) as h:
        plain = min([await _hop(h, orders, payments, unique("o")) for _ in range(3)])
        async with proxy.toxic(Latency(DELAY)):
            slowed = min([await _hop(h, orders, payments, unique("o")) for _ in range(3)])
        assert slowed >= 2 * DELAY  # the fetch answer and the produce request both wait
        during = unique("o-cut")
        async with proxy.toxic(Cut()), h.scenario("cut", within=60) as cut:
            cut.correlate(during)
            cut.expect_none(payments, type="PaymentAuthorized", during=3.0)
            cut.expect(orders, type="OrderPlaced")
            await cut.publish(orders, {"type": "OrderPlaced", "order_id": during, "total": 5})
        # the payment carries the correlation id of the order's scenario
        async with h.scenario("lifted", within=60, correlation_id=cut.correlation_id) as s:
            s.expect(payments, type="PaymentAuthorized", match={"order_id": during}, count=1)
    kinds = [a.toxic.kind for a in proxy.proxy.history]
    assert kinds == ["latency", "cut"]
    print(
        f"\norder → payment hop, payments behind the proxy: {plain * 1000:.1f} ms; with "
        f"latency {DELAY * 1000:g} ms each way: {slowed * 1000:.1f} ms"
    )
