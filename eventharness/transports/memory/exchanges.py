"""AMQP-like exchanges of the memory broker: queues, bindings and routing by exchange type.

An exchange routes a record to the queues whose bindings match it (``direct``: the routing key;
``topic``: ``*`` one word, ``#`` zero or more; ``fanout``: every queue; ``headers``: all or any of
the bound header values); a queue hands its records round-robin to its consumers and keeps them
while it has none. See :mod:`eventharness.transports.memory` for the promises this makes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

from eventharness.model.errors import ChannelError
from eventharness.model.events import Record
from eventharness.transports.memory.subscription import MemorySubscription

__all__ = ["EXCHANGE_TYPES", "Binding", "Exchange", "ExchangeType", "Queue"]

ExchangeType = Literal["direct", "topic", "fanout", "headers"]
EXCHANGE_TYPES: tuple[str, ...] = ("direct", "topic", "fanout", "headers")
_ROUTE_CACHE_LIMIT = 4096


class Queue:
    __slots__ = ("auto_delete", "backlog", "bindings", "consumers", "name", "turn")

    def __init__(self, name: str, *, auto_delete: bool = False) -> None:
        self.name = name
        self.auto_delete = auto_delete
        self.consumers: list[MemorySubscription] = []
        self.backlog: deque[Record] = deque()
        self.turn = 0
        self.bindings: list[tuple[Exchange, Binding]] = []

    def put(self, record: Record) -> None:
        consumers = self.consumers
        if not consumers:
            self.backlog.append(record)
            return
        if len(consumers) == 1:
            consumers[0].push_tagged(record)
            return
        index = self.turn % len(consumers)
        self.turn = index + 1
        consumers[index].push_tagged(record)

    def attach(self, sub: MemorySubscription) -> None:
        self.consumers.append(sub)
        while self.backlog:
            self.put(self.backlog.popleft())


@dataclass(slots=True)
class Binding:
    queue: Queue
    pattern: str
    words: tuple[str, ...] = ()
    match_headers: tuple[tuple[str, str], ...] = ()
    match_any: bool = False


@dataclass(slots=True)
class Exchange:
    name: str
    type: str
    bindings: list[Binding] = field(default_factory=list)
    cache: dict[str, tuple[Queue, ...]] = field(default_factory=dict)

    def bind(self, queue: Queue, pattern: str) -> None:
        for binding in self.bindings:
            if binding.queue is queue and binding.pattern == pattern:
                return
        binding = Binding(queue, pattern)
        if self.type == "topic":
            binding.words = tuple(pattern.split("."))
        elif self.type == "headers":
            pairs = parse_qsl(pattern, keep_blank_values=True)
            modes = {v for k, v in pairs if k == "x-match"}
            if not modes <= {"all", "any"}:
                raise ChannelError(
                    f"headers exchange {self.name!r}: x-match must be 'all' or 'any', "
                    f"got {sorted(modes)} in {pattern!r}"
                )
            binding.match_any = "any" in modes
            binding.match_headers = tuple((k, v) for k, v in pairs if k != "x-match")
        self.bindings.append(binding)
        queue.bindings.append((self, binding))
        self.cache.clear()

    def unbind(self, queue: Queue) -> None:
        self.bindings = [b for b in self.bindings if b.queue is not queue]
        self.cache.clear()

    def route(self, routing_key: str, headers: Mapping[str, Any]) -> tuple[Queue, ...]:
        if self.type == "headers":
            return _unique(b.queue for b in self.bindings if _headers_match(b, headers))
        queues = self.cache.get(routing_key)
        if queues is None:
            if self.type == "fanout":
                queues = _unique(b.queue for b in self.bindings)
            elif self.type == "direct":
                queues = _unique(b.queue for b in self.bindings if b.pattern == routing_key)
            else:
                words = routing_key.split(".")
                queues = _unique(b.queue for b in self.bindings if _topic_match(b.words, words))
            if len(self.cache) >= _ROUTE_CACHE_LIMIT:
                self.cache.clear()
            self.cache[routing_key] = queues
        return queues


def _unique(queues: Iterable[Queue]) -> tuple[Queue, ...]:
    """Each queue once, in binding order: two matching bindings still mean one copy."""
    return tuple({id(q): q for q in queues}.values())


def _topic_match(pattern: tuple[str, ...], words: list[str]) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more."""
    # reachable[j]: the pattern prefix seen so far can match the first j words.
    reachable = [True] + [False] * len(words)
    for token in pattern:
        if token == "#":
            for j in range(1, len(words) + 1):
                reachable[j] = reachable[j] or reachable[j - 1]
        else:
            for j in range(len(words), 0, -1):
                reachable[j] = reachable[j - 1] and (token == "*" or token == words[j - 1])
            reachable[0] = False
    return reachable[-1]


def _headers_match(binding: Binding, headers: Mapping[str, Any]) -> bool:
    if not binding.match_headers:
        return not binding.match_any
    tests = (_header_str(headers.get(k)) == v for k, v in binding.match_headers)
    return any(tests) if binding.match_any else all(tests)


def _header_str(value: Any) -> str | None:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return None if value is None else str(value)
