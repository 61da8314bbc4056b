"""``python -m examples.shop SERVICE``: run one service (payments, shipping, orders-view)."""

from __future__ import annotations

import sys

from examples.shop import orders_view, payments, shipping
from examples.shop.runner import main

SERVICES = {
    "payments": payments.serve,
    "shipping": shipping.serve,
    "orders-view": orders_view.serve,
}

if len(sys.argv) != 2 or sys.argv[1] not in SERVICES:
    print(f"usage: python -m examples.shop {{{','.join(SERVICES)}}}", file=sys.stderr)
    sys.exit(2)
main(sys.argv[1], SERVICES[sys.argv[1]])
