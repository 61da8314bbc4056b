"""The span receiver: OTLP/HTTP (protobuf, ``POST /v1/traces``) on a local port during a run.

    with SpanReceiver() as receiver:          # 127.0.0.1, a free port
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.url
        ...
        receiver.spans(correlation_id)        # the spans of that trace, in arrival order

Services export to it (``${otlp}`` in a profile's env is :attr:`SpanReceiver.url`); requests
are decoded with ``opentelemetry-proto`` into :class:`~eventharness.model.spans.Span` records
kept by trace id. It runs in a thread of its own, so it works before, during and after the
event loop of a run; listeners (:meth:`SpanReceiver.add_listener`) are called from that thread
after each request. JSON-encoded OTLP is refused with 415 and a message saying to use
``http/protobuf``; a body that is not an OTLP request gets 400.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from eventharness.model.errors import MissingDependency
from eventharness.model.spans import Span, SpanStatus

__all__ = ["MAX_BODY", "SpanReceiver", "decode_request"]

MAX_BODY = 16 * 1024 * 1024
_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUS: dict[int, SpanStatus] = {0: "unset", 1: "ok", 2: "error"}


def _value(any_value: Any) -> Any:
    which = any_value.WhichOneof("value")
    if which is None:
        return None
    value = getattr(any_value, which)
    if which == "array_value":
        return [_value(v) for v in value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.values}
    return value


def decode_request(body: bytes) -> list[Span]:
    """The spans of one OTLP ``ExportTraceServiceRequest`` (protobuf bytes)."""
    try:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )
    except ImportError as exc:  # pragma: no cover - the [otel] extra is part of [dev]
        raise MissingDependency("the span receiver", "opentelemetry-proto", "otel") from exc
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    found: list[Span] = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
        service = str(resource.get("service.name", ""))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                found.append(
                    Span(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        name=span.name,
                        service=service,
                        kind=_KINDS.get(span.kind, "internal"),
                        attributes={kv.key: _value(kv.value) for kv in span.attributes},
                        status=_STATUS.get(span.status.code, "unset"),
                        status_message=span.status.message,
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                    )
                )
    return found


def _response() -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    return bytes(ExportTraceServiceResponse().SerializeToString())


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: a run has its own output
        pass

    def _reply(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        if self.path.split("?")[0].rstrip("/") != "/v1/traces":
            self._reply(404, b"eventharness receives traces at POST /v1/traces\n", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, b"request too large\n", "text/plain")
            return
        body = self.rfile.read(length)
        if "json" in (self.headers.get("Content-Type") or ""):
            message = b"send OTLP as protobuf: OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\n"
            self._reply(415, message, "text/plain")
            return
        try:
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            spans = decode_request(body)
        except Exception as exc:  # a malformed body: the sender is told, the run goes on
            self._reply(400, f"not an OTLP trace request: {exc}\n".encode(), "text/plain")
            return
        self.server.owner.add(spans)
        self._reply(200, _response(), "application/x-protobuf")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: SpanReceiver


class SpanReceiver:
    """An OTLP/HTTP receiver on ``host:port`` (port 0: a free one), in a thread of its own."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host, self._port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._by_trace: dict[str, list[Span]] = {}
        self._listeners: list[Callable[[], None]] = []
        self.received = 0  # spans received, all traces

    @property
    def url(self) -> str:
        """The base URL to export to (``OTEL_EXPORTER_OTLP_ENDPOINT``)."""
        if self._server is None:
            raise RuntimeError("the span receiver is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SpanReceiver:
        if self._server is None:
            self._server = _Server((self._host, self._port), _Handler)
            self._server.owner = self
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="eventharness-otlp", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening (idempotent); the spans received stay readable."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> SpanReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def add(self, spans: list[Span]) -> None:
        """Keep ``spans`` (as a request does) and tell the listeners."""
        with self._lock:
            for span in spans:
                self._by_trace.setdefault(span.trace_id, []).append(span)
            self.received += len(spans)
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def spans(self, trace_id: str) -> list[Span]:
        """The spans of trace ``trace_id`` received so far, in arrival order."""
        with self._lock:
            return list(self._by_trace.get(trace_id, ()))

    def forget(self, trace_id: str) -> None:
        """Drop a finished trace's spans (a long run keeps no more than it needs)."""
        with self._lock:
            self._by_trace.pop(trace_id, None)

    def add_listener(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)
