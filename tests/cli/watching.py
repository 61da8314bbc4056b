"""What the tests of ``eventharness watch`` share: a webhook receiver, a scenario whose probe
passes or fails by a pattern (one letter per round), and a watch process read line by line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.cli.test_cli import EXE

#: A probe command: the n-th call (a counter file) answers by the n-th letter of a pattern:
#: P passes, F fails (printing a URL with a password), H hangs (its pid in COUNTER.pid).
FLIP = """\
import os, pathlib, sys, time
counter, pattern = pathlib.Path(sys.argv[1]), sys.argv[2]
n = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(n + 1))
step = pattern[n] if n < len(pattern) else pattern[-1]
if step == "H":
    pathlib.Path(str(counter) + ".pid").write_text(str(os.getpid()))
    time.sleep(600)
print(f"call {n + 1}: {step} via amqp://probe:hunter2@127.0.0.1:5672/", flush=True)
sys.exit(0 if step == "P" else 1)
"""

#: One probe attempt per round: the window closes before a second one.
SOMETIMES = """\
name: sometimes fails
steps:
  - eventually:
      as: flip
      command: {{run: ["{python}", "{script}", "{counter}", "{pattern}"]}}
      within: 1ms
      interval: 1s
"""

#: A stub makes one hop (CHANNEL_IN → CHANNEL_OUT) per run.
STEADY = """\
name: steady flow
vars: {{order_id: "o-${{uuid}}"}}
stubs:
  - name: payments
    consume: {inbound}
    type: OrderPlaced
    respond:
      - channel: {outbound}
        value: {{type: PaymentAuthorized, order_id: "${{in.value.order_id}}"}}
steps:
  - publish: {{channel: {inbound}, key: "${{order_id}}",
              value: {{type: OrderPlaced, order_id: "${{order_id}}"}}}}
  - expect: {{as: paid, channel: {outbound}, type: PaymentAuthorized, within: 5s}}
"""


def sometimes(tmp: Path, pattern: str) -> tuple[str, Path]:
    """The flipping scenario's text, and its counter file."""
    script = tmp / "flip.py"
    script.write_text(FLIP)
    counter = tmp / "flip.count"
    text = SOMETIMES.format(python=sys.executable, script=script, counter=counter, pattern=pattern)
    return text, counter


def steady(inbound: str = "kafka:orders", outbound: str = "kafka:payments") -> str:
    return textwrap.dedent(STEADY.format(inbound=inbound, outbound=outbound))


class Receiver:
    """A local webhook: keeps every JSON body POSTed to it; ``status`` is what it answers."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.status = status
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                with receiver._changed:
                    receiver.bodies.append(body)
                    receiver.paths.append(self.path)
                    receiver._changed.notify_all()
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook/T0KEN") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def texts(self) -> list[str]:
        with self._changed:
            return [str(body["text"]) for body in self.bodies]

    def wait_for(self, count: int, timeout: float = 60.0) -> list[str]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.bodies) >= count, timeout)
        return self.texts

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class WatchProcess:
    """``eventharness watch ARGS`` in ``cwd``, its stdout read line by line."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
        self.proc = subprocess.Popen(
            [EXE, "watch", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "NO_COLOR": "1"},
        )
        self.seen: list[str] = []

    def until(self, needle: str) -> str:
        """Read stdout until a line holds ``needle``; that line (the test's timeout bounds
        the wait: a watch that stops printing ends its stdout only when it exits)."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"no line with {needle!r}:\n{''.join(self.seen)}{self.stderr()}")

    def stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read()

    def finish(self, timeout: float = 60) -> tuple[str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return "".join(self.seen) + out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=30)


def metrics_of(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` read and parsed by prometheus-client's own parser: sample name and
    labels → value."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def wait_for_file(path: Path, timeout: float = 60.0) -> str:
    """The text of ``path`` once it exists (written by another process)."""
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path} was not written within {timeout}s"
        time.sleep(0.05)  # polling another process's file, with a deadline
    return path.read_text()


def gone(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or ") Z " in stat.read_text()


def lines_with(text: str, needle: str) -> Iterator[str]:
    return (line for line in text.splitlines() if needle in line)
