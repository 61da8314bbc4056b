"""Spans of what a scenario does besides publishing and collecting: probes (``eventually``),
stubs' answers and faults applied to messages — on the memory broker and on Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import eventharness as eh
from eventharness.engine.faults import Delay, Drop
from eventharness.engine.probes import ProbeResult
from eventharness.tracing import make_tracing
from tests.conftest import unique


@pytest.fixture(params=["memory", "kafka"])
def broker_url(request: pytest.FixtureRequest, memory_url: str) -> str:
    if request.param == "memory":
        return memory_url
    url: str = request.getfixturevalue("kafka_url")
    return url


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def h(broker_url: str, exporter: InMemorySpanExporter) -> AsyncIterator[eh.Harness]:
    tracing = make_tracing(exporter=exporter)
    async with eh.Harness({"b": broker_url}, tracing=tracing, within=5) as harness:
        yield harness
    assert tracing is not None
    tracing.shutdown()


def _named(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    (found,) = [span for span in spans if span.name == name]
    return found


def _hex(span_id: int) -> str:
    return f"{span_id:016x}"


async def test_a_probe_is_a_span_under_the_root_with_its_attempts(
    h: eh.Harness, exporter: InMemorySpanExporter
) -> None:
    asked = 0

    def ready() -> ProbeResult:
        nonlocal asked
        asked += 1
        return ProbeResult(asked >= 3, f"asked {asked} times")

    async with h.scenario("a probe") as s:
        assert await s.eventually(ready, within=5, interval=0.01, name="view ready")
    spans = exporter.get_finished_spans()
    root = _named(spans, "scenario a probe")
    probe = _named(spans, "probe view ready")
    assert probe.parent is not None and probe.parent.span_id == root.context.span_id
    assert probe.context.trace_id == int(s.correlation_id, 16)
    assert probe.attributes is not None
    assert probe.attributes["eventharness.probe.attempts"] == 3
    assert probe.attributes["eventharness.probe.ok"] is True
    assert probe.status.status_code == StatusCode.UNSET


async def test_a_probe_that_never_held_is_an_error_span(
    h: eh.Harness, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(eh.ScenarioFailed):
        async with h.scenario("a probe that fails") as s:
            await s.eventually(lambda: ProbeResult(False, "status pending"), within=0.1)
    probe = next(span for span in exporter.get_finished_spans() if span.name.startswith("probe"))
    assert probe.status.status_code == StatusCode.ERROR
    assert "status pending" in (probe.status.description or "")


async def test_a_stub_answers_in_a_span_its_replies_carry(
    h: eh.Harness, exporter: InMemorySpanExporter
) -> None:
    orders, payments = unique("orders"), unique("payments")
    async with h.scenario("stubbed") as s:
        s.stub(
            f"b:{orders}",
            name="payments",
            respond=[{"channel": f"b:{payments}", "value": {"type": "PaymentAuthorized"}}],
        )
        paid = s.expect(f"b:{payments}", type="PaymentAuthorized")
        await s.publish(f"b:{orders}", {"type": "OrderPlaced"}, key="o-1")
    spans = exporter.get_finished_spans()
    send = _named(spans, f"send {orders}")
    stub = _named(spans, "stub payments")
    assert stub.kind == SpanKind.CONSUMER
    assert stub.parent is not None and stub.parent.span_id == send.context.span_id
    assert stub.attributes is not None and stub.attributes["eventharness.stub.replies"] == 1
    # the reply carries the stub's span: the chain the trace shows is unbroken
    (reply,) = paid.matched
    assert reply.traceparent is not None
    assert reply.traceparent.split("-")[2] == _hex(stub.context.span_id)
    received = _named(spans, f"receive {payments}")
    assert received.parent is not None and received.parent.span_id == stub.context.span_id


async def test_each_fault_applied_is_a_span_under_its_message(
    h: eh.Harness, exporter: InMemorySpanExporter
) -> None:
    orders = unique("orders")
    drop = Drop(nth=2)
    async with h.scenario("faulty") as s:
        s.expect(f"b:{orders}", type="OrderPlaced", count=1)
        first = await s.publish(f"b:{orders}", {"type": "OrderPlaced"}, faults=[Delay(0.05), drop])
        second = await s.publish(f"b:{orders}", {"type": "OrderPlaced"}, faults=[drop])
    spans = exporter.get_finished_spans()
    faults = [span for span in spans if span.name.startswith("fault ")]
    assert sorted(span.name for span in faults) == ["fault delay", "fault drop"]
    delay, dropped = _named(spans, "fault delay"), _named(spans, "fault drop")
    assert delay.parent is not None and first.traceparent is not None
    assert _hex(delay.parent.span_id) == first.traceparent.split("-")[2]
    assert delay.end_time is not None and delay.start_time is not None
    assert delay.end_time - delay.start_time >= 50_000_000  # it lasted as long as the delay
    assert dropped.parent is not None and second.traceparent is not None
    assert _hex(dropped.parent.span_id) == second.traceparent.split("-")[2]
    assert dropped.attributes is not None
    assert dropped.attributes["eventharness.fault"] == "fault drop nth=2"
    assert "dropped, never sent" in str(dropped.attributes["eventharness.fault.notes"])


async def test_tracing_off_makes_no_step_spans(memory_url: str) -> None:
    orders = unique("orders")
    async with eh.Harness({"b": memory_url}) as h, h.scenario("untraced") as s:
        s.stub(f"b:{orders}", respond=[{"channel": f"b:{orders}-out", "value": {"n": 1}}])
        out = s.expect(f"b:{orders}-out")
        await s.publish(f"b:{orders}", {"n": 0}, faults=[Delay(0.01)])
        assert await s.eventually(lambda: True)
    assert h.tracing is None
    # the stub's reply still continues the scenario's trace, with a span id of its own
    (reply,) = out.matched
    assert reply.trace_id == s.correlation_id
