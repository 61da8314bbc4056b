"""The span receiver, fed by opentelemetry-sdk's own OTLP/HTTP exporter; service spans joining
a scenario on Kafka; `eventharness run --otlp` exporting the harness's spans to it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import eventharness as eh
from eventharness.model.events import Record
from eventharness.tracing.receiver import SpanReceiver
from eventharness.transports.base import make_transport
from tests.conftest import unique

EXE = str(Path(sys.executable).parent / "eventharness")


@pytest.fixture
def receiver() -> Iterator[SpanReceiver]:
    with SpanReceiver() as started:
        yield started


def service_tracer(receiver: SpanReceiver, name: str) -> tuple[trace.Tracer, TracerProvider]:
    """A service's tracer exporting synchronously over OTLP/HTTP, as a service would."""
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    exporter = OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer(name), provider


def test_spans_from_the_sdk_exporter_are_decoded(receiver: SpanReceiver) -> None:
    tracer, provider = service_tracer(receiver, "payments")
    with tracer.start_as_current_span("charge", kind=SpanKind.SERVER) as parent:
        parent.set_attribute("payment.amount", 42)
        with tracer.start_as_current_span("authorize") as child:
            child.set_attribute("tags", ["a", "b"])
            child.set_status(Status(StatusCode.ERROR, "declined"))
    provider.shutdown()
    trace_id = f"{parent.get_span_context().trace_id:032x}"
    spans = {span.name: span for span in receiver.spans(trace_id)}
    assert set(spans) == {"charge", "authorize"}
    assert spans["charge"].service == "payments" and spans["charge"].kind == "server"
    assert spans["charge"].attributes["payment.amount"] == 42
    assert spans["charge"].parent_span_id is None
    assert spans["authorize"].parent_span_id == spans["charge"].span_id
    assert spans["authorize"].attributes["tags"] == ["a", "b"]
    assert (spans["authorize"].status, spans["authorize"].status_message) == ("error", "declined")
    assert spans["charge"].end_ns >= spans["charge"].start_ns > 0


def _post(url: str, body: bytes, content_type: str) -> tuple[int, str]:
    request = urllib.request.Request(url, body, {"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_what_is_not_otlp_protobuf_is_refused_with_the_reason(receiver: SpanReceiver) -> None:
    assert _post(f"{receiver.url}/v1/traces", b"{}", "application/json") == (
        415,
        "send OTLP as protobuf: OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\n",
    )
    code, text = _post(f"{receiver.url}/v1/traces", b"\xff\xff\xff", "application/x-protobuf")
    assert code == 400 and text.startswith("not an OTLP trace request")
    assert _post(f"{receiver.url}/v1/logs", b"", "application/x-protobuf")[0] == 404
    assert receiver.received == 0


async def test_service_spans_of_the_trace_join_the_scenario_on_kafka(
    kafka_url: str, receiver: SpanReceiver
) -> None:
    orders, payments = unique("orders"), unique("payments")
    tracer, provider = service_tracer(receiver, "payments")
    propagator = TraceContextTextMapPropagator()
    async with (
        eh.Harness({"k": kafka_url}, receiver=receiver) as h,
        make_transport(kafka_url) as service,
        h.scenario("paid") as s,
    ):
        s.expect(f"k:{payments}", type="PaymentAuthorized")
        sent = await s.publish(f"k:{orders}", {"type": "OrderPlaced"}, key="o-1")
        # the service: consume (its context from the message), work, publish onward
        context = propagator.extract({"traceparent": sent.traceparent})
        with tracer.start_as_current_span(
            f"process {orders}", context=context, kind=SpanKind.CONSUMER
        ):
            carrier: dict[str, str] = {}
            propagator.inject(carrier)
            headers = {name: value.encode() for name, value in carrier.items()}
            body = json.dumps({"type": "PaymentAuthorized"}).encode()
            await service.publish(payments, Record(body, b"o-1", headers))
    provider.shutdown()
    result = s.result
    assert result is not None and result.passed
    (span,) = result.spans
    assert span.trace_id == s.correlation_id and span.service == "payments"
    assert span.name == f"process {orders}"
    assert span.parent_span_id == sent.traceparent.split("-")[2]
    data = result.to_dict()
    assert [entry["name"] for entry in data["spans"]] == [f"process {orders}"]
    assert 0 <= data["spans"][0]["t"] < result.duration_s
    lines = result.timeline().splitlines()
    assert [line.split()[1] for line in lines] == ["→", "◆", "←"]  # interleaved in time order
    assert lines[1].split()[2:] == ["payments", "process", orders]


def test_run_exports_the_harness_spans_to_the_otlp_option(
    tmp_path: Path, receiver: SpanReceiver
) -> None:
    (tmp_path / "eventharness.toml").write_text(
        '[profiles.default]\nbrokers = { bus = "memory://traced" }\nwithin = "2s"\n'
    )
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "echo.yaml").write_text(
        textwrap.dedent(
            """\
            name: echo
            steps:
              - publish: {channel: bus:orders, value: {type: OrderPlaced}}
              - expect: {channel: bus:orders, type: OrderPlaced, within: 1s}
            """
        )
    )
    report = tmp_path / "report.json"
    out = subprocess.run(
        [EXE, "run", "--otlp", receiver.url, "--report-json", str(report)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"spans: OTLP/HTTP to {receiver.url}" in out.stdout
    correlation_id = json.loads(report.read_text())["scenarios"][0]["correlation_id"]
    spans = receiver.spans(correlation_id)
    assert sorted((span.kind, span.name) for span in spans) == [
        ("consumer", "receive orders"),
        ("internal", "scenario echo"),
        ("producer", "send orders"),
    ]
    assert {span.service for span in spans} == {"eventharness"}


def test_a_bad_otlp_option_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "eventharness.toml").write_text(
        '[profiles.default]\nbrokers = { bus = "memory://x" }\n'
    )
    out = subprocess.run(
        [EXE, "run", "--otlp", "127.0.0.1:4318", "nothing"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "--otlp: OTLP endpoint '127.0.0.1:4318' is not an http(s) URL" in out.stderr
    assert "Traceback" not in out.stderr


def test_otlp_in_a_profile_is_the_receiver_url_and_checked_when_read(tmp_path: Path) -> None:
    from eventharness.env.config import load_config
    from eventharness.env.environment import Environment
    from eventharness.model.errors import ConfigError

    toml = tmp_path / "eventharness.toml"
    toml.write_text(
        '[profiles.default]\nbrokers = { bus = "memory://x" }\n'
        'otlp = "http://collector:4318"\n'
        'env = { OTEL_EXPORTER_OTLP_ENDPOINT = "${otlp}" }\n'
    )
    config = load_config(toml)
    profile = config.profile()
    assert profile.otlp == "http://collector:4318"
    env = Environment(config, profile, otlp="http://127.0.0.1:4999")
    assert env.render(profile.env) == {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4999"}
    assert Environment(config, profile).render("${otlp}") == ""  # `up`: no receiver runs
    toml.write_text('[profiles.default]\nenv = { X = "${otlp.url}" }\n')
    with pytest.raises(ConfigError, match=r"\$\{otlp.url\}: write \$\{otlp\}"):
        load_config(toml).profile()
