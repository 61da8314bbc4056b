"""Reading and writing pact files: V3 message pacts (``messages[]``) and V4 pacts
(``interactions[]`` of type ``Asynchronous/Messages`` or ``Synchronous/Messages``).

Reading parses once into :mod:`~eventharness.contracts.model` records and checks what can be
checked without a provider: the JSON, the specification version, every matcher and generator,
and that each ``regex`` matcher's own example matches its regex. A problem raises
:class:`ContractError` naming the file and the JSON path (``orders.json: $.interactions[0]
.matchingRules.body['$.id'].matchers[0].regex: ...``).

Writing is deterministic: sorted keys, interactions in a stable order (description, then
provider states), two-space indentation, ``ensure_ascii=False``, a trailing newline. The same
model always gives the same bytes, and :func:`content_hash` (sha256 of those bytes) names them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eventharness.contracts.generators import parse_generators
from eventharness.contracts.matchers import full_match
from eventharness.contracts.model import (
    ASYNC,
    SYNC,
    Contents,
    Interaction,
    Message,
    Pact,
    ProviderState,
)
from eventharness.contracts.paths import PathStep, format_path, path_weight
from eventharness.contracts.rules import BODY, parse_matching_rules, tokens_of
from eventharness.model.errors import ContractError
from eventharness.model.events import MISSING, is_missing

__all__ = [
    "content_hash",
    "dump_pact",
    "load_pact",
    "loads_pact",
    "pact_to_json",
    "parse_contents",
    "parse_pact",
    "write_pact",
]

_V3 = ("3.0.0", "3.0", "3")
_V4 = ("4.0", "4.0.0", "4")


def load_pact(path: str | Path) -> Pact:
    """Read a pact file; every problem names the file and JSON path."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(f"{p}: cannot read the pact file: {exc.strerror}") from None
    return loads_pact(text, str(p))


def loads_pact(text: str, source: str = "<pact>") -> Pact:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return parse_pact(raw, source)


def parse_pact(raw: Any, source: str = "<pact>") -> Pact:
    if not isinstance(raw, Mapping):
        raise ContractError(f"{source}: $: a pact must be a JSON object")
    metadata = dict(raw.get("metadata") or {})
    version = _spec_version(metadata, raw, source)
    consumer = _name(raw, "consumer", source)
    provider = _name(raw, "provider", source)
    metadata.pop("pactSpecification", None)
    metadata.pop("pact-specification", None)
    if version == "3.0.0":
        items = raw.get("messages")
        if not isinstance(items, list):
            raise ContractError(f"{source}: $.messages: a V3 message pact needs a messages list")
        interactions = tuple(
            _v3_message(m, f"{source}: $.messages[{i}]") for i, m in enumerate(items)
        )
    else:
        items = raw.get("interactions")
        if not isinstance(items, list):
            raise ContractError(f"{source}: $.interactions: a V4 pact needs an interactions list")
        interactions = tuple(
            _v4_interaction(m, f"{source}: $.interactions[{i}]") for i, m in enumerate(items)
        )
    return Pact(consumer, provider, interactions, version, metadata)


def _spec_version(metadata: Mapping[str, Any], raw: Mapping[str, Any], source: str) -> str:
    spec = metadata.get("pactSpecification") or metadata.get("pact-specification") or {}
    version = spec.get("version") if isinstance(spec, Mapping) else None
    if version is None:
        return "4.0" if "interactions" in raw and "messages" not in raw else "3.0.0"
    if str(version) in _V3:
        return "3.0.0"
    if str(version) in _V4:
        return "4.0"
    raise ContractError(
        f"{source}: $.metadata.pactSpecification.version: unknown or unsupported specification "
        f"version {version!r}; message pacts are read as 3.0.0 (messages) or 4.0 (interactions)"
    )


def _name(raw: Mapping[str, Any], role: str, source: str) -> str:
    party = raw.get(role)
    name = party.get("name") if isinstance(party, Mapping) else None
    if not isinstance(name, str) or not name:
        raise ContractError(f"{source}: $.{role}.name: the {role} needs a name")
    return name


def _states(raw: Mapping[str, Any], where: str) -> tuple[ProviderState, ...]:
    if isinstance(raw.get("providerState"), str):
        return (ProviderState(raw["providerState"]),)
    items = raw.get("providerStates") or []
    if not isinstance(items, list):
        raise ContractError(f"{where}.providerStates: must be a list")
    states = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ContractError(f"{where}.providerStates[{i}]: a provider state needs a name")
        params = item.get("params") or {}
        if not isinstance(params, Mapping):
            raise ContractError(f"{where}.providerStates[{i}].params: must be an object")
        states.append(ProviderState(item["name"], dict(params)))
    return tuple(states)


