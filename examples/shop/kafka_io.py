"""Kafka plumbing shared by the services: topics, producer, consumer group and its readiness.

A consumer-group member is only useful once the group coordinator has given it partitions;
with some brokers (Tansu) that takes several seconds after start. :class:`Assignment` records
when that happens, so a service can announce "ready" only then.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

log = logging.getLogger(__name__)

PARTITIONS = 4  # what Tansu creates on first produce; the same here so both paths agree
_TOPIC_EXISTS = 36


async def ensure_topics(bootstrap: str, *topics: str) -> None:
    """Create ``topics`` if missing, so the group is assigned their partitions at its first join
    (a topic created after subscribing is only noticed at the next metadata refresh)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="shop-admin")
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, PARTITIONS, 1) for name in dict.fromkeys(topics)]
        )
    finally:
        await admin.close()
    for topic, code, message in response.topic_errors:
        if code not in (0, _TOPIC_EXISTS):
            log.warning("could not create topic %s (error %s: %s)", topic, code, message)


def producer(bootstrap: str, client_id: str, send_timeout: float = 30.0) -> AIOKafkaProducer:
    # No idempotence: Tansu cannot issue producer ids. acks=all: a record is only "sent" once the
    # broker has it. A record the broker has not taken within send_timeout seconds fails.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=int(send_timeout * 1000),
    )


def consumer(
    bootstrap: str, group: str, client_id: str, *, auto_commit: bool = False
) -> AIOKafkaConsumer:
    # Offsets are committed after each record is handled (at-least-once); with auto_commit
    # (FAULT=commit-early) the client commits what it handed out every 100 ms, handled or not.
    # A new group starts at the beginning of the topic so that nothing produced before its
    # first join is skipped. Session timeout 6 s (Kafka's smallest by default,
    # group.min.session.timeout.ms) instead of aiokafka's 10 s: Tansu completes a first join
    # after half the session timeout, so the service is ready in 3 s instead of 5.
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=client_id,
        enable_auto_commit=auto_commit,
        auto_commit_interval_ms=100,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )


class Assignment(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tracks the partitions a group member owns; ``ready`` is set at the first assignment that
    covers every subscribed topic."""

    def __init__(self, topics: list[str]) -> None:
        self.topics = set(topics)
        self.partitions: set[TopicPartition] = set()
        self.ready = asyncio.Event()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.partitions -= set(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.partitions |= set(assigned)
        log.info("assigned %s", describe(self.partitions))
        if self.topics <= {tp.topic for tp in self.partitions}:
            self.ready.set()


def describe(partitions: set[TopicPartition]) -> str:
    return "[" + ",".join(f"{tp.topic}-{tp.partition}" for tp in sorted(partitions)) + "]"


def decode(value: bytes | None) -> dict[str, Any] | None:
    """A JSON object, or None (logged) for anything else: a bad message must not stop a service."""
    try:
        event = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        log.warning("skipping undecodable message (%s): %r", exc, (value or b"")[:200])
        return None
    if not isinstance(event, dict):
        log.warning("skipping message that is not a JSON object: %r", (value or b"")[:200])
        return None
    return event


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()
