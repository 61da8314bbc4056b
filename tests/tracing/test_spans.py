"""Spans of scenarios with opentelemetry-sdk, on the memory broker and on Kafka."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import eventharness as eh
from eventharness.model.errors import UsageError
from eventharness.model.events import Record
from eventharness.tracing import make_tracing, resolve_endpoint
from eventharness.transports.base import make_transport
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
    async with eh.Harness({"b": broker_url}, tracing=tracing) as harness:
        yield harness
    assert tracing is not None
    tracing.shutdown()


def _by_kind(spans: tuple[ReadableSpan, ...], kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in spans if span.kind == kind]


async def _forward(url: str, address: str, cause: eh.Event, span_id: str, value: Any) -> None:
    """What a well-behaved service does: publish in the same trace, its own span the parent."""
    trace_id = cause.trace_id
    assert trace_id is not None
    headers = {"traceparent": f"00-{trace_id}-{span_id}-01".encode()}
    async with make_transport(url) as system:
        await system.publish(address, Record(json.dumps(value).encode(), b"o-1", headers))


async def test_root_producer_and_consumer_spans_follow_the_messaging_conventions(
    h: eh.Harness, broker_url: str, exporter: InMemorySpanExporter
) -> None:
    orders, payments = unique("orders"), unique("payments")
    system = "kafka" if broker_url.startswith("kafka") else "memory"
    async with h.scenario("order is paid") as s:
        s.expect(f"b:{payments}", type="PaymentAuthorized")
        sent = await s.publish(f"b:{orders}", {"type": "OrderPlaced"}, key="o-1")
        await _forward(
            broker_url, payments, sent, "00000000000000aa", {"type": "PaymentAuthorized"}
        )
    spans = exporter.get_finished_spans()
    (root,) = _by_kind(spans, SpanKind.INTERNAL)
    (producer,) = _by_kind(spans, SpanKind.PRODUCER)
    (consumer,) = _by_kind(spans, SpanKind.CONSUMER)
    trace_id = int(s.correlation_id, 16)
    assert {span.context.trace_id for span in spans} == {trace_id}
    assert root.name == "scenario order is paid" and root.parent is None
    assert root.status.status_code == StatusCode.UNSET
    # the traceparent on the message is the PRODUCER span's context
    assert producer.parent is not None and producer.parent.span_id == root.context.span_id
    assert sent.traceparent == f"00-{s.correlation_id}-{producer.context.span_id:016x}-01"
    assert producer.name == f"send {orders}"
    attrs = dict(producer.attributes or {})
    assert attrs["messaging.system"] == system
    assert attrs["messaging.destination.name"] == orders
    assert attrs["messaging.operation.type"] == "send"
    assert attrs["messaging.message.id"] == sent.message_id
    assert attrs["messaging.message.conversation_id"] == s.correlation_id
    # the CONSUMER span is the child of the span the event's own traceparent names
    assert consumer.name == f"receive {payments}"
    assert consumer.parent is not None and consumer.parent.span_id == 0xAA
    cattrs = dict(consumer.attributes or {})
    assert cattrs["messaging.operation.type"] == "receive"
    assert cattrs["messaging.destination.name"] == payments
    if system == "kafka":
        assert attrs["messaging.kafka.message.key"] == "o-1"
        assert attrs["messaging.destination.partition.id"] == str(sent.position.partition)
        assert attrs["messaging.kafka.offset"] == sent.position.offset
        assert cattrs["messaging.kafka.message.key"] == "o-1"
        assert "messaging.kafka.offset" in cattrs


async def test_a_failed_scenario_marks_its_root_span_as_an_error(
    h: eh.Harness, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(eh.ScenarioFailed):
        async with h.scenario("never answered", within=0.2) as s:
            s.expect(f"b:{unique('nothing')}", type="Never")
            await s.publish(f"b:{unique('orders')}", {"type": "OrderPlaced"})
    (root,) = _by_kind(exporter.get_finished_spans(), SpanKind.INTERNAL)
    assert root.status.status_code == StatusCode.ERROR
    assert "timeout" in (root.status.description or "")


async def test_tracing_off_stamps_the_correlation_id_as_trace_id(memory_url: str) -> None:
    async with eh.Harness({"b": memory_url}) as h, h.scenario("untraced") as s:
        sent = await s.publish(f"b:{unique('orders')}", {"type": "OrderPlaced"})
    assert sent.trace_id == s.correlation_id


def test_tracing_off_imports_nothing_of_opentelemetry(memory_url: str) -> None:
    code = (
        "import asyncio, sys\n"
        "import eventharness as eh\n"
        "import eventharness.cli.app\n"
        "async def main():\n"
        f"    async with eh.Harness({{'b': {memory_url!r}}}) as h:\n"
        "        async with h.scenario('x') as s:\n"
        "            await s.publish('b:t', {'type': 'T'})\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OTEL_EXPORTER_OTLP_ENDPOINT"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_endpoint_comes_from_the_option_the_profile_or_the_environment() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318"}
    assert resolve_endpoint(None, None, {}) is None
    assert resolve_endpoint(None, None, env) == "http://env:4318"
    assert resolve_endpoint(None, "http://profile:4318", env) == "http://profile:4318"
    assert resolve_endpoint("http://opt:4318", "http://profile:4318", env) == "http://opt:4318"
    assert resolve_endpoint("", "http://profile:4318", env) is None
    with pytest.raises(UsageError, match=r"--otlp: OTLP endpoint 'localhost:4318' is not an"):
        resolve_endpoint("localhost:4318", None, {})
