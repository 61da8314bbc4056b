"""Network faults in a scenario and the recovery expected after them, on the memory broker.

The "network" here is a gate in front of a small payments service: while a fault is applied,
the service receives orders but cannot pay them. ``hold`` pays them once the fault is lifted
(a correct service); ``lose`` drops what it read during the fault (it committed before
processing); ``double`` pays them twice. The real proxy between real services and brokers is
tested in tests/chaos/ and tests/e2e/."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

import eventharness as eh
from eventharness.engine.chaos import NO_NETWORK
from eventharness.engine.network import NetworkFault
from eventharness.model.errors import ScenarioFailed, UsageError
from eventharness.model.events import Record
from eventharness.transports.base import open_transport
from tests.conftest import unique


class Cut:
    def describe(self) -> str:
        return "cut"


class GateNetwork:
    """A Network whose faults close a gate the service waits at."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()
        self.calls: list[tuple[str, str]] = []

    async def add(self, service: str, toxic: Any, broker: str | None = None) -> str:
        self.calls.append(("add", service))
        self.open.clear()
        return f"{service}→{broker or 'kafka'}"

    async def remove(self, service: str, toxic: Any, broker: str | None = None) -> None:
        self.calls.append(("remove", service))
        self.open.set()


@contextlib.asynccontextmanager
async def payments(url: str, network: GateNetwork, mode: str) -> AsyncIterator[None]:
    transport = await open_transport(url)
    sub = await transport.subscribe("orders", group=unique("payments"))

    async def serve() -> None:
        async for rec in sub:
            order = json.loads(rec.value)
            cut = not network.open.is_set()
            if cut and mode == "lose":
                continue  # committed before processing: gone with the connection
            await network.open.wait()
            headers = {k: v for k, v in rec.headers.items() if k != "message-id"}
            copies = 2 if cut and mode == "double" else 1
            for copy in range(copies):  # each a payment of its own (its own id)
                payment = {"type": "PaymentAuthorized", "order_id": order["order_id"], "n": copy}
                await transport.publish(
                    "payments", Record(json.dumps(payment).encode(), rec.key, headers)
                )

    task = asyncio.create_task(serve())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await transport.aclose()


async def _orders(s: Any, prefix: str, count: int) -> list[str]:
    ids = [f"{prefix}-{n}" for n in range(count)]
    for order_id in ids:
        await s.publish("kafka:orders", {"type": "OrderPlaced", "order_id": order_id}, key=order_id)
    return ids


async def _run(mode: str, **recovery: Any) -> tuple[eh.ScenarioResult, GateNetwork]:
    url = f"memory://{unique('chaos')}"
    network = GateNetwork()
    async with (
        payments(url, network, mode),
        eh.Harness({"kafka": url}, network=network) as h,
    ):
        scenario = h.scenario("payments recover", within=5)
        with contextlib.suppress(ScenarioFailed):
            async with scenario as s:
                s.expect_recovery("kafka:payments", type="PaymentAuthorized", **recovery)
                await _orders(s, "before", 2)
                await s.first_event("recovery")  # the orders before the fault were paid
                await s.network_fault("payments", Cut(), duration=0.3)
                await _orders(s, "during", 3)
    assert scenario.result is not None
    return scenario.result, network


async def test_a_service_that_holds_what_it_read_recovers() -> None:
    result, network = await _run("hold", within=5)
    assert result.passed, result.explain()
    assert network.calls == [("add", "payments"), ("remove", "payments")]
    texts = [note.text for note in result.notes]
    assert texts == [
        "network fault applied: cut on payments→kafka for 0.3s",
        "network fault lifted: cut on payments→kafka",
    ]
    applied, lifted = (result.note_t(n) for n in result.notes)
    assert lifted - applied >= 0.3
    timeline = result.explain()
    assert "⚡ network fault applied: cut on payments→kafka" in timeline
    assert [n["text"] for n in result.to_dict()["notes"]] == texts


async def test_a_service_that_loses_what_it_read_fails_naming_the_lost_messages() -> None:
    result, _ = await _run("lose", within=1)
    (failure,) = result.failures
    assert failure.kind == "timeout"
    assert "3 of the 3 message(s) the fault caught never completed" in failure.message
    assert "lost: during-0, during-1, during-2" in failure.message
    assert "before-" not in failure.message  # paid before the fault: not its business
    assert any(line.startswith("lost: key=during-1 (sent at t=") for line in failure.details)
    assert "nearest misses" not in "\n".join(failure.details)


async def test_duplicates_fail_the_recovery_unless_allowed() -> None:
    result, _ = await _run("double", within=2)
    (failure,) = result.failures
    assert failure.kind == "duplicate"
    assert "completed more than once — duplicated: during-" in failure.message
    allowed, _ = await _run("double", within=2, allow_duplicates=True)
    assert allowed.passed, allowed.explain()


async def test_a_recovery_by_a_payload_path() -> None:
    result, _ = await _run("lose", within=1, by="value.order_id", of="kafka:orders")
    assert "by value.order_id" in result.failures[0].message
    assert "lost: during-0, during-1, during-2" in result.failures[0].message


async def test_a_fault_that_is_never_lifted_cannot_be_recovered_from() -> None:
    url = f"memory://{unique('chaos')}"
    network = GateNetwork()
    async with payments(url, network, "hold"), eh.Harness({"kafka": url}, network=network) as h:
        with pytest.raises(ScenarioFailed) as caught:
            async with h.scenario("never lifted", within=1) as s:
                s.expect_recovery("kafka:payments")
                await s.network_fault("payments", Cut())
                await _orders(s, "o", 1)
    (failure,) = caught.value.result.failures
    assert failure.kind == "error"
    assert "cut on payments→kafka was never lifted before the scenario ended" in failure.message
    assert network.calls[-1] == ("remove", "payments")  # lifted when the scenario ended


async def test_faults_are_lifted_when_the_scenario_fails_and_by_hand() -> None:
    url = f"memory://{unique('chaos')}"
    network = GateNetwork()
    async with eh.Harness({"kafka": url}, network=network) as h:
        with pytest.raises(RuntimeError):
            async with h.scenario("boom") as s:
                await s.network_fault("payments", Cut())
                raise RuntimeError("boom")
        assert network.open.is_set()
        async with h.scenario("by hand") as s:
            fault = await s.network_fault("payments", Cut(), name="cut")
            assert isinstance(fault, NetworkFault) and fault.active
            assert s.network_faults("cut") == [fault]
            await fault.lift()
            assert network.open.is_set() and not fault.active
            async with fault:  # applied again? no: a fault is applied once
                pass
    assert [c for c, _ in network.calls] == ["add", "remove", "add", "remove"]


async def test_without_a_network_a_fault_is_a_usage_error() -> None:
    async with eh.Harness({"kafka": "memory://"}) as h:
        with pytest.raises(UsageError, match="proxy = true"):
            async with h.scenario("no network") as s:
                await s.network_fault("payments", Cut())
    assert "Harness(network=env.network)" in NO_NETWORK
    async with eh.Harness({"kafka": "memory://"}) as h, h.scenario("bad by") as s:
        with pytest.raises(UsageError, match="by must be a path"):
            s.expect_recovery("kafka:payments", by="")


async def test_a_recovery_without_a_fault_fails_as_an_error() -> None:
    async with eh.Harness({"kafka": "memory://"}, network=GateNetwork()) as h:
        with pytest.raises(ScenarioFailed) as caught:
            async with h.scenario("no fault", within=1) as s:
                s.expect_recovery("kafka:payments")
    assert "no network fault was applied" in caught.value.result.failures[0].message