def _description(raw: Any, where: str) -> str:
    if not isinstance(raw, Mapping):
        raise ContractError(f"{where}: an interaction must be an object")
    description = raw.get("description")
    if not isinstance(description, str):
        raise ContractError(f"{where}.description: an interaction needs a description")
    return description


def _v3_message(raw: Any, where: str) -> Interaction:
    description = _description(raw, where)
    metadata = dict(raw.get("metadata") or raw.get("metaData") or {})
    content_type = metadata.get("contentType") or metadata.get("content-type")
    value = raw.get("contents", MISSING)
    if isinstance(value, str) and content_type and _is_json(str(content_type)):
        value = _maybe_json(value)
    message = _message(raw, Contents(value, content_type), metadata, where)
    return Interaction(description, message, _states(raw, where))


def _v4_interaction(raw: Any, where: str) -> Interaction:
    description = _description(raw, where)
    kind = raw.get("type")
    if kind not in (ASYNC, SYNC):
        raise ContractError(
            f"{where}.type: interaction type {kind!r} is not a message interaction "
            f"({ASYNC} or {SYNC})"
        )
    common: dict[str, Any] = {
        "provider_states": _states(raw, where),
        "kind": kind,
        "key": raw.get("key"),
        "pending": bool(raw.get("pending", False)),
        "comments": dict(raw.get("comments") or {}),
    }
    if kind == ASYNC:
        return Interaction(description, _v4_message(raw, where), **common)
    request = raw.get("request")
    if not isinstance(request, Mapping):
        raise ContractError(f"{where}.request: a synchronous message needs a request")
    responses = raw.get("response") or []
    if not isinstance(responses, list):
        raise ContractError(f"{where}.response: must be a list of messages")
    return Interaction(
        description,
        _v4_message(request, f"{where}.request"),
        responses=tuple(_v4_message(r, f"{where}.response[{i}]") for i, r in enumerate(responses)),
        **common,
    )


def _v4_message(raw: Mapping[str, Any], where: str) -> Message:
    metadata = dict(raw.get("metadata") or {})
    contents = parse_contents(raw.get("contents", MISSING), f"{where}.contents")
    if contents.content_type is None and metadata.get("contentType"):
        contents = Contents(contents.value, str(metadata["contentType"]))
    return _message(raw, contents, metadata, where)


def parse_contents(raw: Any, where: str) -> Contents:
    """A V4 ``contents`` object (``content``, ``contentType``, ``encoded``)."""
    if is_missing(raw):
        return Contents()
    if raw is None:
        return Contents(None)
    if not isinstance(raw, Mapping):
        raise ContractError(f"{where}: V4 contents must be an object with 'content'")
    content_type = raw.get("contentType")
    value = raw.get("content", MISSING)
    encoded = raw.get("encoded", False)
    if encoded in ("base64", True) and isinstance(value, str):
        try:
            data = base64.b64decode(value, validate=True)
        except ValueError:
            raise ContractError(f"{where}.content: not valid base64") from None
        value = _decode_bytes(data, content_type)
    elif encoded == "json" and isinstance(value, str):
        value = _maybe_json(value)
    elif isinstance(value, str) and content_type and _is_json(content_type):
        value = _maybe_json(value) if value.strip()[:1] in ("{", "[") else value
    return Contents(value, content_type)


def _decode_bytes(data: bytes, content_type: str | None) -> Any:
    base = (content_type or "").split(";")[0].strip().lower()
    if _is_json(base) or base.startswith("text/"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return data
        return _maybe_json(text) if _is_json(base) else text
    return data


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _is_json(content_type: str) -> bool:
    base = content_type.split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def _message(
    raw: Mapping[str, Any], contents: Contents, metadata: dict[str, Any], where: str
) -> Message:
    rules = parse_matching_rules(raw.get("matchingRules"), f"{where}.matchingRules")
    generators = parse_generators(raw.get("generators"), f"{where}.generators")
    message = Message(contents, metadata, rules, generators)
    _check_regex_examples(message, f"{where}.matchingRules")
    return message


def _check_regex_examples(message: Message, where: str) -> None:
    """A regex matcher whose own example does not match its regex is a broken contract.
    A ``null`` example is no example (the reference writes one for a matcher given no value,
    with a generator beside it) and is not checked."""
    body = message.contents.value
    for expression, rule_list in message.matching_rules.category(BODY).items():
        for i, matcher in enumerate(rule_list.matchers):
            if matcher.kind != "regex" or is_missing(body):
                continue
            for path, example in _values_at(body, expression):
                if example is None:
                    continue  # no example given (pact-python's uuid() without a value)
                text = example if isinstance(example, str) else json.dumps(example)
                if isinstance(example, dict | list) or not full_match(matcher.get("regex"), text):
                    raise ContractError(
                        f"{where}.body[{expression!r}].matchers[{i}]: the example "
                        f"{json.dumps(example)} at {format_path(path)} does not match the "
                        f"rule's own regex {matcher.get('regex')!r}"
                    )
    for key, rule_list in message.matching_rules.category("metadata").items():
        for i, matcher in enumerate(rule_list.matchers):
            example = message.metadata.get(key)
            if (
                matcher.kind == "regex"
                and isinstance(example, str)
                and not full_match(matcher.get("regex"), example)
            ):
                raise ContractError(
                    f"{where}.metadata[{key!r}].matchers[{i}]: the example {example!r} "
                    f"does not match the rule's own regex {matcher.get('regex')!r}"
                )


def _values_at(node: Any, expression: str) -> list[tuple[list[PathStep], Any]]:
    tokens = tokens_of(expression)
    found: list[tuple[list[PathStep], Any]] = []

    def walk(value: Any, path: list[PathStep]) -> None:
        if len(path) == len(tokens) - 1:
            if path_weight(tokens, path):
                found.append((path, value))
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, [*path, k])
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, [*path, i])

    walk(node, [])
    return found


