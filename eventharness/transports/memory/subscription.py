"""A memory-broker subscription: the records delivered to one reader, buffered until read.

Topics, queues and the broker deliver into it (:meth:`MemorySubscription.push`,
:meth:`~MemorySubscription.push_tagged`), take unread records back when partitions or queues
change hands (:meth:`~MemorySubscription.release`) and learn of its end through close callbacks;
whoever reads it iterates it, or has each record handed over as it is published
(:meth:`~MemorySubscription.deliver_to`), and closes it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

from eventharness.model.events import Position, Record

__all__ = ["MemorySubscription"]


class MemorySubscription:
    """An armed stream of records from a memory broker. Iterate it; ``aclose()`` ends it.

    Records wait in an unbounded buffer until read. Closing removes the subscription from the
    broker at once (a group member's or queue consumer's unread records go back to its group or
    queue) and ends iteration.
    """

    __slots__ = (
        "_buffer",
        "_closed",
        "_ended",
        "_on_close",
        "_sink",
        "_tags",
        "_waiter",
        "address",
    )

    def __init__(self, address: str) -> None:
        self.address = address
        self._buffer: deque[Record] = deque()
        self._waiter: asyncio.Future[None] | None = None  # a bare future: no lock, no task
        self._sink: Callable[[Record], None] | None = None  # deliver_to's callback
        self._ended: asyncio.Future[None] | None = None  # deliver_to's end: closed, or failed
        self._closed = False
        self._on_close: list[Callable[[MemorySubscription], None]] = []
        self._tags = 0  # delivery tags handed out, for queue consumers

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Records delivered to this subscription and not yet read."""
        return len(self._buffer)

    # -- the broker's side: deliver, take back, learn of the end ------------------------------

    def push(self, record: Record) -> None:
        """Deliver a record as it is, waking the reader (or handing it to :meth:`deliver_to`'s
        callback)."""
        sink = self._sink
        if sink is not None:
            try:
                sink(record)
            except Exception as exc:  # the reader's failure, not the publisher's
                self._fail(exc)
            return
        self._buffer.append(record)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():  # a reader cancelled while waiting leaves a cancelled one
                waiter.set_result(None)

    def push_tagged(self, record: Record) -> None:
        """Deliver a queued record with this consumer's next delivery tag."""
        self._tags += 1
        self.push(
            Record(
                record.value,
                record.key,
                record.headers,
                record.properties,
                None,
                Position(delivery_tag=self._tags),
                record.broker_time,
                time.monotonic(),
            )
        )

    def release(self, keep: Callable[[Record], bool] | None = None) -> list[Record]:
        """Take back the unread records ``keep`` rejects (all of them without ``keep``), in order;
        the kept ones stay, in order. Used when a partition or a queue changes hands."""
        if keep is None:
            released = list(self._buffer)
            self._buffer = deque()
            return released
        kept: deque[Record] = deque()
        released = []
        for record in self._buffer:
            if keep(record):
                kept.append(record)
            else:
                released.append(record)
        self._buffer = kept
        return released

    def add_close_callback(self, callback: Callable[[MemorySubscription], None]) -> None:
        """Call ``callback(self)`` when the subscription closes (callbacks run in order)."""
        self._on_close.append(callback)

    # -- the reader's side --------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Record]:
        return self

    async def __anext__(self) -> Record:
        while True:
            if self._buffer:
                return self._buffer.popleft()
            if self._closed:
                raise StopAsyncIteration
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter

    async def deliver_to(self, sink: Callable[[Record], None]) -> None:
        """Hand every record to ``sink`` as it is published, inside the publisher's call (no
        task switch, no buffer), until the subscription closes; records already buffered go
        first. Raises what ``sink`` raised (the subscription is closed then): a reader that
        fails stops reading, as an iterating one would.

        For readers that only route what they get and never block: the collector."""
        self._ended = ended = asyncio.get_running_loop().create_future()
        try:
            while self._buffer and not self._closed:
                sink(self._buffer.popleft())
        except Exception:
            self.close()
            raise
        if not self._closed:
            self._sink = sink
            try:
                await ended
            finally:
                self._sink = None

    def _fail(self, exc: Exception) -> None:
        ended = self._ended
        if ended is not None and not ended.done():
            ended.set_exception(exc)
        self._sink = None
        # Closed once the publisher's delivery loop is over: closing detaches from the topic,
        # whose list of readers that loop is going through.
        asyncio.get_running_loop().call_soon(self.close)

    def close(self) -> None:
        """Detach from the broker and end iteration. Idempotent; also what ``aclose`` does."""
        if self._closed:
            return
        self._closed = True
        self._sink = None
        callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            callback(self)
        self._buffer.clear()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        ended = self._ended
        if ended is not None and not ended.done():
            ended.set_result(None)

    async def aclose(self) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._buffer)} pending"
        return f"<MemorySubscription {self.address!r} {state}>"
