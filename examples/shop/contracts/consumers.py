"""The consumers' side of the shop's contracts: what orders-view and shipping rely on.

    python -m examples.shop.contracts.consumers      # writes pacts/*.json (same bytes every time)

Each message is declared with the matchers the consumer needs (the shape, not the exact values)
and its own handler is run on the example — the read model of orders-view, the shipment planner
of shipping — before the pact is written, as Pact does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import eventharness as eh
from examples.shop.orders_view import ReadModel
from examples.shop.shipping import schedule

PACTS = Path(__file__).parent / "pacts"


def orders_view_on_shipping() -> eh.Contract:
    """orders-view consumes ShipmentScheduled from shipping (RabbitMQ)."""
    c = eh.contract("orders-view", "shipping")
    c.message(
        "a shipment is scheduled",
        given="a payment was authorized",
        params={"order_id": "o-1", "amount": 42},
        channel="rabbit:shipping/shipment.scheduled",
        body={
            "type": "ShipmentScheduled",
            "order_id": eh.like("o-1"),
            "shipment_id": eh.regex(r"shp-[0-9a-f]{12}", "shp-0123456789ab"),
            "amount": eh.number(42),
        },
    ).verify_with(_shipped)
    return c


def _shipped(body: dict[str, Any]) -> None:
    view = ReadModel()
    assert view.apply(body), "orders-view ignored the shipment"
    assert view.orders[body["order_id"]]["status"] == "shipped"


def shipping_on_payments() -> eh.Contract:
    """shipping consumes PaymentAuthorized from payments (Kafka)."""
    c = eh.contract("shipping", "payments")
    c.message(
        "a payment is authorized",
        given="an order was placed",
        params={"order_id": "o-1", "total": 42},
        channel="kafka:payments",
        body={
            "type": "PaymentAuthorized",
            "order_id": eh.like("o-1"),
            "amount": eh.number(42),
            "payment_id": eh.regex(r"pay-[0-9a-f]{12}", "pay-0123456789ab"),
        },
    ).verify_with(_scheduled)
    return c


def _scheduled(body: dict[str, Any]) -> None:
    shipment = schedule(body)
    assert shipment["order_id"] == body["order_id"] and shipment["amount"] == body["amount"]


def write_all(folder: Path = PACTS) -> list[Path]:
    return [orders_view_on_shipping().write(folder), shipping_on_payments().write(folder)]


if __name__ == "__main__":
    for path in write_all():
        print(path)
