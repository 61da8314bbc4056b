"""Masking payload fields by path, keeping their shape, so recordings and reports can be shared.

    mask = Mask(["value.card.number", "value.email", "headers.x-token", "key"])
    mask.value({"card": {"number": "4111 1111"}, "total": 5})
    # → {"card": {"number": "0000 0000"}, "total": 5}
    mask.result(scenario_result)     # its events and failure texts masked

A path starts with ``value.`` (a field of the JSON payload; ``*`` stands for any key or list
item, and a name applied to a list applies to each item), ``headers.NAME`` or is ``key``. A
masked field keeps its type and shape: in a string each digit becomes ``0``, each letter ``x``
(``X`` in upper case) and everything else stays (``ann@example.com`` → ``xxx@xxxxxxx.xxx``,
``DE89 3704`` → ``XX00 0000``), so formats and patterns still hold; numbers become ``0`` (or
``0.0``), booleans ``false``; a masked object or list has each of its leaves masked. Payloads
that are not JSON (binary Avro, for one) are not rewritten.

Reports carry payload values inside failure texts (nearest misses, diffs, the minimal example
of a property run): :meth:`Mask.result` collects the values found at the masked paths of the
scenario's events and replaces each occurrence of them in those texts by its masked form.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eventharness.model.errors import UsageError
from eventharness.model.events import Event, encode_value
from eventharness.model.result import Failure, ScenarioResult

__all__ = ["Mask", "mask_leaf", "mask_problem"]

_HINT = "a path is value.FIELD.FIELD (* for any), headers.NAME or key, e.g. value.card.number"


def mask_problem(path: object) -> str | None:
    """What is wrong with a mask path as written, or None."""
    if not isinstance(path, str) or not path.strip():
        return f"{path!r} is not a path; {_HINT}"
    head, _, rest = path.partition(".")
    if path == "key" or (head in ("value", "headers") and rest and "" not in rest.split(".")):
        return None
    return f"{path!r} is not a path; {_HINT}"


def _mask_text(text: str) -> str:
    return "".join(
        "0" if ch.isdigit() else ("X" if ch.isupper() else "x") if ch.isalpha() else ch
        for ch in text
    )


def mask_leaf(value: Any) -> Any:
    """``value`` masked, keeping its type and shape."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        return 0.0
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_leaf(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_leaf(v) for v in value]
    return value  # None stays None


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield value


class Mask:
    """Paths to mask (validated: UsageError names a bad one); empty: nothing is changed."""

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self.paths = tuple(dict.fromkeys(paths))
        for path in self.paths:
            problem = mask_problem(path)
            if problem is not None:
                raise UsageError(f"mask: {problem}")
        self._value = [p.split(".")[1:] for p in self.paths if p.startswith("value.")]
        names = [p.partition(".")[2] for p in self.paths if p.startswith("headers.")]
        self._headers = {name.lower() for name in names}
        self._key = "key" in self.paths

    def __bool__(self) -> bool:
        return bool(self.paths)

    def __repr__(self) -> str:
        return f"Mask({list(self.paths)!r})"

    # -- values ----------------------------------------------------------------------------

    def value(self, value: Any) -> Any:
        """The payload ``value`` with the masked ``value.`` paths masked (a new object)."""
        for parts in self._value:
            value = _apply(value, parts)
        return value

    def headers(self, headers: Mapping[str, Any]) -> dict[str, Any]:
        return {k: mask_leaf(v) if k.lower() in self._headers else v for k, v in headers.items()}

    def key(self, key: Any) -> Any:
        return mask_leaf(key) if self._key and key is not None else key

    def secrets(self, events: Iterable[Event]) -> list[Any]:
        """The values the masked paths hold in ``events`` (each leaf once)."""
        found: dict[str, Any] = {}
        for event in events:
            for parts in self._value:
                for leaf in _leaves(_collect(event.value, parts)):
                    found.setdefault(repr(leaf), leaf)
            for name, item in event.headers.items():
                if name.lower() in self._headers:
                    found.setdefault(repr(item), item)
            if self._key and event.key is not None:
                found.setdefault(repr(event.key), event.key)
        return list(found.values())

    # -- results ---------------------------------------------------------------------------

    def event(self, event: Event) -> Event:
        if not self:
            return event
        value = self.value(event.value)
        return event.copy(
            value=value,
            raw=event.raw if event.decode_error else encode_value(value),
            headers=self.headers(event.headers),
            key=self.key(event.key),
            decoder=None,  # the masked value is the value: never decoded again from the original
        )

    def result(self, result: ScenarioResult) -> ScenarioResult:
        """``result`` with its events masked and every masked value scrubbed from its failure
        texts (a copy; ``result`` is left as it is)."""
        if not self:
            return result
        scrub = Scrubber(self.secrets(result.events))
        failures = [
            Failure(
                f.kind,
                f.step,
                scrub(f.message),
                tuple(scrub(line) for line in f.details),
            )
            for f in result.failures
        ]
        return dataclasses.replace(
            result, failures=failures, events=[self.event(ev) for ev in result.events]
        )


class Scrubber:
    """Replaces each of ``secrets`` (as written bare, quoted or as JSON) by its masked form."""

    def __init__(self, secrets: Sequence[Any]) -> None:
        forms: dict[str, str] = {}
        for secret in secrets:
            masked = mask_leaf(secret)
            text = str(secret)
            if not text or (not isinstance(secret, str) and len(text) < 2):
                continue  # a one-digit number says nothing, and is everywhere in a report
            forms[text] = str(masked)
            forms[json.dumps(secret, ensure_ascii=False)] = json.dumps(masked, ensure_ascii=False)
            forms[repr(secret)] = repr(masked)
        ordered = sorted(forms, key=len, reverse=True)  # the longest form first
        self._forms = forms
        self._pattern = (
            re.compile("|".join(rf"(?<![\w.]){re.escape(f)}(?![\w])" for f in ordered))
            if ordered
            else None
        )

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._forms[m.group(0)], text)


def _apply(value: Any, parts: list[str]) -> Any:
    """``value`` with the leaf at ``parts`` masked (copies along the path only)."""
    if not parts:
        return mask_leaf(value)
    head, rest = parts[0], parts[1:]
    if isinstance(value, Mapping):
        if head == "*":
            return {k: _apply(v, rest) for k, v in value.items()}
        if head not in value:
            return value
        return {**value, head: _apply(value[head], rest)}
    if isinstance(value, list | tuple):
        if head.lstrip("-").isdigit():
            index = int(head)
            if not -len(value) <= index < len(value):
                return value
            out = list(value)
            out[index] = _apply(out[index], rest)
            return out
        step = rest if head == "*" else parts  # a name applies to each item
        return [_apply(item, step) for item in value]
    return value


def _collect(value: Any, parts: list[str]) -> list[Any]:
    """The values at ``parts`` inside ``value`` (as :func:`_apply` finds them)."""
    if not parts:
        return [value]
    head, rest = parts[0], parts[1:]
    if isinstance(value, Mapping):
        if head == "*":
            return [x for v in value.values() for x in _collect(v, rest)]
        return _collect(value[head], rest) if head in value else []
    if isinstance(value, list | tuple):
        if head.lstrip("-").isdigit():
            index = int(head)
            return _collect(value[index], rest) if -len(value) <= index < len(value) else []
        step = rest if head == "*" else parts
        return [x for item in value for x in _collect(item, step)]
    return []
