"""What a stub sends: templated responses rendered against the event it consumed.

    Response(channel="kafka:payments", value={"order_id": "${in.value.order_id}"},
             when={"total": {"gt": 1000}})           # a template, checked when made
    response.build(event, count=1, stub="payments") # → Reply, a built message

The template names a stub knows (``${in...}``, ``${count}``, ``${uuid}``, ``${stub}``,
``${now}``, and the scenario's variables) are described in :mod:`eventharness.engine.stubs`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventharness.engine.matchers import check_spec, compare
from eventharness.engine.templates import Reference, parse_duration, render
from eventharness.model.channels import parse_channel
from eventharness.model.durations import check_seconds
from eventharness.model.errors import StubError, UsageError
from eventharness.model.events import MISSING, Event, is_missing, lookup

__all__ = ["KEEP", "TEMPLATE_NAMES", "Reply", "Responder", "Response", "as_response"]

TEMPLATE_NAMES = ("in", "count", "uuid", "stub", "now")


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()  # a reply's key: the consumed event's key


@dataclass(frozen=True, slots=True)
class Reply:
    """One message a stub sends: a built value, not a template."""

    channel: str
    value: Any
    key: Any = KEEP
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


Responder = Callable[[Event, int], Iterable[Reply]]


@dataclass(frozen=True)
class Response:
    """A templated reply, rendered against each consumed event it applies to."""

    channel: str
    value: Any = None
    key: Any = KEEP
    headers: Mapping[str, Any] = field(default_factory=dict)
    when: Mapping[str, Any] | None = None
    delay: float = 0.0

    def __post_init__(self) -> None:
        parse_channel(self.channel)
        if self.when is not None:
            if not isinstance(self.when, Mapping):
                raise UsageError(f"when must be a mapping of event paths, got {self.when!r}")
            check_spec(dict(self.when), "when")
        check_seconds("delay", self.delay, allow_zero=True)

    def applies(self, event: Event, count: int) -> bool:
        if not self.when:
            return True
        for path, spec in self.when.items():
            actual = count if path == "count" else lookup(event, path, MISSING)
            if not compare(actual, spec, path, None):
                return False
        return True

    def build(
        self, event: Event, count: int, stub: str, variables: Mapping[str, Any] | None = None
    ) -> Reply:
        def resolve(ref: Reference) -> Any:
            return _resolve(ref, event, count, stub, variables or {})

        key = self.key if self.key is KEEP else render(self.key, resolve)
        headers = {str(k): _text(render(v, resolve)) for k, v in self.headers.items()}
        return Reply(self.channel, render(self.value, resolve), key, headers, self.delay)


def as_response(item: Response | Mapping[str, Any], where: str) -> Response:
    if isinstance(item, Response):
        return item
    if not isinstance(item, Mapping) or not isinstance(item.get("channel"), str):
        raise UsageError(f"{where}: a response needs channel: (where to send) and value:")
    options = dict(item)
    if "delay" in options:
        try:
            options["delay"] = parse_duration(options["delay"], allow_zero=True)
        except ValueError as exc:
            raise UsageError(f"{where}: delay: {exc}") from exc
    if options.get("headers") is not None and not isinstance(options["headers"], Mapping):
        raise UsageError(f"{where}: headers: must be a mapping of names to values")
    options["headers"] = options.get("headers") or {}
    try:
        return Response(**options)
    except TypeError as exc:
        raise UsageError(f"{where}: {exc}") from exc


def _resolve(
    ref: Reference, event: Event, count: int, stub: str, variables: Mapping[str, Any]
) -> Any:
    head, _, rest = ref.name.partition(".")
    if head == "in":
        found = lookup(event, rest or "value", MISSING)
        if not is_missing(found) and found is not None:
            return found
        if ref.default is not None:
            return ref.default
        if is_missing(found):
            have = ", ".join(sorted(event.value)) if isinstance(event.value, Mapping) else "-"
            raise StubError(
                f"stub {stub}: ${{{ref.text}}}: the consumed event has no "
                f"{rest!r} (its value has: {have})"
            )
        return found
    if ref.name == "count":
        return count
    if ref.name == "uuid":
        return uuid.uuid4().hex
    if ref.name == "stub":
        return stub
    if ref.name == "now":
        return time.time()
    if ref.name in variables:
        return variables[ref.name]
    if rest and head in variables:  # a field of a variable: ${order.total}, ${fake.name}
        return _field(variables[head], rest, ref, stub)
    if ref.default is not None:
        return ref.default
    raise StubError(
        f"stub {stub}: ${{{ref.text}}} is not something a stub knows; use "
        "${in.value.<path>}, ${in.key}, ${in.headers.<name>}, ${count}, ${uuid}"
    )


def _field(value: Any, path: str, ref: Reference, stub: str) -> Any:
    for part in path.split("."):
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, TypeError, ValueError):
            if ref.default is not None:
                return ref.default
            raise StubError(f"stub {stub}: ${{{ref.text}}}: no {part!r} in the variable") from None
    return value


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value if isinstance(value, str) else str(value)
