"""`trace: propagated` and `expect_span` on Kafka, with a service that exports its spans
through opentelemetry-sdk's OTLP/HTTP exporter to the harness's receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import eventharness as eh
from eventharness.model.errors import UsageError
from eventharness.model.events import Record
from eventharness.tracing.receiver import SpanReceiver
from eventharness.transports.base import Transport, make_transport
from tests.conftest import unique


@pytest.fixture
def receiver() -> Iterator[SpanReceiver]:
    with SpanReceiver() as started:
        yield started


@pytest.fixture
async def h(kafka_url: str, receiver: SpanReceiver) -> AsyncIterator[eh.Harness]:
    async with eh.Harness({"k": kafka_url}, receiver=receiver) as harness:
        yield harness


@pytest.fixture
async def bus(kafka_url: str) -> AsyncIterator[Transport]:
    async with make_transport(kafka_url) as transport:
        yield transport


class Payments:
    """A service that consumes an order and publishes a payment, its spans exported over
    OTLP/HTTP; ``drop`` makes it publish with no trace context (a fresh trace)."""

    def __init__(self, receiver: SpanReceiver, bus: Transport, drop: bool = False) -> None:
        self.provider = TracerProvider(resource=Resource.create({"service.name": "payments"}))
        exporter = OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces")
        self.provider.add_span_processor(SimpleSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("payments")
        self.bus, self.drop = bus, drop
        self.propagator = TraceContextTextMapPropagator()

    async def handle(self, order: eh.Event, out: str, correlation_id: str) -> None:
        context = self.propagator.extract({"traceparent": order.traceparent or ""})
        with self.tracer.start_as_current_span(
            f"process {order.channel.partition(':')[2]}",
            context=context,
            kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "kafka", "payment.amount": 42},
        ):
            with self.tracer.start_as_current_span("authorize") as span:
                span.set_status(Status(StatusCode.OK))
            carrier: dict[str, str] = {}
            if self.drop:
                with self.tracer.start_as_current_span("send", context={}, kind=SpanKind.PRODUCER):
                    self.propagator.inject(carrier)
            else:
                with self.tracer.start_as_current_span(f"send {out}", kind=SpanKind.PRODUCER):
                    self.propagator.inject(carrier)
            headers = {k: v.encode() for k, v in carrier.items()}
            headers["correlation-id"] = correlation_id.encode()
            body = json.dumps({"type": "PaymentAuthorized"}).encode()
            await self.bus.publish(out, Record(body, b"o-1", headers))

    def close(self) -> None:
        self.provider.shutdown()


async def test_propagated_and_expected_spans_pass_when_the_service_carries_the_context(
    h: eh.Harness, receiver: SpanReceiver, bus: Transport
) -> None:
    orders, payments = unique("orders"), unique("payments")
    service = Payments(receiver, bus)
    async with h.scenario("paid", trace="propagated") as s:
        s.expect(f"k:{payments}", type="PaymentAuthorized", trace="propagated")
        s.expect_span(
            service="payments",
            name=f"process {orders}",
            attributes={"payment.amount": {"ge": 40}, "messaging.system": "kafka"},
            max_duration=60,
        )
        s.expect_span(service="payments", name="authorize", status="ok", min_duration=0)
        order = await s.publish(f"k:{orders}", {"type": "OrderPlaced"}, key="o-1")
        await service.handle(order, payments, s.correlation_id)
    service.close()
    assert s.result is not None and s.result.passed, s.result.explain()
    assert {span.name for span in s.result.spans} == {
        f"process {orders}",
        "authorize",
        f"send {payments}",
    }


async def test_a_service_that_drops_the_context_fails_with_kind_trace_naming_it(
    h: eh.Harness, receiver: SpanReceiver, bus: Transport
) -> None:
    orders, payments = unique("orders"), unique("payments")
    service = Payments(receiver, bus, drop=True)
    with pytest.raises(eh.ScenarioFailed) as failed:
        async with h.scenario("paid", trace="propagated", within=2) as s:
            s.expect(f"k:{payments}", type="PaymentAuthorized")
            order = await s.publish(f"k:{orders}", {"type": "OrderPlaced"}, key="o-1")
            await service.handle(order, payments, s.correlation_id)
    service.close()
    result = failed.value.result
    (failure,) = result.failures
    assert failure.kind == "trace" and failure.step == "scenario trace propagated"
    # the span that sent the event, found in the trace it started, names the service
    assert failure.message.startswith(
        f"trace context lost on k:{payments} by service 'payments': PaymentAuthorized key=o-1 "
        "carries trace "
    )
    assert failure.message.endswith(", not the scenario's")
    assert failure.details == (
        "service 'payments' sent it from span 'send' of a new trace instead of continuing the "
        "context it received",
    )


async def test_an_expected_span_that_never_came_names_the_nearest(
    h: eh.Harness, receiver: SpanReceiver, bus: Transport
) -> None:
    orders, payments = unique("orders"), unique("payments")
    service = Payments(receiver, bus)
    with pytest.raises(eh.ScenarioFailed) as failed:
        async with h.scenario("paid", within=1) as s:
            s.expect(f"k:{payments}", type="PaymentAuthorized")
            s.expect_span(service="payments", name="authorize", status="error")
            order = await s.publish(f"k:{orders}", {"type": "OrderPlaced"}, key="o-1")
            await service.handle(order, payments, s.correlation_id)
    service.close()
    (failure,) = failed.value.result.failures
    assert failure.kind == "trace" and failure.step == "span payments/authorize"
    assert failure.message == (
        "no span service=payments name=authorize status=error in the trace within 1s "
        "(3 spans received)"
    )
    assert failure.details[0] == (
        "nearest: payments: authorize (internal): status: expected error, got ok"
    )


async def test_trace_checks_need_a_receiver_and_a_known_rule(memory_url: str) -> None:
    async with eh.Harness({"b": memory_url}) as h:
        with pytest.raises(UsageError, match=r"trace: propagated in scenario 'x' needs the spans"):
            async with h.scenario("x", trace="propagated"):
                pass
        with pytest.raises(UsageError, match=r"'always' is not a trace rule"):
            h.scenario("y", trace="always")
        with pytest.raises(UsageError, match="expect_span in scenario 'z' needs"):
            async with h.scenario("z") as s:
                s.expect_span(name="a")


def test_an_event_with_no_context_names_the_service_that_received_last() -> None:
    from eventharness.engine.traces import Propagation, trace_failures
    from eventharness.model.spans import Span

    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    event = eh.Event("k:ships", {"type": "Shipped"}, b"{}", type="Shipped", received=1.0)
    spans = [
        Span(trace_id, "a" * 16, "orders receive", "payments", kind="consumer", start_ns=1),
        Span(trace_id, "b" * 16, "payments send", "payments", kind="producer", start_ns=2),
        Span(trace_id, "c" * 16, "payments receive", "shipping", kind="consumer", start_ns=3),
    ]
    # the event says nothing of where it came from: the last service that received in the
    # trace and sent nothing in it is named (a lookup finds nothing to go on)
    (failure,) = trace_failures([Propagation()], trace_id, [event], spans, 2.0, lambda t, s: None)
    assert failure.kind == "trace"
    assert failure.message == (
        "trace context lost on k:ships: Shipped key=- carries no trace context (traceparent)"
    )
    assert failure.details == (
        "last in the trace before it: service 'shipping' (payments receive) received it and "
        "did not pass it on",
    )
