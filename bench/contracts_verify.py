"""Contract verification in broker mode: 200 interactions of one pact against the memory broker.

Each interaction is what ``eventharness contracts verify`` does on a real broker: one scenario,
a trigger published (an ``OrderPlaced`` on ``kafka:orders``) with the scenario's correlation
id, the provider (a harness stub answering with a ``PaymentAuthorized``) collected on
``kafka:payments`` by correlation id, decoded, and compared with the pact's matching rules.
Figure: seconds for all of them, one after another (target: under 5 s for 200). No baseline:
Pact's own verifier never touches a broker.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bench.common import Context, Row
from eventharness.contracts import LoadedPact, Pact, Verification, terms
from eventharness.contracts.builder import contract
from eventharness.contracts.providers import InteractionSetup, ProviderConfig, StateHandler, Trigger

__all__ = ["config_of", "pact_of", "run", "run_once"]

STATE = "an order was placed"


def pact_of(n: int) -> Pact:
    c = contract("shipping", "payments")
    for i in range(n):
        c.message(
            f"payment {i:04d} is authorized",
            given=STATE,
            params={"order_id": f"o-{i}", "total": i + 1},
            channel="kafka:payments",
            body={
                "type": "PaymentAuthorized",
                "order_id": terms.like(f"o-{i}"),
                "amount": terms.number(i + 1),
                "payment_id": terms.regex(r"pay-[0-9a-f]{12}", "pay-0123456789ab"),
            },
        )
    return c.pact()


def config_of(pact: Pact) -> ProviderConfig:
    trigger = Trigger(
        "publish",
        {
            "channel": "kafka:orders",
            "key": "${params.order_id}",
            "value": {
                "type": "OrderPlaced",
                "order_id": "${params.order_id}",
                "total": "${params.total}",
            },
        },
    )
    setups = {i.description: InteractionSetup(i.description, trigger) for i in pact.interactions}
    return ProviderConfig(
        "payments", states={STATE: StateHandler(STATE, "none")}, interactions=setups
    )


async def run_once(pact: Pact) -> tuple[Verification, float]:
    from eventharness.contracts.broker import verify_on_harness
    from eventharness.engine.harness import Harness

    config = config_of(pact)
    payment = {
        "type": "PaymentAuthorized",
        "order_id": "${in.value.order_id}",
        "amount": "${in.value.total}",
        "payment_id": "pay-0123456789ab",
    }
    h = Harness({"kafka": f"memory://bench-{uuid.uuid4().hex[:8]}"}, within=5.0)
    respond = [{"channel": "kafka:payments", "value": payment}]
    async with h, h.stub("kafka:orders", type="OrderPlaced", respond=respond):
        began = time.perf_counter()
        result = await verify_on_harness([LoadedPact(pact, "bench.json")], h, lambda _n: config)
        took = time.perf_counter() - began
    return result, took


async def run(ctx: Context) -> list[Row]:
    n = ctx.size(200, 40)
    best = float("inf")
    notes: dict[str, Any] = {}
    for _ in range(ctx.size(3, 1)):
        result, took = await run_once(pact_of(n))
        if not result.ok:
            raise RuntimeError("verification failed:\n" + result.render())
        best = min(best, took)
    notes.update(interactions=n, per_interaction_ms=round(best / n * 1e3, 3))
    seconds = best * 200 / n  # scaled to 200 in --quick mode (40 run)
    return [
        Row(
            name="contracts verify, 200 interactions (memory)",
            harness=seconds,
            unit="s",
            target=5.0,
            target_unit="s",
            sense="<=",
            measure=seconds,
            notes=notes,
        )
    ]
