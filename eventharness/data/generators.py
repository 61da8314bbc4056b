"""Values from schemas: valid ones with chosen fields fixed, and invalid ones, one named way.

    orders = from_schema("shop.OrderPlaced", total=42)     # a Generated: a strategy + helpers
    orders.example(); orders.sample(100, seed=7)
    bad = invalid("shop.OrderPlaced", "missing")           # each value breaks the schema once

A subject is looked up in ``schemas`` (a store, a folder or a registry URL), by default the
schema folder of the default profile of the eventharness.toml found from the working folder.
A schema can also be given inline (a mapping: JSON Schema, or Avro when it reads as Avro).
"""

from __future__ import annotations

import copy
import random
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from eventharness.data.avro import avro_strategy, field_problem
from eventharness.data.draw import draw
from eventharness.data.jsonschema import close_objects, json_strategy, override_problem
from eventharness.model.errors import ConfigError, UsageError
from eventharness.schemas.store import LocalSchemaStore, as_validator
from eventharness.schemas.validators import AvroValidator, Validator

__all__ = ["VIOLATIONS", "Generated", "check", "from_schema", "invalid", "resolve"]

#: The ways :func:`invalid` breaks a value.
VIOLATIONS = ("missing", "wrong-type", "out-of-range")


class Generated:
    """A hypothesis strategy of values of one schema, with helpers to draw outside a test."""

    def __init__(self, strategy: Any, validator: Validator, description: str) -> None:
        self.strategy = strategy
        self.validator = validator
        self.description = description

    def example(self, seed: int | None = None) -> Any:
        """One value (a random one unless ``seed`` is given)."""
        return self.sample(1, seed=random.randrange(2**32) if seed is None else seed)[0]

    def sample(self, n: int, *, seed: int | None = 0) -> list[Any]:
        """``n`` values; the same ones for the same ``seed``."""
        return draw(self.strategy, n, seed=seed)

    def __repr__(self) -> str:
        return f"Generated({self.description})"


def _default_store() -> Any:
    """The ``schemas`` of the default profile in ./eventharness.toml (read here, not through
    env.config, which sits above this layer; a harness passes its own store instead)."""
    path = Path("eventharness.toml")
    where = "no eventharness.toml here"
    if path.is_file():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        name = data.get("default_profile", "default")
        location = data.get("profiles", {}).get(name, {}).get("schemas")
        if isinstance(location, str):
            return (
                as_validator_store(location)
                if location.startswith("http")
                else LocalSchemaStore(location)
            )
        where = f"{path}: profile {name!r} has no schemas"
    raise ConfigError(
        f"{where}; pass schemas= (a folder, a registry URL or a store) to look subjects up in"
    )


def as_validator_store(url: str) -> Any:
    from eventharness.schemas import RegistryClient

    return RegistryClient(url)


def resolve(schema: str | Mapping[str, Any] | Validator, schemas: Any = None) -> Validator:
    """The validator of a subject (looked up in ``schemas``), an inline schema or a validator."""
    if isinstance(schema, str) and schemas is None:
        schemas = _default_store()
    elif isinstance(schemas, str):
        schemas = (
            as_validator_store(schemas) if schemas.startswith("http") else LocalSchemaStore(schemas)
        )
    return as_validator(schema, schemas)


def _is_strategy(value: Any) -> bool:
    """Whether ``value`` is a hypothesis strategy; one can only exist once hypothesis is
    imported, so this never imports it."""
    strategies = sys.modules.get("hypothesis.strategies")
    return strategies is not None and isinstance(value, strategies.SearchStrategy)


def _problem(validator: Validator, name: str, value: Any, extra: bool) -> str | None:
    schema = getattr(validator, "schema", None)
    if isinstance(validator, AvroValidator):
        return field_problem(schema, name, value)
    return override_problem(schema if extra else close_objects(schema), name, value)


def check(
    schema: str | Mapping[str, Any] | Validator,
    *,
    schemas: Any = None,
    extra: bool = False,
    **overrides: Any,
) -> Validator:
    """The validator of ``schema``, once each override that is a value is known to fit it.

    Raises the UsageError :func:`from_schema` would (a field the schema lacks, a value its
    field refuses) without building a strategy: a scenario file's ``$generate`` is checked
    when it loads, and hypothesis, slow to import, is only needed when values are drawn."""
    validator = resolve(schema, schemas)
    for name, value in overrides.items():
        problem = None if _is_strategy(value) else _problem(validator, name, value, extra)
        if problem is not None:
            raise UsageError(f"{getattr(validator, 'name', str(schema))}: {problem}")
    return validator


