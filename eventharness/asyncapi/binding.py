"""A profile's ``asyncapi = "docs/asyncapi.yaml"``: the document's channels bound as
``channel_schemas`` binds them, its correlation ids as correlation rules, its channel ids as
names scenarios can use.

    bound = bind_profile(profile, doc)
    bound.profile.channel_schemas     # {"kafka:orders": "asyncapi:orderPlaced/OrderPlaced", ...}
    bound.store(fallback).validator("asyncapi:orderPlaced/OrderPlaced")
    bound.aliases                     # {"kafka:orderPlaced": "kafka:orders", ...}

Which broker name a channel is on: the profile's only broker of that kind (a ``kafka://``/
``embedded`` URL for Kafka channels, ``amqp://`` for AMQP ones), else ``kafka`` and ``rabbit``.
What the profile binds itself wins over the document. Channels whose address has parameters
(``lamps.{id}.on``) cannot be bound to one channel and are left to ``asyncapi check``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from eventharness.asyncapi.model import Channel, Document, Message
from eventharness.env.config import Profile
from eventharness.model.errors import ConfigError
from eventharness.schemas.registry import RegistryClient
from eventharness.schemas.store import LocalSchemaStore, make_validator
from eventharness.schemas.validators import Validator

__all__ = ["PREFIX", "Bound", "DocumentStore", "bind_profile", "broker_names", "subject_of"]

PREFIX = "asyncapi:"
DEFAULT_NAMES = {"kafka": "kafka", "amqp": "rabbit"}


def subject_of(channel: Channel, message: Message) -> str:
    return f"{PREFIX}{channel.id}/{message.id}"


def broker_names(brokers: Mapping[str, str]) -> dict[str, str]:
    """kind (``kafka``/``amqp``) → the broker name channels of that kind are on."""
    names = dict(DEFAULT_NAMES)
    for kind, schemes in (("kafka", ("kafka", "kafkas", "embedded")), ("amqp", ("amqp", "amqps"))):
        found = [n for n, url in brokers.items() if url.split(":", 1)[0] in schemes]
        if len(found) == 1:
            names[kind] = found[0]
    return names


@dataclass
class DocumentStore:
    """Subjects ``asyncapi:CHANNEL/MESSAGE`` from the document; anything else from
    ``fallback`` (the profile's schema store, or its ``schemas`` setting: a folder or a
    registry URL)."""

    doc: Document
    fallback: Any = None
    _made: dict[str, Validator] = field(default_factory=dict)

    def validator(self, ref: str) -> Validator:
        if not ref.startswith(PREFIX):
            if isinstance(self.fallback, str):  # a profile's `schemas`: a folder or registry URL
                self.fallback = _store_of(self.fallback)
            if self.fallback is None:
                raise ConfigError(f"schema {ref!r}: no schema folder or registry is configured")
            found: Validator = self.fallback.validator(ref)
            return found
        if ref not in self._made:
            channel_id, _, message_id = ref[len(PREFIX) :].partition("/")
            channel = self.doc.channels.get(channel_id)
            message = channel.message(message_id) if channel else None
            if channel is None or message is None or message.payload is None:
                raise ConfigError(
                    f"{self.doc.file}: no message {message_id!r} with a payload in "
                    f"channel {channel_id!r}"
                )
            self._made[ref] = make_validator(
                message.payload,
                message.schema_format,  # type: ignore[arg-type]
                message.name,
            )
        return self._made[ref]

    def get(self, ref: str) -> Any:  # `validate` asks the store whether a subject exists
        return self.validator(ref)


def _store_of(spec: str) -> Any:
    if spec.startswith(("http://", "https://")):
        return RegistryClient(spec)
    return LocalSchemaStore(spec)


@dataclass(frozen=True)
class Bound:
    profile: Profile
    doc: Document
    aliases: dict[str, str]

    def store(self, fallback: Any) -> DocumentStore:
        return DocumentStore(self.doc, fallback)


def bind_profile(profile: Profile, doc: Document) -> Bound:
    names = broker_names(profile.brokers)
    schemas: dict[str, str | dict[str, str]] = {}
    rules: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for channel in doc.channels.values():
        broker = names.get(channel.protocol, channel.protocol)
        target = channel.target(broker)
        if f"{broker}:{channel.id}" != target:
            aliases[f"{broker}:{channel.id}"] = target
        if "{" in channel.address_of():
            continue
        typed = [m for m in channel.messages if m.payload is not None]
        if len(typed) == 1:
            schemas[target] = subject_of(channel, typed[0])
        elif typed:
            schemas[target] = {m.name: subject_of(channel, m) for m in typed}
        found = {m.rule for m in channel.messages if m.rule}
        if len(found) == 1:
            rules[target] = found.pop()
    return Bound(
        replace(
            profile,
            channel_schemas={**schemas, **profile.channel_schemas},
            correlation={**rules, **profile.correlation},
        ),
        doc,
        aliases,
    )
