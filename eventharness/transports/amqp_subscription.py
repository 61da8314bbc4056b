"""A RabbitMQ consumer as a stream of records (the transport's subscription object).

aiormq calls the consumer once per delivered message (in a task of its own); the record is
made there and appended to a pending batch. Readers take it either one record at a time
(iteration) or all pending records at once (:meth:`AmqpSubscription.next_batch`, what the
collector uses: one await per batch instead of a queue hand-off and an ``__anext__`` per
message). Workers and queue consumers ack each record as it is handed out.

The stream ends after the records already received: ``StopAsyncIteration`` once closed, or the
error that broke it (the queue was deleted, the channel was lost), raised by every later call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterable
from typing import Self

import aiormq
from aio_pika.abc import AbstractChannel
from aiormq.abc import DeliveredMessage
from pamqp import commands as spec

from eventharness.model.channels import BrokerURL
from eventharness.model.errors import BrokerError, ChannelNotFound
from eventharness.model.events import Record
from eventharness.transports.amqp_connection import reason
from eventharness.transports.amqp_mapping import to_record

__all__ = ["AmqpSubscription"]


class _Closed(Exception):
    """The end of a subscription closed on purpose (iteration stops, nothing is raised)."""


class AmqpSubscription:
    """Records from one consumer. Iterate it, or take :meth:`next_batch`; ``aclose()``
    cancels it (idempotent). ``ended`` is called once when it ends (the transport forgets
    it); ``url`` names the broker in errors."""

    def __init__(
        self,
        channel: AbstractChannel,
        queue: str,
        address: str,
        *,
        no_ack: bool,
        url: BrokerURL,
        ended: Callable[[AmqpSubscription], None],
    ) -> None:
        self.address = address
        self.queue = queue
        self._url = url
        self._ended = ended
        self._channel = channel
        self._no_ack = no_ack
        self._pending: deque[Record] = deque()
        self._end: BaseException | None = None  # why the stream ends after _pending
        self._wakeup: asyncio.Future[None] | None = None  # a reader waiting for records
        self._raw: aiormq.abc.AbstractChannel | None = None
        self._consumer_tag: str | None = None
        self._closed = False

    async def start(self) -> None:
        self._raw = raw = await self._channel.get_underlay_channel()
        self._channel.close_callbacks.add(self._on_channel_closed)
        raw.on_consumer_cancel_callbacks.add(self._on_cancel)
        ok = await raw.basic_consume(self.queue, self._on_message, no_ack=self._no_ack)
        self._consumer_tag = ok.consumer_tag

    async def _on_message(self, message: DeliveredMessage) -> None:
        self._pending.append(to_record(message))
        self._wake()

    def _on_cancel(self, frame: spec.Basic.Cancel) -> None:
        self._fail(
            ChannelNotFound(
                f"RabbitMQ cancelled the subscription to {self.address!r} on "
                f"{self._url}: its queue {self.queue!r} was deleted"
            )
        )

    def _on_channel_closed(self, _: object, exc: BaseException | None) -> None:
        if self._closed:
            return
        error = BrokerError(
            f"the subscription to {self.address!r} on {self._url} lost its "
            f"channel: {reason(exc) if exc else 'closed'}"
        )
        error.__cause__ = exc
        self._fail(error)

    def _fail(self, error: BaseException) -> None:
        if not self._closed:
            self._closed = True
            self._ended(self)
            self._finish(error)

    def _finish(self, end: BaseException) -> None:
        if self._end is None:
            self._end = end
        self._wake()

    def _wake(self) -> None:
        waiter = self._wakeup
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        """Until a record is pending; raises the end of the stream once nothing is."""
        while not self._pending:
            end = self._end
            if isinstance(end, _Closed):
                raise StopAsyncIteration
            if end is not None:
                raise end  # every later call ends the same way
            self._wakeup = waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._wakeup = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Record:
        if not self._pending:
            await self._wait()
        record = self._pending.popleft()
        await self._ack((record,))
        return record

    async def next_batch(self) -> deque[Record]:
        """Every record received and not yet read, at least one, in order.
        StopAsyncIteration once closed, as iterating does."""
        if not self._pending:
            await self._wait()
        batch, self._pending = self._pending, deque()
        await self._ack(batch)
        return batch

    async def _ack(self, records: Iterable[Record]) -> None:
        """Workers and queue consumers: ack what is handed out (observers consume without
        acks)."""
        if self._no_ack or self._raw is None:
            return
        for record in records:
            if record.position.delivery_tag:
                await self._raw.basic_ack(record.position.delivery_tag)

    async def aclose(self) -> None:
        if self._closed and self._channel.is_closed:
            return
        self._closed = True
        self._ended(self)
        self._finish(_Closed())
        if not self._channel.is_closed:
            with contextlib.suppress(Exception):
                await self._channel.close()
