"""What exists on a broker, and removing it: topics and consumer groups on Kafka, exchanges and
queues on RabbitMQ. Used to remove what a run created (:mod:`eventharness.env.leftovers`).

    async with BrokerAdmin.open("kafka://127.0.0.1:9092") as admin:
        await admin.names()                      # [("topic", "orders"), ("group", "billing")]
        await admin.remove("group", "billing")

Kafka lists its topics and groups (the admin client's ``ListGroups``; groups are removed with a
``DeleteGroups`` request to the group's coordinator, which aiokafka's admin client does not
offer). AMQP 0-9-1 has no way to list queues or exchanges, and the management plugin is not
assumed: on RabbitMQ :meth:`BrokerAdmin.names` is empty and :meth:`BrokerAdmin.exists` asks
with a passive declare, so only names known in advance (recorded by the run) can be removed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from eventharness.model.channels import BrokerURL, parse_broker_url
from eventharness.model.errors import BrokerError, BrokerUnavailable, UsageError

__all__ = ["KINDS", "BrokerAdmin", "broker_family"]

#: What can be removed, by broker family.
KINDS = {"kafka": ("topic", "group"), "amqp": ("exchange", "queue")}
_UNKNOWN_TOPIC = 3
_GROUP_ID_NOT_FOUND = 69
_NOT_EMPTY = 68  # a group with live members


def broker_family(url: str) -> str | None:
    """``kafka`` or ``amqp`` for a URL whose broker keeps things after a run; None otherwise
    (``memory://``, ``embedded``)."""
    scheme = url.partition("://")[0]
    if scheme in ("kafka", "kafkas"):
        return "kafka"
    if scheme in ("amqp", "amqps"):
        return "amqp"
    return None


class BrokerAdmin:
    """Administration of one broker; open with :meth:`open` (an async context manager)."""

    def __init__(self, url: BrokerURL, family: str, client: Any) -> None:
        self.url = url
        self.family = family
        self._client = client

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, connect_timeout: float = 10.0) -> AsyncIterator[BrokerAdmin]:
        parsed = parse_broker_url(url)
        family = broker_family(url)
        own = parsed.param("connect_timeout")  # the URL's own, as the transports read it
        connect_timeout = float(own) if own is not None else connect_timeout
        if family == "kafka":
            from aiokafka.admin import AIOKafkaAdminClient

            from eventharness.transports.kafka_config import client_config

            client: Any = AIOKafkaAdminClient(
                **client_config(parsed), request_timeout_ms=int(connect_timeout * 1000)
            )
            try:
                async with asyncio.timeout(connect_timeout):
                    await client.start()
            except TimeoutError as exc:
                await client.close()
                raise BrokerUnavailable(
                    f"cannot reach Kafka at {parsed}: no answer within {connect_timeout:g} s"
                ) from exc
            except Exception as exc:
                raise BrokerUnavailable(f"cannot reach Kafka at {parsed}: {exc}") from exc
            try:
                yield cls(parsed, family, client)
            finally:
                await client.close()
        elif family == "amqp":
            from eventharness.transports.amqp import AmqpTransport

            transport = AmqpTransport(parsed, connect_timeout=connect_timeout)
            await transport.connect()
            try:
                yield cls(parsed, family, transport)
            finally:
                await transport.aclose()
        else:
            raise UsageError(f"{parsed}: only Kafka and RabbitMQ brokers keep what a run made")

    async def names(self) -> list[tuple[str, str]]:
        """(kind, name) of every topic and consumer group (Kafka); empty on RabbitMQ."""
        if self.family != "kafka":
            return []
        try:
            topics = await self._client.list_topics()
            groups = await self._client.list_consumer_groups()
        except Exception as exc:
            raise BrokerError(f"listing topics and groups on {self.url} failed: {exc}") from exc
        found = [("topic", str(t)) for t in topics if not str(t).startswith("__")]
        return found + [("group", str(g[0])) for g in groups]

    async def exists(self, kind: str, name: str) -> bool:
        if self.family == "kafka":
            return (kind, name) in await self.names()
        return bool(await self._client.exists(name if kind == "exchange" else f"/{name}"))

    async def remove(self, kind: str, name: str) -> None:
        """Remove one topic, group, exchange or queue; one that is gone already is no error."""
        if kind not in KINDS[self.family]:
            raise UsageError(f"{self.url}: cannot remove a {kind} from a {self.family} broker")
        if self.family == "amqp":
            await self._client.delete_channel(name if kind == "exchange" else f"/{name}")
            return
        if kind == "topic":
            response = await self._client.delete_topics([name])
            codes = [code for topic, code, *_ in response.topic_error_codes if topic == name]
            if any(code not in (0, _UNKNOWN_TOPIC) for code in codes):
                raise BrokerError(f"deleting topic {name!r} on {self.url} failed: error {codes}")
            return
        await self._delete_group(name)

    async def _delete_group(self, group: str) -> None:
        from aiokafka.protocol.admin import DeleteGroupsRequest

        coordinator = await self._client.find_coordinator(group)
        request = DeleteGroupsRequest([group])
        response = await self._client._client.send(coordinator, request)
        for found, code in response.results:
            if found == group and code == _NOT_EMPTY:
                raise BrokerError(
                    f"consumer group {group!r} on {self.url} still has members; stop them first"
                )
            if found == group and code not in (0, _GROUP_ID_NOT_FOUND):
                raise BrokerError(f"deleting group {group!r} on {self.url} failed: error {code}")
