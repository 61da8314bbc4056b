"""Engine semantics on the memory broker: windows, counts, ordering, correlation, probes."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import AsyncIterator, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest

import eventharness as eh
from eventharness.model.events import Record
from eventharness.transports.memory import MemoryTransport
from tests.cli.watching import gone, wait_for_file


@pytest.fixture
async def system(memory_url: str) -> AsyncIterator[MemoryTransport]:
    """The 'system under test' side of the memory broker: tests publish through it."""
    async with MemoryTransport(memory_url) as transport:
        yield transport


@pytest.fixture
async def h(memory_url: str) -> AsyncIterator[eh.Harness]:
    async with eh.Harness({"k": memory_url}) as harness:
        yield harness


def rec(value: Any, key: str | None = None, **headers: str) -> Record:
    return Record(
        json.dumps(value).encode(),
        key.encode() if key else None,
        {k.replace("_", "-"): v.encode() for k, v in headers.items()},
    )


async def test_expect_none_passes_when_quiet_and_fails_when_not(
    h: eh.Harness, system: MemoryTransport
) -> None:
    async with h.scenario("quiet") as s:
        s.expect_none("k:out", type="Declined", during=0.1)
        await s.publish("k:in", {"type": "Placed"})
    with pytest.raises(eh.ScenarioFailed) as caught:
        async with h.scenario("noisy") as s:
            s.expect_none("k:out", type="Declined", during=5, name="no decline")
            await s.publish("k:in", {"type": "Placed"})
            await system.publish("out", rec({"type": "Declined"}, correlation_id=s.correlation_id))
    (failure,) = caught.value.result.failures
    assert (failure.kind, failure.step) == ("unexpected", "no decline")
    assert failure.message.startswith("k:out [type=Declined]: expected none during 5s, got 1")
    # the violation ends the wait at once instead of sitting out the window
    assert caught.value.result.duration_s < 5


async def test_counts(h: eh.Harness, system: MemoryTransport) -> None:
    async with h.scenario("three") as s:
        s.expect("k:out", type="Line", at_least=3)
        await s.publish("k:in", {"type": "Go"})
        for i in range(3):
            await system.publish(
                "out", rec({"type": "Line", "i": i}, correlation_id=s.correlation_id)
            )
    with pytest.raises(eh.ScenarioFailed) as caught:
        async with h.scenario("too many") as s:
            s.expect("k:out", type="Line", at_most=1, within=0.2, name="one line")
            await s.publish("k:in", {"type": "Go"})
            for i in range(2):
                await system.publish(
                    "out", rec({"type": "Line", "i": i}, correlation_id=s.correlation_id)
                )
    (failure,) = caught.value.result.failures
    assert (failure.kind, failure.step) == ("unexpected", "one line")
    assert "expected at most 1 event(s), got 2" in failure.message
    with pytest.raises(eh.UsageError, match="either count= or at_least="):
        async with h.scenario("bad") as s:
            s.expect("k:out", count=1, at_least=1)


async def test_after_orders_and_opens_the_window(h: eh.Harness, system: MemoryTransport) -> None:
    async with h.scenario("ordered") as s:
        a = s.expect("k:a", type="A")
        s.expect("k:b", type="B", after=a)
        await s.publish("k:in", {"type": "Go"})
        await system.publish("a", rec({"type": "A"}, correlation_id=s.correlation_id))
        await system.publish("b", rec({"type": "B"}, correlation_id=s.correlation_id))
    with pytest.raises(eh.ScenarioFailed) as caught:
        async with h.scenario("reversed") as s:
            a = s.expect("k:a", type="A", name="a")
            s.expect("k:b", type="B", after=a, name="b")
            await s.publish("k:in", {"type": "Go"})
            await system.publish("b", rec({"type": "B"}, correlation_id=s.correlation_id))
            await system.publish("a", rec({"type": "A"}, correlation_id=s.correlation_id))
    (failure,) = caught.value.result.failures
    assert (failure.kind, failure.step) == ("ordering", "b")
    assert "before 'a'" in failure.message


async def test_explicit_sequence(h: eh.Harness, system: MemoryTransport) -> None:
    with pytest.raises(eh.ScenarioFailed) as caught:
        async with h.scenario("sequence") as s:
            a = s.expect("k:a", name="a")
            b = s.expect("k:b", name="b")
            s.expect_order(a, b, name="a then b")
            await s.publish("k:in", {"type": "Go"})
            await system.publish("b", rec({"type": "B"}, correlation_id=s.correlation_id))
            await system.publish("a", rec({"type": "A"}, correlation_id=s.correlation_id))
    assert [(f.kind, f.step) for f in caught.value.result.failures] == [("ordering", "a then b")]


async def test_per_key_order(h: eh.Harness, system: MemoryTransport) -> None:
    async def run(reverse: bool) -> eh.ScenarioResult:
        async with h.scenario("per key") as s:
            out = s.expect("k:out", at_least=4)
            s.expect_key_order(out, by="value.seq")
            for seq in range(4):
                key = f"c{seq % 2}"
                await s.publish("k:in", {"seq": seq}, key=key)
            order = [1, 0, 3, 2] if reverse else [0, 1, 2, 3]
            for seq in order:
                await system.publish(
                    "out", rec({"seq": seq}, f"c{seq % 2}", correlation_id=s.correlation_id)
                )
        assert s.result is not None
        return s.result

    assert (await run(reverse=False)).passed
    # 1,0,3,2 keeps each key's order (c0: 0,2; c1: 1,3): still in order per key
    assert (await run(reverse=True)).passed
    with pytest.raises(eh.ScenarioFailed) as caught:
        async with h.scenario("per key broken") as s:
            out = s.expect("k:out", at_least=2)
            s.expect_key_order(out, by="value.seq", name="per key")
            await s.publish("k:in", {"seq": 0}, key="c0")
            await s.publish("k:in", {"seq": 1}, key="c0")
            for seq in (1, 0):
                await system.publish(
                    "out", rec({"seq": seq}, "c0", correlation_id=s.correlation_id)
                )
    (failure,) = caught.value.result.failures
    assert (failure.kind, failure.step) == ("ordering", "per key")
    assert "key 'c0' on k:out: value.seq=0 arrived after value.seq=1" in failure.message


async def test_duplicates_fail_unless_allowed(h: eh.Harness, system: MemoryTransport) -> None:
    async def emit_twice(s: eh.Scenario) -> None:
        for _ in range(2):
            await system.publish(
                "out", rec({"type": "X"}, correlation_id=s.correlation_id, message_id="m-1")
            )

    with pytest.raises(eh.ScenarioFailed) as caught:
        async with h.scenario("dup") as s:
            s.expect("k:out", type="X", name="x")
            await s.publish("k:in", {})
            await emit_twice(s)
    (failure,) = caught.value.result.failures
    assert (failure.kind, failure.step) == ("duplicate", "x")
    assert "delivered twice (message id m-1)" in failure.message
    async with h.scenario("dup allowed") as s:
        s.expect("k:out", type="X", allow_duplicates=True)
        await s.publish("k:in", {})
        await emit_twice(s)


@pytest.mark.parametrize(
    ("rule", "record"),
    [
        ("value.order_id", lambda oid: rec({"order_id": oid})),
        ("key", lambda oid: rec({"x": 1}, key=oid)),
        ("headers.x-order", lambda oid: rec({"x": 1}, x_order=oid)),
    ],
)
async def test_business_key_correlation_without_any_header(
    memory_url: str, system: MemoryTransport, rule: str, record: Callable[[str], Record]
) -> None:
    async with eh.Harness({"k": memory_url}, correlation={"k:out": rule}) as h:
        async with h.scenario("by business key") as s:
            s.expect("k:out")
            await s.publish("k:in", {"order_id": "o-77"}, key="o-77", headers={"x-order": "o-77"})
            await system.publish("out", record("o-77"))
            await system.publish("out", record("o-other"))  # somebody else's
        assert s.result is not None
        inbound = [e for e in s.result.events if e.direction == "in"]
        assert len(inbound) == 1


async def test_correlation_from_payload_field_and_traceparent(
    h: eh.Harness, system: MemoryTransport
) -> None:
    async with h.scenario("payload field and trace") as s:
        s.expect("k:out", type="ByField")
        s.expect("k:out", type="ByTrace")
        await s.publish("k:in", {})
        await system.publish("out", rec({"type": "ByField", "correlation_id": s.correlation_id}))
        await system.publish(
            "out",
            rec({"type": "ByTrace"}, traceparent=f"00-{s.correlation_id}-0123456789abcdef-01"),
        )


async def test_concurrent_scenarios_claiming_one_key_is_an_error(memory_url: str) -> None:
    async with eh.Harness({"k": memory_url}) as h, h.scenario("first") as s1:
        s1.correlate("shared-key")
        with pytest.raises(eh.EventHarnessError, match="already claimed by another"):
            async with h.scenario("second") as s2:
                s2.correlate("shared-key")


async def test_eventually_with_sync_async_and_http_probes(h: eh.Harness) -> None:
    state = {"n": 0}

    def sync_probe() -> bool:
        state["n"] += 1
        return state["n"] >= 3

    async def async_probe() -> bool:
        return True

    with http_server({"/orders/o-1": {"status": "shipped"}}) as base:
        async with h.scenario("probes") as s:
            assert await s.eventually(sync_probe, within=2, interval=0.01)
            assert await s.eventually(async_probe, within=1)
            assert await s.eventually(
                eh.http_get(f"{base}/orders/o-1", json={"status": "shipped"}), within=2
            )
        with pytest.raises(eh.ScenarioFailed) as caught:
            async with h.scenario("stale") as s:
                await s.eventually(
                    eh.http_get(f"{base}/orders/o-1", json={"status": "paid"}),
                    within=0.3,
                    interval=0.05,
                )
    (failure,) = caught.value.result.failures
    assert failure.kind == "consistency" and failure.step == f"GET {base}/orders/o-1"
    assert "did not hold within 0.3s" in failure.message
    assert (
        "last: GET" in failure.message
        and "status: expected 'paid', got 'shipped'" in failure.message
    )


async def test_a_cancelled_command_probe_ends_its_process(tmp_path: Path) -> None:
    """Ctrl-C during ``eventually`` with a command probe leaves no process behind."""
    pid_file = tmp_path / "probe.pid"
    script = (
        f"import os, pathlib, time; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))"
        "; time.sleep(600)"
    )
    running = asyncio.create_task(eh.command([sys.executable, "-c", script])())
    pid = int(await asyncio.to_thread(wait_for_file, pid_file))
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert gone(pid)


async def test_check_callable(h: eh.Harness, system: MemoryTransport) -> None:
    with pytest.raises(eh.ScenarioFailed) as caught:
        async with h.scenario("check") as s:
            pay = s.expect("k:out", name="pay")
            s.check(lambda facts: facts[pay].value["amount"] == 42, name="amount is 42")
            await s.publish("k:in", {})
            await system.publish("out", rec({"amount": 41}, correlation_id=s.correlation_id))
    assert [(f.kind, f.step) for f in caught.value.result.failures] == [
        ("consistency", "amount is 42")
    ]


async def test_publishing_a_schema_violation_sends_nothing(
    h: eh.Harness, system: MemoryTransport
) -> None:
    observer = await system.subscribe("in")
    schema = {"type": "object", "required": ["order_id"]}
    with pytest.raises(eh.ScenarioFailed) as caught:
        async with h.scenario("bad publish") as s:
            await s.publish("k:in", {"total": 1}, schema=schema)
            pytest.fail("publish should have stopped the scenario")
    (failure,) = caught.value.result.failures
    assert (failure.kind, failure.step) == ("schema", "publish k:in")
    assert "it was not sent" in failure.message
    assert any("order_id" in d for d in failure.details)
    with anyio.move_on_after(0.05):  # nothing must arrive: a bounded look, not a wait for it
        await observer.__aiter__().__anext__()
        pytest.fail("a record was sent")
    await observer.aclose()


async def test_an_exception_in_the_body_is_an_error_result(h: eh.Harness) -> None:
    with pytest.raises(ZeroDivisionError):
        async with h.scenario("boom") as s:
            s.expect("k:out", within=30)
            1 / 0  # noqa: B018
    assert h.results[-1].status == "error"
    assert h.results[-1].failures[0].message == "ZeroDivisionError: division by zero"


async def test_undecodable_bytes_are_kept_not_fatal(h: eh.Harness, system: MemoryTransport) -> None:
    async with h.scenario("bytes") as s:
        s.expect("k:out", where=lambda e: e.raw == b"\xff\xfe")
        await s.publish("k:in", {})
        await system.publish(
            "out", Record(b"\xff\xfe", None, {"correlation-id": s.correlation_id.encode()})
        )
    assert s.result is not None
    event = s.result.events[-1]
    assert event.decode_error is not None and "not UTF-8" in event.decode_error
    assert event.value == b"\xff\xfe"


async def test_scenario_never_outlives_its_window(h: eh.Harness) -> None:
    with anyio.fail_after(5), pytest.raises(eh.ScenarioFailed):  # a hang guard, not a timing
        async with h.scenario("silent") as s:
            s.expect("k:out", within=0.2)
            s.expect("k:out2", within=0.3)
            await s.publish("k:in", {})


async def test_unrelated_buffer_is_bounded(memory_url: str, system: MemoryTransport) -> None:
    async with eh.Harness({"k": memory_url}) as h:
        limit = h.collector._unrelated_limit
        async with h.scenario("marker") as s:
            s.expect("k:noise", type="Marker")
            await s.publish("k:in", {})
            for i in range(limit + 50):
                await system.publish("noise", rec({"i": i}))
            # delivered in order after all the noise: once it is here, so is the noise
            await system.publish("noise", rec({"type": "Marker"}, correlation_id=s.correlation_id))
        kept = h.collector.unrelated("k:noise")
        assert len(kept) == limit
        assert [e.value["i"] for e in kept] == list(range(50, limit + 50))


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, Any] = {}

    def do_GET(self) -> None:
        body = self.routes.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body if body is not None else {}).encode())

    def log_message(self, *args: object) -> None:
        pass


class http_server:
    def __init__(self, routes: dict[str, Any]) -> None:
        handler = type("H", (_Handler,), {"routes": routes})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_publish_takes_a_message_and_stamps_correlation(
    h: eh.Harness, system: MemoryTransport
) -> None:
    observer = await system.subscribe("in")
    async with h.scenario("message") as s:
        s.expect_none("k:never", during=0.01)
        sent = await s.publish("k:in", eh.Message({"a": 1}, key="k1", headers={"x": "1"}))
    record = await observer.__aiter__().__anext__()
    await observer.aclose()
    assert record.key == b"k1" and json.loads(record.value) == {"a": 1}
    assert record.headers["x"] == b"1"
    assert record.headers["correlation-id"].decode() == s.correlation_id
    assert record.headers["traceparent"].decode().split("-")[1] == s.correlation_id
    assert sent.direction == "out" and sent.key == "k1"


async def test_one_fetch_batch_is_ordered_by_arrival(h: eh.Harness) -> None:
    """Kafka hands a batch over at once: equal receive times, order by arrival sequence."""
    with pytest.raises(eh.ScenarioFailed) as caught:
        async with h.scenario("batch") as s:
            a = s.expect("k:out", type="A", name="a")
            s.expect("k:out", type="B", after=a, name="b")
            await s.publish("k:in", {})
            same_moment = 0.01
            for kind in ("B", "A"):  # one batch, B first
                h.collector.route(
                    eh.Event(
                        channel="k:out",
                        value={"type": kind},
                        raw=kind.encode(),
                        type=kind,
                        correlation_id=s.correlation_id,
                        received=s.started + same_moment,
                    )
                )
            # (routed directly: the collector is what a transport's batch feeds)
    assert [(f.kind, f.step) for f in caught.value.result.failures] == [("ordering", "b")]


async def test_a_harness_that_keeps_no_results_still_gives_each_scenario_its_own(
    memory_url: str,
) -> None:
    async with eh.Harness({"bus": memory_url}, keep_results=False) as harness:
        async with harness.scenario("one of many") as s:
            s.expect("bus:orders", type="OrderPlaced")
            await s.publish("bus:orders", {"type": "OrderPlaced"})
        assert s.result is not None and s.result.passed
        assert harness.results == []  # a long load does not grow with every flow