def _strategy(validator: Validator, overrides: Mapping[str, Any], extra: bool) -> Any:
    schema = getattr(validator, "schema", None)
    if isinstance(validator, AvroValidator):
        return avro_strategy(schema, overrides)
    return json_strategy(schema, overrides, extra=extra)


def from_schema(
    schema: str | Mapping[str, Any] | Validator,
    *,
    schemas: Any = None,
    extra: bool = False,
    **overrides: Any,
) -> Generated:
    """Values of ``schema`` with the fields in ``overrides`` fixed (a value or a strategy).

    ``extra=True`` lets JSON objects that allow extra keys have them (slower to generate)."""
    validator = check(schema, schemas=schemas, extra=extra, **overrides)
    name = getattr(validator, "name", str(schema))
    try:
        strategy = _strategy(validator, overrides, extra)
    except UsageError as exc:
        raise UsageError(f"{name}: {exc}") from exc
    shown = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
    return Generated(strategy, validator, f"{name}{f' with {shown}' if shown else ''}")


# --- invalid values --------------------------------------------------------------------------


def _fields(validator: Validator) -> tuple[list[str], dict[str, Any]]:
    """(required field names, field name → its schema) of a record/object schema."""
    schema: Any = getattr(validator, "schema", None)
    if isinstance(validator, AvroValidator):
        fields = {str(f["name"]): f["type"] for f in schema.get("fields", ())}
        required = [str(f["name"]) for f in schema.get("fields", ()) if "default" not in f]
        return required, fields
    if not isinstance(schema, Mapping):
        return [], {}
    return list(schema.get("required", ())), dict(schema.get("properties", {}))


def _wrong_type(value: Any) -> Any:
    if isinstance(value, str):
        return 12345
    return f"not-a-{type(value).__name__}"


def _out_of_range(field: Any, avro: bool) -> Any:
    """A value just outside what ``field`` allows, or None when it states no bound."""
    if avro:
        kind = field.get("type") if isinstance(field, Mapping) else field
        if kind == "int":
            return 2**31
        if kind == "long":
            return 2**63
        if isinstance(field, Mapping) and kind == "enum":
            return "NOT_A_SYMBOL"
        return None
    if not isinstance(field, Mapping):
        return None
    if "minimum" in field:
        return field["minimum"] - 1
    if "exclusiveMinimum" in field:
        return field["exclusiveMinimum"]
    if "maximum" in field:
        return field["maximum"] + 1
    if "minLength" in field and field["minLength"] > 0:
        return ""
    if "enum" in field:
        return "NOT_IN_ENUM"
    if "const" in field:
        return f"not-{field['const']}"
    return None


def _mutation(
    violation: str, required: list[str], fields: dict[str, Any], avro: bool
) -> tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    if violation == "missing":
        if not required:
            raise UsageError("has no required field to leave out")
        name = required[0]
        return name, lambda v: {k: x for k, x in v.items() if k != name}
    if violation == "wrong-type":
        if not required:
            raise UsageError("has no required field to give the wrong type")
        name = next((r for r in required if r in fields), required[0])
        return name, lambda v: {**v, name: _wrong_type(v.get(name))}
    if violation == "out-of-range":
        found = [(n, b) for n, f in fields.items() if (b := _out_of_range(f, avro)) is not None]
        # a number past its bound says "out of range" best; a broken const or enum, least
        found.sort(key=lambda nb: not isinstance(nb[1], int | float))
        if found:
            name, bad = found[0]
            return name, lambda v: {**v, name: bad}
        raise UsageError("has no field with a bound (minimum, maximum, length, enum) to break")
    raise UsageError(f"unknown violation {violation!r}; valid violations: {', '.join(VIOLATIONS)}")


def invalid(
    schema: str | Mapping[str, Any] | Validator,
    violation: str = "missing",
    *,
    schemas: Any = None,
    **overrides: Any,
) -> Generated:
    """Values of ``schema`` broken in one named way (:data:`VIOLATIONS`); each one checked to
    fail the schema. ``.violation`` and ``.field`` say how and where."""
    valid = from_schema(schema, schemas=schemas, **overrides)
    required, fields = _fields(valid.validator)
    avro = isinstance(valid.validator, AvroValidator)
    try:
        field, mutate = _mutation(violation, required, fields, avro)
    except UsageError as exc:
        raise UsageError(f"{getattr(valid.validator, 'name', schema)}: {exc}") from exc
    strategy = valid.strategy.map(lambda v: mutate(copy.copy(v))).filter(
        lambda v: bool(valid.validator.validate(v))
    )
    out = Generated(strategy, valid.validator, f"{valid.description}, {violation} {field}")
    out.violation = violation  # type: ignore[attr-defined]
    out.field = field  # type: ignore[attr-defined]
    return out
