"""Tracing on the real shop, through the CLI: embedded Kafka, the local RabbitMQ, the example
services as their own processes (traced with OpenTelemetry's aiokafka and aio-pika
instrumentations), started by the repository's default profile.

* The run exports the harness's spans (``--otlp``) to a collector of this test, which decodes the
  OTLP/HTTP protobuf with ``opentelemetry-proto`` itself; the services export theirs to the run's
  receiver (``${otlp}``), and the JSON report holds them. Both are one trace, the scenario's:
  its correlation id, and each side's spans are the parents of the other's.
* ``SHOP_FAULT=drop-trace`` (shipping handles payments in a trace of its own) fails
  ``trace: propagated`` with kind ``trace``, naming shipping.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

pytestmark = [pytest.mark.kafka, pytest.mark.amqp]

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "eventharness")
SCENARIO = "scenarios/shop/traced.yaml"
KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP trace collector: every span of every request, decoded."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        found = []
        for resource_spans in request.resource_spans:
            service = next(
                kv.value.string_value
                for kv in resource_spans.resource.attributes
                if kv.key == "service.name"
            )
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    found.append(
                        {
                            "service": service,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex() or None,
                            "name": span.name,
                            "kind": KINDS[span.kind],
                        }
                    )
        with self.server.lock:
            self.server.spans.extend(found)
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def run(tmp: Path, *args: str, fault: str = "") -> tuple[subprocess.CompletedProcess[str], Any]:
    report = tmp / "report.json"
    options = ["--state-dir", str(tmp / "state"), "--report-json", str(report), *args]
    done = subprocess.run(
        [EXE, "run", SCENARIO, *options],
        cwd=REPO,
        env={**os.environ, "SHOP_FAULT": fault, "NO_COLOR": "1", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    return done, json.loads(report.read_text())


def test_the_scenarios_trace_holds_the_harness_spans_and_each_services(
    tmp_path: Path, collector: Collector, amqp_url: str
) -> None:
    done, report = run(tmp_path, "--otlp", collector.url)
    assert done.returncode == 0, done.stdout + done.stderr
    (scenario,) = report["scenarios"]
    trace_id = scenario["correlation_id"]

    # the harness's own spans, exported over OTLP/HTTP to this collector: the scenario's trace
    ours = [s for s in collector.spans if s["trace_id"] == trace_id]
    assert {s["service"] for s in ours} == {"eventharness"}
    names = {s["name"]: s for s in ours}
    root = names[f"scenario {scenario['name']}"]
    send = names["send orders"]
    assert send["kind"] == "producer" and send["parent_span_id"] == root["span_id"]
    assert names["receive payments"]["kind"] == "consumer"

    # the services' spans, received by the run (${otlp}) and kept in the report: the same trace
    theirs = scenario["spans"]
    assert theirs and {s["trace_id"] for s in theirs} == {trace_id}
    by_service: dict[str, dict[str, dict[str, Any]]] = {}
    for span in theirs:
        by_service.setdefault(span["service"], {})[span["name"]] = span
    assert set(by_service) == {"payments", "shipping", "orders-view"}

    # and the two sides are one chain: harness send → payments → harness receive, shipping
    payments, shipping = by_service["payments"], by_service["shipping"]
    assert payments["orders receive"]["parent_span_id"] == send["span_id"]
    assert payments["orders process"]["parent_span_id"] == payments["orders receive"]["span_id"]
    sent = payments["payments send"]
    assert sent["kind"] == "producer"
    assert sent["parent_span_id"] == payments["orders process"]["span_id"]
    assert names["receive payments"]["parent_span_id"] == sent["span_id"]
    assert shipping["payments receive"]["parent_span_id"] == sent["span_id"]
    shipped = [s for name, s in shipping.items() if name.endswith(",shipment.scheduled send")]
    assert [s["parent_span_id"] for s in shipped] == [shipping["payments process"]["span_id"]]
    receive_shipments = [n for n in names if n.startswith("receive shop-")]
    assert len(receive_shipments) == 1  # the harness collected the shipment in the trace too
    assert names[receive_shipments[0]]["parent_span_id"] == shipped[0]["span_id"]


def test_drop_trace_fails_with_kind_trace_naming_shipping(tmp_path: Path, amqp_url: str) -> None:
    done, report = run(tmp_path, fault="drop-trace")
    assert done.returncode == 1, done.stdout + done.stderr
    (scenario,) = report["scenarios"]
    failures = {f["step"]: f for f in scenario["failures"]}
    assert {f["kind"] for f in failures.values()} == {"trace"}
    assert set(failures) == {"scenario trace propagated", "shipping sent the shipment"}
    lost = failures["scenario trace propagated"]["message"]
    assert lost.startswith("trace context lost on rabbit:shop-"), lost
    assert "/shipment.* by service 'shipping': ShipmentScheduled" in lost
    assert lost.endswith(", not the scenario's")
    assert "[trace] scenario trace propagated" in done.stdout
    # the order was still paid and shipped: only the trace broke
    assert {e["type"] for e in scenario["events"]} >= {"PaymentAuthorized", "ShipmentScheduled"}
