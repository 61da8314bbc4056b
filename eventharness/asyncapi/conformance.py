"""Does what was observed keep to the document? Each recorded event against the messages of its
channel: its payload and headers schemas, its correlation id where the message says it is.

    report = conformance(doc, Recording.load("shop.jsonl"))
    report.ok                 # no event broke a rule and every channel was known
    report.lines()            # what to print: problems, unknown channels, unsent messages

An event's channel is the document's channel whose address (``{param}`` matching one name)
is the event's — a Kafka topic, an AMQP ``exchange/routing-key`` or ``/queue`` — on a broker
of the channel's kind (broker names as :func:`~eventharness.asyncapi.binding.broker_names`
says). Its message: the one named by the event's type (payload ``type``, header
``event-type``), else the only one, else the first whose schemas it passes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventharness.asyncapi.binding import broker_names
from eventharness.asyncapi.model import Channel, Document, Message
from eventharness.engine.correlation import rule_value
from eventharness.engine.recordfile import Recorded
from eventharness.model.events import Event
from eventharness.schemas.store import make_validator
from eventharness.schemas.validators import Validator

__all__ = ["Conformance", "Problem", "conformance", "find_channel"]


@dataclass(frozen=True)
class Problem:
    """One event that broke a rule: ``kind`` is ``payload``, ``headers``, ``correlation`` or
    ``message`` (it is none of its channel's messages)."""

    index: int
    event: Recorded
    channel: str  # the document's channel id
    message: str | None
    kind: str
    detail: str

    def __str__(self) -> str:
        where = f"event #{self.index} (t={self.event.t:.3f}s {self.event.channel}"
        where += f" key={self.event.key})" if self.event.key else ")"
        what = f"message {self.message!r}" if self.message else f"channel {self.channel!r}"
        return f"{where}: {what}: {self.kind}: {self.detail}"


@dataclass
class Conformance:
    events: int = 0
    problems: list[Problem] = field(default_factory=list)
    unknown: dict[str, int] = field(default_factory=dict)  # channel → events
    seen: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel id, message id)
    declared: list[tuple[str, str]] = field(default_factory=list)

    @property
    def unsent(self) -> list[tuple[str, str]]:
        return [key for key in self.declared if key not in self.seen]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.unknown

    def lines(self, limit: int = 50) -> list[str]:
        out = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            out.append(f"... and {len(self.problems) - limit} more problems")
        for channel, count in sorted(self.unknown.items()):
            out.append(f"{channel}: {count} event(s) on a channel the document does not have")
        for channel, message in self.unsent:
            out.append(f"channel {channel!r} message {message!r}: declared, never seen")
        return out


def find_channel(doc: Document, channel: str, kinds: Mapping[str, str]) -> Channel | None:
    """The document's channel an event seen on ``channel`` (``kafka:orders``) belongs to."""
    broker, _, address = channel.partition(":")
    for candidate in doc.channels.values():
        if kinds.get(candidate.protocol, candidate.protocol) != broker:
            continue
        if candidate.pattern().match(address):
            return candidate
    return None


class _Checker:
    def __init__(self, doc: Document, kinds: Mapping[str, str]) -> None:
        self.doc = doc
        self.kinds = kinds
        self.validators: dict[tuple[str, str, str], Validator | None] = {}
        self.report = Conformance(
            declared=[(c.id, m.id) for c in doc.channels.values() for m in c.messages]
        )

    def validator(self, channel: Channel, message: Message, part: str) -> Validator | None:
        key = (channel.id, message.id, part)
        if key not in self.validators:
            schema = message.payload if part == "payload" else message.headers
            kind = message.schema_format if part == "payload" else "json"
            self.validators[key] = (
                make_validator(schema, kind, message.name)  # type: ignore[arg-type]
                if isinstance(schema, Mapping | list)
                else None
            )
        return self.validators[key]

    def violations(
        self, channel: Channel, message: Message, item: Recorded
    ) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        payload = self.validator(channel, message, "payload")
        if payload is not None:
            found += [("payload", str(v)) for v in payload.validate(item.value)]
        headers = self.validator(channel, message, "headers")
        if headers is not None:
            found += [("headers", str(v)) for v in headers.validate(_header_values(item))]
        if message.rule is not None and rule_value(_event(item), message.rule) is None:
            found.append(
                ("correlation", f"no correlation id at {message.correlation} ({message.rule})")
            )
        return found

    def check(self, index: int, item: Recorded) -> None:
        self.report.events += 1
        channel = find_channel(self.doc, item.channel, self.kinds)
        if channel is None:
            self.report.unknown[item.channel] = self.report.unknown.get(item.channel, 0) + 1
            return
        event_type = _type_of(item)
        named = channel.message(event_type) if event_type else None
        candidates = [named] if named else list(channel.messages)
        if not candidates:
            return  # a channel that declares no messages accepts any
        results = [(m, self.violations(channel, m, item)) for m in candidates]
        good = next((m for m, broken in results if not broken), None)
        if good is not None:
            key = (channel.id, good.id)
            self.report.seen[key] = self.report.seen.get(key, 0) + 1
            return
        message, broken = min(results, key=lambda r: len(r[1]))
        if len(candidates) > 1:
            names = ", ".join(m.name for m in candidates)
            self.report.problems.append(
                Problem(
                    index,
                    item,
                    channel.id,
                    None,
                    "message",
                    f"matches none of its messages ({names}); nearest {message.name!r}: "
                    f"{broken[0][1]}",
                )
            )
            return
        key = (channel.id, message.id)
        self.report.seen[key] = self.report.seen.get(key, 0) + 1
        for kind, detail in broken:
            self.report.problems.append(
                Problem(index, item, channel.id, message.name, kind, detail)
            )


def conformance(
    doc: Document, events: Iterable[Recorded], brokers: Mapping[str, str] | None = None
) -> Conformance:
    """Check every recorded event against ``doc``; ``brokers`` (name → URL, a profile's) tells
    which broker names are Kafka and which AMQP."""
    checker = _Checker(doc, broker_names(brokers or {}))
    for index, item in enumerate(events, start=1):
        checker.check(index, item)
    return checker.report


def _event(item: Recorded) -> Event:
    return item.event()


def _type_of(item: Recorded) -> str | None:
    if isinstance(item.value, Mapping) and isinstance(item.value.get("type"), str):
        return str(item.value["type"])
    return item.headers.get("event-type")


def _header_values(item: Recorded) -> dict[str, Any]:
    """Headers as a schema sees them: values that read as JSON numbers, booleans or objects
    are those (Kafka and AMQP carry them as text)."""
    out: dict[str, Any] = {}
    for name, text in item.headers.items():
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        out[name] = value if not isinstance(value, str) else text
    return out
