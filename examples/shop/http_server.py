"""A tiny HTTP/1.1 server for JSON GET endpoints, on ``asyncio.start_server``.

Why not a framework: the read model needs two GET routes, and the project's dependencies
(aiokafka, aio-pika) bring no HTTP server; a few dozen lines of standard library keep the
example installable with nothing extra. One request per connection (``Connection: close``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

Handler = Callable[[str], tuple[int, Any]]  # path -> (status, JSON body)

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}
_READ_TIMEOUT = 10.0
_MAX_HEADER_LINES = 100


async def serve(host: str, port: int, handler: Handler) -> asyncio.Server:
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body = await asyncio.wait_for(_request(reader, handler), _READ_TIMEOUT)
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(connection, host, port)


async def _request(reader: asyncio.StreamReader, handler: Handler) -> tuple[int, Any]:
    request_line = (await reader.readline()).decode("latin-1").split()
    for _ in range(_MAX_HEADER_LINES):  # headers are read and ignored
        if (await reader.readline()) in (b"\r\n", b"\n", b""):
            break
    if len(request_line) != 3:
        return 400, {"error": "malformed request line"}
    method, target, _ = request_line
    if method != "GET":
        return 405, {"error": f"{method} is not supported; use GET"}
    return handler(unquote(urlsplit(target).path))
