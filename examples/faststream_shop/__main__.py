"""``python -m examples.faststream_shop SERVICE``: run one service (payments, shipping)."""

from __future__ import annotations

import asyncio
import sys

from examples.faststream_shop.services import SERVICES

if len(sys.argv) != 2 or sys.argv[1] not in SERVICES:
    print(f"usage: python -m examples.faststream_shop {{{','.join(SERVICES)}}}", file=sys.stderr)
    sys.exit(2)
asyncio.run(SERVICES[sys.argv[1]]().run())
