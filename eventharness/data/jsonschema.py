"""Strategies for values that conform to a JSON Schema, through ``hypothesis-jsonschema``.

    strategy = json_strategy(schema, overrides={"total": 42})

An object schema that does not say ``additionalProperties`` allows any extra key; events carry
the keys their schema names, so by default such objects are generated closed (``extra=False``):
every value still conforms, and generation is ten times faster. Overrides fix top-level
properties to a value or to a strategy; ``override_problem`` says why a value cannot be one
(``generators.check`` asks it before a strategy is built, without importing hypothesis).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from eventharness.model.errors import UsageError
from eventharness.schemas.validators import JsonSchemaValidator

__all__ = ["close_objects", "json_strategy", "override_problem"]


def close_objects(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` on objects that leave it open."""
    if isinstance(schema, list):
        return [close_objects(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {k: close_objects(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out and "patternProperties" not in out:
        out["additionalProperties"] = False
    return out


def override_problem(schema: Any, name: str, value: Any) -> str | None:
    """Why ``value`` cannot be the top-level property ``name`` of ``schema``, or None."""
    if not isinstance(schema, Mapping):
        return None
    props = schema.get("properties") or {}
    if name not in props:
        if schema.get("additionalProperties") is False:
            known = ", ".join(sorted(props)) or "none"
            return f"the schema has no property {name!r} (properties: {known})"
        return None
    sub = dict(props[name]) if isinstance(props[name], Mapping) else props[name]
    if isinstance(sub, dict) and "$schema" in schema:
        sub["$schema"] = schema["$schema"]
    if isinstance(sub, dict) and "$defs" in schema:
        sub["$defs"] = schema["$defs"]
    violations = JsonSchemaValidator(sub, name=name).validate(value)
    if violations:
        return f"{name}={value!r} does not conform: {violations[0].message}"
    return None


def json_strategy(
    schema: Any, overrides: Mapping[str, Any] | None = None, *, extra: bool = False
) -> Any:
    """A strategy of values of ``schema`` with ``overrides`` (values or strategies), each
    value already known to fit its property (see ``override_problem``)."""
    # lazy: hypothesis-jsonschema imports hypothesis, which only generation needs
    from hypothesis import strategies as st
    from hypothesis.strategies import SearchStrategy
    from hypothesis_jsonschema import from_schema

    base = copy.deepcopy(schema if extra else close_objects(schema))
    fixed = {
        name: value if isinstance(value, SearchStrategy) else st.just(value)
        for name, value in (overrides or {}).items()
    }
    if fixed and isinstance(base, dict):
        props = base.setdefault("properties", {})
        for name in fixed:
            props.pop(name, None)
        base["required"] = [r for r in base.get("required", []) if r not in fixed]
    try:
        strategy = from_schema(base)
    except Exception as exc:  # hypothesis-jsonschema refuses what it cannot generate
        raise UsageError(f"cannot generate values for this JSON Schema: {exc}") from exc
    if not fixed:
        return strategy
    return st.tuples(strategy, st.fixed_dictionaries(fixed)).map(lambda p: {**p[0], **p[1]})
