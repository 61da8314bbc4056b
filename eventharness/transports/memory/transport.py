"""The :class:`~eventharness.transports.base.Transport` for ``memory://NAME`` URLs: async
wrappers over the named :class:`~eventharness.transports.memory.broker.MemoryBroker`."""

from __future__ import annotations

from typing import Any

from eventharness.model.channels import BrokerURL
from eventharness.model.errors import ChannelError, UsageError
from eventharness.model.events import Position, Record
from eventharness.transports.base import TransportBase
from eventharness.transports.memory.broker import get_broker
from eventharness.transports.memory.subscription import MemorySubscription

__all__ = ["MemoryTransport"]


class MemoryTransport(TransportBase):
    """The Transport for ``memory://NAME`` URLs. ``connect`` is instant; nothing can be down.

    Options: ``declare_exchanges`` (default true; also ``?declare_exchanges=false``) — whether
    publishing to an undeclared exchange declares it as a topic exchange or raises
    ChannelNotFound. It applies to the named broker, so the last transport opened decides.
    """

    def __init__(self, url: BrokerURL | str, **options: Any) -> None:
        super().__init__(url, **options)
        if self.url.kind != "memory":
            raise ChannelError(f"MemoryTransport needs a memory:// URL, got {self.url}")
        self.broker = get_broker(self.url.hosts[0][0] if self.url.hosts else "default")
        auto = options.get("declare_exchanges", self.url.param("declare_exchanges"))
        if auto is not None:
            self.broker.declare_exchanges = str(auto).lower() not in ("0", "false", "no")
        self._subscriptions: set[MemorySubscription] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"<MemoryTransport memory://{self.broker.name}>"

    async def connect(self) -> None:
        self._closed = False

    async def aclose(self) -> None:
        self._closed = True
        for sub in list(self._subscriptions):
            sub.close()

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError(
                f"transport for memory://{self.broker.name} is closed; open a new one or connect()"
            )

    async def publish(self, address: str, record: Record) -> Position:
        self._check_open()
        return self.broker.publish(address, record)

    async def subscribe(
        self, address: str, *, group: str | None = None, consume_queue: bool = False
    ) -> MemorySubscription:
        self._check_open()
        sub = self.broker.subscribe(address, group=group, consume_queue=consume_queue)
        self._subscriptions.add(sub)
        sub.add_close_callback(self._subscriptions.discard)
        return sub

    async def create_channel(
        self, address: str, *, partitions: int | None = None, exchange_type: str = "topic"
    ) -> None:
        """A topic with ``partitions`` (default 4), an exchange (``"name/"``) of
        ``exchange_type``, or a queue (``"/name"``). Idempotent."""
        self._check_open()
        self.broker.create_channel(address, partitions=partitions, exchange_type=exchange_type)

    async def delete_channel(self, address: str) -> None:
        self._check_open()
        self.broker.delete_channel(address)
