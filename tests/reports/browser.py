"""A real headless Chromium, driven through the DevTools protocol (CDP) over a WebSocket.

:func:`open_page` starts ``chromium --headless --remote-debugging-port=0`` with a private
profile, loads a file and returns what a person would have seen: the console errors and
uncaught exceptions, values evaluated in the page, and a PNG screenshot. :func:`png_variance`
decodes the PNG (8-bit RGB/RGBA, as Chromium writes it) to tell a blank page from a drawn one.
"""

from __future__ import annotations

import base64
import json
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.conftest import broker_missing

__all__ = ["Page", "open_page", "png_variance"]

DEADLINE_S = 120.0


@dataclass
class Page:
    ws: ClientConnection
    errors: list[str] = field(default_factory=list)
    _id: int = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        ident = self._id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + DEADLINE_S
        while True:
            message = self._next(deadline, method)
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"CDP {method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def wait_for(self, event: str) -> dict[str, Any]:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            message = self._next(deadline, event)
            if message.get("method") == event:
                return message

    def _next(self, deadline: float, what: str) -> dict[str, Any]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"Chromium did not answer {what} within {DEADLINE_S:.0f}s")
        message: dict[str, Any] = json.loads(self.ws.recv(timeout=left))
        self._note(message)
        return message

    def _note(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            texts = [str(a.get("value", a.get("description", ""))) for a in params["args"]]
            self.errors.append("console: " + " ".join(texts))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(
                "exception: " + str(details.get("exception", {}).get("description", details))
            )
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(f"log: {params['entry'].get('text')} {params['entry'].get('url')}")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        broker_missing("chromium", "apt-get install -y chromium (scripts/test installs it)")
        raise AssertionError("unreachable")
    return found


@contextmanager
def open_page(path: Path, width: int = 1280, height: int = 900) -> Iterator[Page]:
    """Chromium with ``path`` loaded (``Page.loadEventFired`` seen); stopped on exit."""
    binary = _chromium()
    with tempfile.TemporaryDirectory(prefix="eh-chromium-") as profile:
        process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            url = _devtools_url(process)
            with connect(_page_socket(url), max_size=64 * 2**20) as ws:
                page = Page(ws)
                for domain in ("Runtime", "Log", "Page"):
                    page.call(f"{domain}.enable")
                page.call("Page.navigate", url=path.resolve().as_uri())
                page.wait_for("Page.loadEventFired")
                yield page
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()


def _devtools_url(process: subprocess.Popen[str]) -> str:
    """``ws://127.0.0.1:PORT/devtools/browser/...`` from the line Chromium prints at start."""
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:  # ends when Chromium exits
        seen.append(line)
        if line.startswith("DevTools listening on "):
            return line.split(" on ", 1)[1].strip()
    raise AssertionError("Chromium exited before listening:\n" + "".join(seen[-20:]))


def _page_socket(browser_url: str) -> str:
    import httpx

    base = "http://" + browser_url.split("//", 1)[1].split("/", 1)[0]
    targets = httpx.get(f"{base}/json/list", timeout=DEADLINE_S).json()
    pages = [t for t in targets if t.get("type") == "page"]
    assert pages, f"no page target in {targets}"
    return str(pages[0]["webSocketDebuggerUrl"])


def png_variance(png: bytes) -> float:
    """The variance of the pixels' grey levels (0 for a blank, one-colour image)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, data = 8, b""
    width = height = channels = 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth}/{colour}"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    raw = zlib.decompress(data)
    stride = width * channels
    previous = bytearray(stride)
    total = squares = count = 0
    for row in range(height):
        start = row * (stride + 1)
        line = _unfilter(
            raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels
        )
        for x in range(0, stride, channels * 4):  # every 4th pixel is plenty
            grey = (line[x] + line[x + 1] + line[x + 2]) / 3
            total += grey
            squares += grey * grey
            count += 1
        previous = line
    mean = total / count
    return squares / count - mean * mean


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> bytearray:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = prev[i]
        corner = prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            line[i] = (line[i] + pred) & 0xFF
    return line
