"""Consumer contracts written in YAML (``contracts/*.yaml``), and loading any contract file.

    consumer: orders-view
    provider: shipping
    spec: 4                                   # optional: 4 (default) or 3
    messages:
      - description: a shipment is scheduled
        given: a payment was authorized       # or a list of {name, params}
        params: {order_id: o-1}
        channel: "rabbit:shipping/shipment.scheduled"
        metadata: {contentType: application/json}
        body:
          type: ShipmentScheduled
          order_id: {$like: o-1}
          shipment_id: {$regex: "shp-[0-9a-f]{12}", example: shp-0123456789ab}
          amount: {$number: 42}
          lines: {$each_like: {sku: {$like: A-1}}, min: 1}

A mapping whose one ``$`` key names a matcher is that matcher (``$like``, ``$each_like`` with
``min``/``max``, ``$regex``/``$datetime``/``$date``/``$time``/``$include`` with ``example``,
``$integer``, ``$decimal``, ``$number``, ``$boolean``, ``$uuid``, ``$equal``, ``$not_empty``,
``$semver``, ``$null``); everything else is a literal. The file becomes the same
:class:`~eventharness.contracts.builder.Contract` the Python builder makes, so the pact it
writes is the same bytes. Every problem is a :class:`ContractError` naming ``file:line``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventharness.contracts import terms
from eventharness.contracts.builder import Contract, contract
from eventharness.contracts.model import Pact, ProviderState
from eventharness.contracts.pactfile import load_pact
from eventharness.contracts.yamlfile import only, plain, read_mapping, read_text
from eventharness.files.lines import Listed, Mapped, line_of
from eventharness.model.errors import ContractError

__all__ = ["MARKERS", "load_contract", "load_contract_yaml", "parse_contract_yaml"]

_ONE: dict[str, Callable[[Any], terms.Term]] = {
    "$like": terms.like,
    "$integer": terms.integer,
    "$decimal": terms.decimal,
    "$number": terms.number,
    "$boolean": terms.boolean,
    "$equal": terms.equal,
    "$not_empty": terms.not_empty,
    "$semver": terms.semver,
    "$uuid": terms.uuid,
    "$null": lambda _value: terms.null(),
}
_WITH_EXAMPLE = {"$regex", "$datetime", "$date", "$time", "$include"}
MARKERS = frozenset({*_ONE, *_WITH_EXAMPLE, "$each_like"})
_MESSAGE_KEYS = {"description", "given", "params", "channel", "metadata", "body", "content_type"}


def load_contract(path: str | Path) -> Pact:
    """A pact from a ``.json`` pact file or a ``.yaml``/``.yml`` consumer declaration."""
    p = Path(path)
    if p.suffix in (".yaml", ".yml"):
        return load_contract_yaml(p).pact()
    return load_pact(p)


def load_contract_yaml(path: str | Path) -> Contract:
    p = Path(path)
    text = read_text(p, "contract file")
    return parse_contract_yaml(text, str(p))


def parse_contract_yaml(text: str, source: str) -> Contract:
    data = read_mapping(text, source, "contract file", "consumer, provider, ...")
    only(data, {"consumer", "provider", "spec", "messages"}, source)
    for key in ("consumer", "provider", "messages"):
        if key not in data:
            raise ContractError(f"{source}:{data.line}: missing '{key}'")
    spec = str(data.get("spec", "4"))
    try:
        built = contract(
            _text(data, "consumer", source), _text(data, "provider", source), spec=spec
        )
    except ContractError as exc:
        raise ContractError(f"{source}:{line_of(data, 'spec')}: {exc}") from None
    messages = data["messages"]
    if not isinstance(messages, Listed) or not messages:
        raise ContractError(f"{source}:{line_of(data, 'messages')}: messages must be a list")
    for i, item in enumerate(messages):
        _message(built, item, f"{source}:{line_of(messages, i)}", source)
    return built


def _message(built: Contract, item: Any, at: str, source: str) -> None:
    if not isinstance(item, Mapped):
        raise ContractError(f"{at}: a message is a mapping (description, body, ...)")
    only(item, _MESSAGE_KEYS, source)
    if "description" not in item:
        raise ContractError(f"{at}: a message needs a description")
    options: dict[str, Any] = {}
    for key in ("channel", "content_type"):
        if key in item:
            options[key] = _text(item, key, source)
    for key in ("params", "metadata"):
        if key in item:
            if not isinstance(item[key], Mapped):
                raise ContractError(f"{source}:{line_of(item, key)}: {key} must be a mapping")
            options[key] = plain(item[key])
    if "given" in item:
        options["given"] = _given(item["given"], f"{source}:{line_of(item, 'given')}")
    if "body" in item:
        options["body"] = _body(item["body"], source)
    try:
        built.message(_text(item, "description", source), **options)
    except ContractError as exc:
        raise ContractError(f"{at}: {exc}") from None


def _given(raw: Any, at: str) -> Any:
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, Listed):
        raise ContractError(f"{at}: given is a state name or a list of {{name, params}}")
    states = []
    for i, entry in enumerate(raw):
        where = f"{at.rsplit(':', 1)[0]}:{line_of(raw, i)}"
        if isinstance(entry, str):
            states.append(ProviderState(entry))
        elif isinstance(entry, Mapped) and isinstance(entry.get("name"), str):
            params = entry.get("params") or {}
            if not isinstance(params, dict):
                raise ContractError(f"{where}: params must be a mapping")
            states.append(ProviderState(entry["name"], plain(params)))
        else:
            raise ContractError(f"{where}: a state is a name or {{name, params}}")
    return states


def _body(node: Any, source: str) -> Any:
    """The body with every matcher mapping turned into a :class:`~terms.Term`."""
    if isinstance(node, Mapped):
        marks = [k for k in node if isinstance(k, str) and k[:1] == "$" and k[:2] != "$$"]
        if marks:
            return _term(node, marks, source)
        return {_literal(k): _body(v, source) for k, v in node.items()}
    if isinstance(node, list):
        return [_body(v, source) for v in node]
    return node


def _term(node: Mapped, marks: list[str], source: str) -> terms.Term:
    at = f"{source}:{line_of(node, marks[0])}"
    if len(marks) > 1:
        raise ContractError(f"{at}: one matcher per value, got {', '.join(marks)}")
    mark = marks[0]
    if mark not in MARKERS:
        raise ContractError(
            f"{at}: unknown matcher {mark!r}; known: {', '.join(sorted(MARKERS))} "
            "(write $$name for a literal key starting with $)"
        )
    allowed = (
        {"min", "max"} if mark == "$each_like" else {"example"} if mark in _WITH_EXAMPLE else set()
    )
    extra = [k for k in node if k != mark and k not in allowed]
    if extra:
        raise ContractError(f"{at}: {mark} takes {sorted(allowed) or 'no other keys'}, got {extra}")
    value = node[mark]
    try:
        if mark == "$each_like":
            bounds = {k: node[k] for k in ("min", "max") if k in node}
            return terms.each_like(_body(value, source), **bounds)
        if mark in _WITH_EXAMPLE:
            if mark == "$include":
                return terms.include(str(value), node.get("example"))
            if "example" not in node:
                raise ContractError(f"{mark} needs an example")
            return getattr(terms, mark[1:])(value, node["example"])  # type: ignore[no-any-return]
        if mark in ("$like", "$equal", "$not_empty"):
            return _ONE[mark](_body(value, source))
        return _ONE[mark](value)
    except (ContractError, TypeError) as exc:
        raise ContractError(f"{at}: {exc}") from None


def _literal(key: Any) -> Any:
    return key[1:] if isinstance(key, str) and key.startswith("$$") else key


def _text(node: Mapped, key: str, source: str) -> str:
    value = node[key]
    if not isinstance(value, str) or not value:
        raise ContractError(f"{source}:{line_of(node, key)}: {key} must be a non-empty string")
    return value
