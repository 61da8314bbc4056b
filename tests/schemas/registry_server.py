"""A tiny Confluent-compatible schema registry for tests: real HTTP on 127.0.0.1.

It keeps subjects, versions, global ids and compatibility config in memory and speaks the REST
endpoints both our client and confluent-kafka's ``SchemaRegistryClient`` use. Query strings are
ignored. With ``credentials`` set it demands HTTP basic auth.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit


class RegistryState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.schemas: list[dict[str, Any]] = []  # index + 1 = global id
        self.subjects: dict[str, list[int]] = {}  # subject -> ids, version = index + 1
        self.config: dict[str | None, str] = {None: "BACKWARD"}
        self.requests: list[tuple[str, str]] = []

    def register(self, subject: str, body: dict[str, Any]) -> int:
        entry = {"schema": body["schema"], "schemaType": body.get("schemaType", "AVRO")}
        with self.lock:
            if entry in self.schemas:
                sid = self.schemas.index(entry) + 1
            else:
                self.schemas.append(entry)
                sid = len(self.schemas)
            versions = self.subjects.setdefault(subject, [])
            if sid not in versions:
                versions.append(sid)
            return sid


class _Handler(BaseHTTPRequestHandler):
    server: RegistryServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: int, message: str) -> None:
        self._send(status, {"error_code": code, "message": message})

    def _authorised(self) -> bool:
        expected = self.server.credentials
        if expected is None:
            return True
        token = base64.b64encode(f"{expected[0]}:{expected[1]}".encode()).decode()
        if self.headers.get("Authorization") == f"Basic {token}":
            return True
        self._error(401, 40101, "Unauthorized")
        return False

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _route(self, method: str) -> None:
        state = self.server.state
        path = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/")]
        state.requests.append((method, "/" + "/".join(path)))
        if not self._authorised():
            return
        match method, path:
            case "GET", ["schemas", "ids", sid] if sid.isdigit():
                self._schema(int(sid))
            case "GET", ["subjects"]:
                self._send(200, sorted(state.subjects))
            case "GET", ["subjects", subject, "versions"]:
                self._versions(subject)
            case "GET", ["subjects", subject, "versions", version]:
                self._version(subject, version)
            case "POST", ["subjects", subject, "versions"]:
                self._send(200, {"id": state.register(subject, self._body())})
            case "POST", ["subjects", subject]:  # look a schema up under a subject
                self._lookup(subject)
            case "GET", ["config"]:
                self._send(200, {"compatibilityLevel": state.config[None]})
            case "GET", ["config", subject]:
                self._config(subject)
            case "PUT", ["config", *rest]:
                level = self._body()["compatibility"]
                state.config[rest[0] if rest else None] = level
                self._send(200, {"compatibility": level})
            case _:
                self._error(404, 404, f"no route for {method} {self.path}")

    def _schema(self, sid: int) -> None:
        state = self.server.state
        if not 0 < sid <= len(state.schemas):
            return self._error(404, 40403, "Schema not found")
        return self._send(200, state.schemas[sid - 1])

    def _versions(self, subject: str) -> None:
        state = self.server.state
        if subject not in state.subjects:
            return self._error(404, 40401, f"Subject '{subject}' not found.")
        return self._send(200, list(range(1, len(state.subjects[subject]) + 1)))

    def _version(self, subject: str, version: str) -> None:
        state = self.server.state
        ids = state.subjects.get(subject)
        if not ids:
            return self._error(404, 40401, f"Subject '{subject}' not found.")
        index = len(ids) if version in ("latest", "-1") else int(version)
        if not 0 < index <= len(ids):
            return self._error(404, 40402, f"Version {version} not found.")
        sid = ids[index - 1]
        entry = state.schemas[sid - 1]
        return self._send(200, {"subject": subject, "version": index, "id": sid, **entry})

    def _lookup(self, subject: str) -> None:
        state = self.server.state
        body = self._body()
        entry = {"schema": body["schema"], "schemaType": body.get("schemaType", "AVRO")}
        ids = state.subjects.get(subject, [])
        for version, sid in enumerate(ids, start=1):
            if state.schemas[sid - 1] == entry:
                return self._send(200, {"subject": subject, "version": version, "id": sid, **entry})
        return self._error(404, 40403, "Schema not found")

    def _config(self, subject: str) -> None:
        state = self.server.state
        if subject not in state.config:
            return self._error(404, 40408, f"Subject '{subject}' has no config")
        return self._send(200, {"compatibilityLevel": state.config[subject]})

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")


class RegistryServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = RegistryState()
        self.credentials = credentials
        self._thread = threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> RegistryServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