# -- writing ----------------------------------------------------------------------------------


def pact_to_json(pact: Pact, spec: str | None = None) -> dict[str, Any]:
    """The JSON object of ``pact`` in specification ``spec`` (default: the pact's own)."""
    version = spec or pact.spec
    v4 = version.startswith("4")
    ordered = sorted(pact.interactions, key=Interaction.sort_key)
    metadata = dict(pact.metadata)
    metadata["pactSpecification"] = {"version": "4.0" if v4 else "3.0.0"}
    out: dict[str, Any] = {
        "consumer": {"name": pact.consumer},
        "provider": {"name": pact.provider},
        "metadata": metadata,
    }
    if v4:
        out["interactions"] = [_v4_json(i) for i in ordered]
    else:
        for item in ordered:
            if item.kind != ASYNC:
                raise ContractError(
                    f"interaction {item.description!r}: a {item.kind} interaction needs a V4 pact"
                )
        out["messages"] = [_v3_json(i) for i in ordered]
    return out


def _v3_json(item: Interaction) -> dict[str, Any]:
    message = item.message
    out: dict[str, Any] = {"description": item.description}
    if item.provider_states:
        out["providerStates"] = [s.to_json() for s in item.provider_states]
    value = message.contents.value
    if not is_missing(value):
        out["contents"] = base64.b64encode(value).decode() if isinstance(value, bytes) else value
    metadata = dict(message.metadata)
    if message.contents.content_type and "contentType" not in metadata:
        metadata["contentType"] = message.contents.content_type
    out["metadata"] = metadata
    if message.matching_rules:
        out["matchingRules"] = message.matching_rules.to_json()
    if message.generators:
        out["generators"] = message.generators.to_json()
    return out


def _v4_message_json(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": dict(message.metadata)}
    value = message.contents.value
    if not is_missing(value):
        contents: dict[str, Any] = {"encoded": False}
        if message.contents.content_type:
            contents["contentType"] = message.contents.content_type
        if isinstance(value, bytes):
            contents.update(encoded="base64", content=base64.b64encode(value).decode())
        else:
            contents["content"] = value
        out["contents"] = contents
    if message.matching_rules:
        out["matchingRules"] = message.matching_rules.to_json()
    if message.generators:
        out["generators"] = message.generators.to_json()
    return out


def _v4_json(item: Interaction) -> dict[str, Any]:
    out: dict[str, Any] = {"type": item.kind, "description": item.description}
    out["pending"] = item.pending
    if item.key:
        out["key"] = item.key
    if item.comments:
        out["comments"] = dict(item.comments)
    if item.provider_states:
        out["providerStates"] = [s.to_json() for s in item.provider_states]
    if item.kind == ASYNC:
        out.update(_v4_message_json(item.message))
    else:
        out["request"] = _v4_message_json(item.message)
        out["response"] = [_v4_message_json(r) for r in item.responses]
    return out


def dump_pact(pact: Pact, spec: str | None = None) -> str:
    """The canonical text of ``pact``: the same model always gives the same bytes."""
    return json.dumps(pact_to_json(pact, spec), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_pact(pact: Pact, path: str | Path, spec: str | None = None) -> Path:
    """Write the canonical text to ``path`` (parents created); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dump_pact(pact, spec), encoding="utf-8", newline="\n")
    return target


def content_hash(pact: Pact, spec: str | None = None) -> str:
    """``sha256:<hex>`` of the canonical text: what the contract store keys results by."""
    digest = hashlib.sha256(dump_pact(pact, spec).encode("utf-8")).hexdigest()
    return f"sha256:{digest}"
