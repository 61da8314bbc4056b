"""A TCP proxy between a service and its broker, with network faults ("toxics") to inject.

    proxy = TcpProxy(("127.0.0.1", 9092), kafka=True)
    await proxy.start()                       # proxy.bootstrap: "127.0.0.1:PORT" for the service
    async with proxy.toxic(Latency(0.2, jitter=0.05)):
        ...                                   # every chunk waits 200 ms ± 50 ms each way
    async with proxy.toxic(Cut()):
        ...                                   # connections dropped, new ones refused
    await proxy.aclose()

Toxics, as Toxiproxy users know them: :class:`Latency` (± jitter), :class:`Bandwidth` (bytes
per second), :class:`Cut` (the listening socket is closed — new connections are refused — and
existing ones dropped), :class:`ResetPeer` (connections reset with a TCP RST),
:class:`Timeout` (connections accepted, data never answered), :class:`SlowClose` (a close is
passed on only after a delay). :meth:`TcpProxy.add` and :meth:`TcpProxy.remove` apply and lift
one; :meth:`TcpProxy.toxic` scopes one to a block (a scenario); each applied toxic is noted in
:attr:`TcpProxy.history` with its times, for the timeline.

With ``kafka=True`` the proxy keeps Kafka clients behind it: the broker address advertised in
Metadata and FindCoordinator responses is replaced by the proxy's
(:mod:`~eventharness.env.kafka_rewrite`). The proxy runs on the caller's event loop;
:class:`ProxyThread` runs one on a loop of its own (for an environment, which is not async).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from eventharness.env.kafka_rewrite import Frames, KafkaRewriter
from eventharness.model.durations import check_seconds
from eventharness.model.errors import UsageError
from eventharness.model.events import monotonic

__all__ = [
    "Bandwidth",
    "Cut",
    "Latency",
    "ProxyThread",
    "ResetPeer",
    "SlowClose",
    "TcpProxy",
    "Timeout",
    "Toxic",
]

_CHUNK = 64 * 1024
T = TypeVar("T")


@dataclass(eq=False)
class Toxic:
    """A network fault; ``direction`` is ``both``, ``upstream`` (to the broker) or
    ``downstream`` (to the service)."""

    kind: ClassVar[str] = "toxic"
    direction: str = field(default="both", kw_only=True)

    def __post_init__(self) -> None:
        if self.direction not in ("both", "upstream", "downstream"):
            raise UsageError(
                f"{self.kind}: direction must be 'both', 'upstream' or 'downstream', "
                f"got {self.direction!r}"
            )

    def applies(self, direction: str) -> bool:
        return self.direction in ("both", direction)

    def describe(self) -> str:
        return self.kind


@dataclass(eq=False)
class Latency(Toxic):
    """Every chunk waits ``delay`` s, ± up to ``jitter`` s, before it is passed on."""

    kind = "latency"
    delay: float = 0.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_seconds("latency", self.delay, allow_zero=True)
        check_seconds("jitter", self.jitter, allow_zero=True)

    def wait(self) -> float:
        spread = random.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return max(0.0, self.delay + spread)

    def describe(self) -> str:
        jitter = f" ± {self.jitter * 1000:g}ms" if self.jitter else ""
        return f"latency {self.delay * 1000:g}ms{jitter}"


@dataclass(eq=False)
class Bandwidth(Toxic):
    """At most ``rate`` bytes per second."""

    kind = "bandwidth"
    rate: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.rate > 0:
            raise UsageError(
                f"bandwidth: rate must be a positive number of bytes/s, got {self.rate!r}"
            )

    def describe(self) -> str:
        return f"bandwidth {self.rate / 1000:g}kB/s"


@dataclass(eq=False)
class Cut(Toxic):
    """New connections refused, existing ones dropped."""

    kind = "cut"


@dataclass(eq=False)
class ResetPeer(Toxic):
    """Connections reset (TCP RST): the existing ones at once, new ones on their first data."""

    kind = "reset_peer"


@dataclass(eq=False)
class Timeout(Toxic):
    """Connections accepted, their data swallowed: nothing is ever answered."""

    kind = "timeout"


@dataclass(eq=False)
class SlowClose(Toxic):
    """A side that closes is passed on to the other only after ``delay`` s."""

    kind = "slow_close"
    delay: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_seconds("slow_close", self.delay, allow_zero=True)

    def describe(self) -> str:
        return f"slow_close {self.delay * 1000:g}ms"


@dataclass
class Applied:
    """One toxic on the timeline: when it was applied and lifted (monotonic)."""

    toxic: Toxic
    since: float
    until: float | None = None


class _Link:
    """One proxied connection: the service's side and the broker's."""

    def __init__(
        self,
        proxy: TcpProxy,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        server: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.proxy = proxy
        self.client, self.server = client, server
        self.rewriter = KafkaRewriter(proxy.upstream, proxy.address) if proxy.kafka else None
        self.tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        self.tasks = [
            asyncio.create_task(self._pump(self.client[0], self.server[1], "upstream")),
            asyncio.create_task(self._pump(self.server[0], self.client[1], "downstream")),
        ]
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.abort(reset=False)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        frames = Frames() if self.rewriter is not None else None
        try:
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    break
                chunks = [data] if frames is None else frames.feed(data)
                for chunk in chunks:
                    if not await self._pass(chunk, writer, direction):
                        return
            slow = self.proxy.active(SlowClose, direction)
            if slow is not None:
                await asyncio.sleep(slow.delay)
            with contextlib.suppress(OSError, RuntimeError):
                writer.write_eof()
        except (OSError, asyncio.IncompleteReadError):
            return
        finally:
            for task in self.tasks:  # one side gone: the link goes
                if task is not asyncio.current_task():
                    task.cancel()

    async def _pass(self, chunk: bytes, writer: asyncio.StreamWriter, direction: str) -> bool:
        proxy = self.proxy
        if proxy.active(ResetPeer, direction) is not None:
            self.abort(reset=True)
            return False
        if proxy.active(Timeout, direction) is not None:
            return True  # swallowed
        if self.rewriter is not None:
            if direction == "upstream":
                self.rewriter.request(chunk)
            else:
                chunk = self.rewriter.response(chunk)
        latency = proxy.active(Latency, direction)
        if latency is not None:
            await asyncio.sleep(latency.wait())
        bandwidth = proxy.active(Bandwidth, direction)
        if bandwidth is None:
            writer.write(chunk)
            await writer.drain()
        else:
            step = max(1, int(bandwidth.rate / 10))
            for at in range(0, len(chunk), step):
                piece = chunk[at : at + step]
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(len(piece) / bandwidth.rate)
        proxy.bytes[direction] += len(chunk)
        return True

    def abort(self, *, reset: bool) -> None:
        for _, writer in (self.client, self.server):
            transport = writer.transport
            if transport.is_closing():
                continue
            sock = transport.get_extra_info("socket")
            if reset and sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        for task in self.tasks:
            task.cancel()


class TcpProxy:
    """Listens on ``host:port`` (a free port when 0) and forwards to ``upstream``."""

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        kafka: bool = False,
        name: str = "",
    ) -> None:
        self.upstream = upstream
        self.host, self.port = host, port
        self.kafka = kafka
        self.name = name or f"{upstream[0]}:{upstream[1]}"
        self.history: list[Applied] = []
        self.bytes = {"upstream": 0, "downstream": 0}
        self.connections = 0
        self._toxics: list[Toxic] = []
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._closed = False

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def bootstrap(self) -> str:
        """``host:port`` of the proxy, for a service's settings."""
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, reuse_address=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            server = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()  # the broker is down: so is the path through us
            return
        link = _Link(self, (reader, writer), server)
        self._links.add(link)
        try:
            await link.run()
        finally:
            self._links.discard(link)

    def active(self, kind: type[T], direction: str) -> T | None:
        for toxic in reversed(self._toxics):
            if isinstance(toxic, kind) and toxic.applies(direction):
                return toxic
        return None

    async def add(self, toxic: Toxic) -> None:
        """Apply ``toxic`` now (a cut closes the listening socket and every connection)."""
        self._toxics.append(toxic)
        self.history.append(Applied(toxic, monotonic()))
        if isinstance(toxic, Cut | ResetPeer):
            for link in list(self._links):
                link.abort(reset=isinstance(toxic, ResetPeer))
        if isinstance(toxic, Cut) and self._server is not None:
            server, self._server = self._server, None
            server.close()
            await server.wait_closed()

    async def remove(self, toxic: Toxic) -> None:
        """Lift ``toxic`` (after a cut, the proxy listens again on the same port)."""
        if toxic not in self._toxics:
            return
        self._toxics.remove(toxic)
        for applied in self.history:
            if applied.toxic is toxic and applied.until is None:
                applied.until = monotonic()
        if (
            isinstance(toxic, Cut)
            and not self._closed
            and self._server is None
            and self.active(Cut, "both") is None
        ):
            await self._listen()

    @contextlib.asynccontextmanager
    async def toxic(self, toxic: Toxic) -> AsyncIterator[Toxic]:
        """``toxic`` applied for the block, lifted when it ends."""
        await self.add(toxic)
        try:
            yield toxic
        finally:
            await self.remove(toxic)

    async def aclose(self) -> None:
        self._closed = True
        self._toxics.clear()
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
        for link in list(self._links):
            link.abort(reset=False)


class ProxyThread:
    """A :class:`TcpProxy` on an event loop of its own thread; :meth:`call` runs one of its
    coroutine methods there from any thread or loop."""

    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy = proxy
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"proxy {proxy.name}", daemon=True
        )

    def start(self) -> TcpProxy:
        self._thread.start()
        self.call(self.proxy.start)
        return self.proxy

    def call(self, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """Run ``method(*args)`` on the proxy's loop and wait for it (blocking)."""
        future = asyncio.run_coroutine_threadsafe(_run(method, *args), self._loop)
        return future.result(timeout=30)

    async def acall(self, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """:meth:`call` for a coroutine on another loop (a scenario's)."""
        future = asyncio.run_coroutine_threadsafe(_run(method, *args), self._loop)
        return await asyncio.wrap_future(future)

    @contextlib.asynccontextmanager
    async def toxic(self, toxic: Toxic) -> AsyncIterator[Toxic]:
        """:meth:`TcpProxy.toxic` from a scenario's loop: applied for the block."""
        await self.acall(self.proxy.add, toxic)
        try:
            yield toxic
        finally:
            await self.acall(self.proxy.remove, toxic)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self.call(self.proxy.aclose)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


async def _run(method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    return await method(*args)
