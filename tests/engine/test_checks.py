"""Cross-event checks: ``check_equal`` reads step events through handles, never by guesswork.

``pay.value("amount")`` and ``pay["value.amount"]`` are lazy references to a path on the first
event of the step ``pay``. A dotted string that names no step is a usage error at declaration
(step names default to the event type, not to the Python variable holding the handle).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

import eventharness as eh
from eventharness.model.events import Record
from eventharness.transports.memory import MemoryTransport


@pytest.fixture
async def h(memory_url: str) -> AsyncIterator[eh.Harness]:
    async with eh.Harness({"k": memory_url}) as harness:
        yield harness


@pytest.fixture
async def system(memory_url: str) -> AsyncIterator[MemoryTransport]:
    async with MemoryTransport(memory_url) as transport:
        yield transport


async def answer(system: MemoryTransport, s: eh.Scenario, address: str, value: Any) -> None:
    headers = {"correlation-id": s.correlation_id.encode()}
    await system.publish(address, Record(json.dumps(value).encode(), b"o-1", headers))


async def test_check_equal_reads_step_handles(h: eh.Harness, system: MemoryTransport) -> None:
    async with h.scenario("amounts agree") as s:
        pay = s.expect("k:payments", type="PaymentAuthorized", within=2)
        ship = s.expect("k:shipping", type="Shipped", within=2, after=pay)
        await s.publish("k:orders", {"type": "OrderPlaced", "total": 42})
        await answer(system, s, "payments", {"type": "PaymentAuthorized", "amount": 42})
        await answer(system, s, "shipping", {"type": "Shipped", "amount": 42, "id": "o-1"})
        s.check_equal(pay.value("amount"), ship["value.amount"], 42)
        s.check_equal(pay["key"], ship.value("id"), "o-1")  # a plain string is a literal
    assert s.result is not None and s.result.passed


async def test_check_equal_reports_the_handles_that_differ(
    h: eh.Harness, system: MemoryTransport
) -> None:
    with pytest.raises(eh.ScenarioFailed) as caught:
        async with h.scenario("amounts differ") as s:
            pay = s.expect("k:payments", type="PaymentAuthorized", within=2)
            await s.publish("k:orders", {"type": "OrderPlaced", "total": 42})
            await answer(system, s, "payments", {"type": "PaymentAuthorized", "amount": 41})
            s.check_equal(pay.value("amount"), 42)
    (failure,) = caught.value.result.failures
    assert failure.kind == "consistency"
    assert failure.message == "values differ: PaymentAuthorized.value.amount=41, 42=42"
    assert failure.step == "equal PaymentAuthorized.value.amount = 42"


async def test_a_dotted_string_naming_no_step_is_a_usage_error(h: eh.Harness) -> None:
    async with h.scenario("variables are not step names") as s:
        s.expect("k:payments", type="PaymentAuthorized", within=0.1, at_least=0)
        with pytest.raises(eh.UsageError) as caught:
            s.check_equal("pay.value.amount", 42)
    message = str(caught.value)
    assert "'pay.value.amount'" in message
    assert "PaymentAuthorized" in message  # the step names it does know
    assert "pay.value('amount')" in message  # and the handle form to use instead


async def test_a_step_name_string_still_reads_the_step(
    h: eh.Harness, system: MemoryTransport
) -> None:
    async with h.scenario("by name") as s:
        s.expect("k:payments", type="PaymentAuthorized", within=2, name="pay")
        await s.publish("k:orders", {"type": "OrderPlaced"})
        await answer(system, s, "payments", {"type": "PaymentAuthorized", "amount": 42})
        s.check_equal("pay.value.amount", 42)
    assert s.result is not None and s.result.passed


async def test_a_handle_of_another_scenario_is_refused(h: eh.Harness) -> None:
    async with h.scenario("one") as first:
        pay = first.expect("k:payments", within=0.1, at_least=0)
    async with h.scenario("two") as s:
        with pytest.raises(eh.UsageError, match="belongs to another scenario"):
            s.check_equal(pay.value("amount"), 42)
