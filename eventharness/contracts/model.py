"""The contract model: a pact between a consumer and a provider, and its message interactions.

Frozen records, built once from a pact file (:mod:`~eventharness.contracts.pactfile`) or a
consumer's declarations, and read everywhere else without ``.get()`` on raw dicts::

    Pact(consumer, provider, interactions=(Interaction(...),), spec="4.0")
    Interaction(description, provider_states=(ProviderState("an order", {"id": 7}),),
                message=Message(Contents({"id": 7}, "application/json"),
                                metadata={"topic": "orders", "channel": "kafka:orders"}))

A V4 ``Synchronous/Messages`` interaction has a ``message`` (the request) and ``responses``.
Our additions (the ``channel`` a message flows on, a correlation rule) live in the message's
``metadata``, which Pact allows to carry extra keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventharness.contracts.generators import Generators
from eventharness.contracts.rules import MatchingRules
from eventharness.model.events import MISSING, is_missing

__all__ = [
    "ASYNC",
    "SYNC",
    "Contents",
    "Interaction",
    "Message",
    "Pact",
    "ProviderState",
]

ASYNC = "Asynchronous/Messages"
SYNC = "Synchronous/Messages"


@dataclass(frozen=True)
class ProviderState:
    """A state the provider must be in: its name and parameters (``{"id": 7}``)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.params:
            out["params"] = dict(self.params)
        return out


@dataclass(frozen=True)
class Contents:
    """A message body: a JSON value, text, or ``bytes`` (binary), or ``MISSING`` for none."""

    value: Any = MISSING
    content_type: str | None = None

    @property
    def present(self) -> bool:
        return not is_missing(self.value)


@dataclass(frozen=True)
class Message:
    """One message: its contents, metadata, matching rules and generators."""

    contents: Contents = field(default_factory=Contents)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    matching_rules: MatchingRules = field(default_factory=MatchingRules)
    generators: Generators = field(default_factory=Generators)

    @property
    def content_type(self) -> str | None:
        found = self.contents.content_type or self.metadata.get("contentType")
        found = found or self.metadata.get("content-type") or self.metadata.get("Content-Type")
        return str(found) if found else None

    @property
    def topic(self) -> str | None:
        """The ``topic`` metadata key, as Pact examples and pact-python write it."""
        value = self.metadata.get("topic")
        return str(value) if value is not None else None

    @property
    def channel(self) -> str | None:
        """Our ``channel`` metadata key (``kafka:orders``), else None."""
        value = self.metadata.get("channel")
        return str(value) if value is not None else None


@dataclass(frozen=True)
class Interaction:
    """One interaction: ``kind`` is ``Asynchronous/Messages`` or ``Synchronous/Messages``."""

    description: str
    message: Message = field(default_factory=Message)
    provider_states: tuple[ProviderState, ...] = ()
    kind: str = ASYNC
    responses: tuple[Message, ...] = ()
    key: str | None = None
    pending: bool = False
    comments: Mapping[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[str, str, str]:
        """The stable order interactions are written in."""
        states = "|".join(s.name + repr(sorted(s.params.items())) for s in self.provider_states)
        return (self.description, states, self.kind)


@dataclass(frozen=True)
class Pact:
    """A pact file: who consumes, who provides, the interactions, the specification version
    (``"3.0.0"`` or ``"4.0"``) and the pact-level metadata other than the version."""

    consumer: str
    provider: str
    interactions: tuple[Interaction, ...] = ()
    spec: str = "4.0"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def interaction(self, description: str) -> Interaction:
        """The interaction of that description; ``KeyError`` naming the ones there are."""
        for item in self.interactions:
            if item.description == description:
                return item
        known = ", ".join(repr(i.description) for i in self.interactions)
        raise KeyError(f"no interaction {description!r} in the pact; it has {known}")
