"""Is an AsyncAPI document well formed? Its structure against the official JSON Schema of its
version (vendored in ``official/``), every ``$ref`` resolvable, every payload schema usable,
every message example valid against the message's own payload and headers schemas.

    problems = check_structure(source)     # ["docs/asyncapi.yaml:12: channels.x: ...", ...]

Each problem is one line with the file and line of the value it is about.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from eventharness.asyncapi.reader import SUPPORTED, read_document
from eventharness.asyncapi.source import Node, Source, is_ref
from eventharness.model.errors import AsyncApiError, UsageError
from eventharness.model.problems import closest
from eventharness.schemas.store import make_validator

__all__ = ["MAX_PROBLEMS", "check_structure", "official_schema"]

MAX_PROBLEMS = 20
_OFFICIAL = Path(__file__).parent / "official"


@cache
def official_schema(version: str) -> Any:
    with gzip.open(_OFFICIAL / f"{version}.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)


@cache
def _validator(version: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(official_schema(version))


def check_structure(source: Source) -> list[str]:
    """Every problem of the document at ``source``, with file:line, at most
    :data:`MAX_PROBLEMS` of them."""
    root = source.root
    version = str(root.value.get("asyncapi", ""))
    if version not in SUPPORTED:
        where = root.child("asyncapi") or root
        return [
            f"{where.where}: asyncapi: {version or '(missing)'!r} is not a version "
            f"eventharness reads; use one of {', '.join(SUPPORTED)}"
        ]
    problems = list(_schema_problems(root, version))
    problems.extend(_ref_problems(source, root))
    if problems:  # a broken ref reached by two paths is one problem
        return list(dict.fromkeys(problems))[:MAX_PROBLEMS]
    try:
        doc = read_document(source)
    except AsyncApiError as exc:
        return exc.problems
    for channel in doc.channels.values():
        for message in channel.messages:
            problems.extend(_message_problems(channel.id, message))
    return problems[:MAX_PROBLEMS]


def _schema_problems(root: Node, version: str) -> Iterator[str]:
    found = []
    for error in _validator(version).iter_errors(root.value):
        error = _deepest(error)
        path = list(error.absolute_path)
        extra = _unknown_keys(error)
        if extra:
            for key in extra:
                found.append(
                    (
                        _line(root, [*path, key]),
                        f"{_dotted([*path, key])}: unknown key "
                        f"{key!r}{_did_you_mean(key, error.schema)}",
                    )
                )
            continue
        found.append((_line(root, path), f"{_dotted(path)}: {_say(error)}"))
    for line, text in sorted(set(found))[:MAX_PROBLEMS]:
        yield f"{root.file}:{line}: {text}"


def _deepest(error: ValidationError) -> ValidationError:
    """The most specific of the alternatives a oneOf/anyOf error stands for: the one deepest
    into the document, a "this could have been a $ref" alternative last."""
    while error.context:
        error = max(error.context, key=_specific)
    return error


def _specific(error: ValidationError) -> tuple[int, bool]:
    def depth(e: ValidationError) -> int:
        return max([len(e.absolute_path), *(depth(c) for c in e.context or ())])

    is_ref_branch = error.validator == "required" and "'$ref'" in error.message
    return (depth(error), not is_ref_branch)


def _unknown_keys(error: ValidationError) -> list[str]:
    if error.validator != "additionalProperties" or not isinstance(error.instance, Mapping):
        return []
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    known = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return [
        str(k)
        for k in error.instance
        if k not in known and not any(p.search(str(k)) for p in patterns)
    ]


def _did_you_mean(key: str, schema: Any) -> str:
    options = list(schema.get("properties", {})) if isinstance(schema, Mapping) else []
    found = closest(key, options)
    return f" (did you mean {found!r}?)" if found else ""


def _say(error: ValidationError) -> str:
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown key")
    if error.validator in ("required", "enum", "type", "const", "format", "pattern"):
        return error.message
    return error.message if len(error.message) < 200 else error.message[:197] + "..."


def _dotted(path: list[Any]) -> str:
    return ".".join(str(p) for p in path) or "(document)"


def _line(root: Node, path: list[Any]) -> int:
    node: Node | None = root
    line = root.line
    for part in path:
        node = node.child(part) if node is not None else None
        if node is None:
            break
        line = node.line
    return line


def _ref_problems(source: Source, node: Node, depth: int = 0) -> Iterator[str]:
    if depth > 200:
        return
    if is_ref(node.value):
        try:
            source.follow(node)
        except AsyncApiError as exc:
            yield from exc.problems
        return
    for _, child in node.items():
        yield from _ref_problems(source, child, depth + 1)
    for child in node.entries():
        yield from _ref_problems(source, child, depth + 1)


def _message_problems(channel: str, message: Any) -> Iterator[str]:
    what = f"channel {channel!r} message {message.id!r}"
    payload = headers = None
    try:
        if message.payload is not None:
            payload = make_validator(message.payload, message.schema_format, message.name)
        if isinstance(message.headers, Mapping):
            headers = make_validator(message.headers, "json", f"{message.name} headers")
    except (UsageError, jsonschema.SchemaError) as exc:
        yield f"{message.where}: {what}: its schema is not usable: {str(exc).splitlines()[0]}"
        return
    for example in message.examples:
        label = f"example {example.name!r}" if example.name else "an example"
        for validator, value, part in (
            (payload, example.payload, "payload"),
            (headers, example.headers, "headers"),
        ):
            if validator is None or value is None:
                continue
            for violation in validator.validate(value):
                yield (
                    f"{example.where}: {what}: {label} does not match its own {part} "
                    f"schema: {violation}"
                )
