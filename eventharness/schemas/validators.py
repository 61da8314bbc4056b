"""Conformance: does a value fit a schema, and if not, which field breaks which rule.

Both validators compile their schema once, at construction. ``validate()`` first asks the
underlying library's fast yes/no check and only walks the value for paths when that says no,
so a conforming event costs about what the bare library costs.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from eventharness.model.errors import UsageError
from eventharness.schemas import avro

__all__ = ["AvroValidator", "JsonSchemaValidator", "SchemaViolation", "Validator", "json_path"]


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    """One way a value fails its schema.

    ``path`` is where (``$`` is the whole value, ``$.lines[0].qty`` a nested field), ``rule`` the
    schema keyword or Avro rule broken (``type``, ``required``, ``minimum``, ``avro:union``,
    ``decode``), ``message`` a sentence saying what was expected and what was found.
    """

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} ({self.rule})"


@runtime_checkable
class Validator(Protocol):
    """Checks values against one schema. ``validate`` returns ``[]`` when the value conforms."""

    name: str

    def validate(self, value: Any) -> list[SchemaViolation]: ...


def json_path(parts: Iterator[Any] | Sequence[Any]) -> str:
    """``$.a.b[0]`` from path parts (strings are keys, ints are indexes)."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


class JsonSchemaValidator:
    """A JSON Schema, checked with the ``jsonschema`` validator its ``$schema`` names.

    Invalid schemas are refused at construction with :class:`~eventharness.model.errors.UsageError`.
    ``format`` is checked (``date-time``, ``email``, ``uuid``, ...).
    """

    __slots__ = ("_validator", "name", "schema")

    def __init__(self, schema: Mapping[str, Any] | bool, name: str = "inline") -> None:
        import jsonschema
        from jsonschema.exceptions import SchemaError

        self.name = name
        self.schema = schema
        cls = jsonschema.validators.validator_for(schema)
        try:
            cls.check_schema(schema)  # type: ignore[arg-type]
        except SchemaError as exc:
            where = json_path(exc.path)
            raise UsageError(
                f"schema {name!r} is not a valid JSON Schema: {exc.message} at {where}"
            ) from exc
        self._validator = cls(schema, format_checker=cls.FORMAT_CHECKER)

    def validate(self, value: Any) -> list[SchemaViolation]:
        if self._validator.is_valid(value):
            return []
        return [_from_json_error(err) for err in self._validator.iter_errors(value)]

    def __repr__(self) -> str:
        return f"JsonSchemaValidator(name={self.name!r})"


def _from_json_error(err: Any) -> SchemaViolation:
    parts = list(err.absolute_path)
    rule = str(err.validator)
    if rule == "required" and isinstance(err.instance, Mapping):
        missing = [p for p in err.validator_value if p not in err.instance]
        if missing:
            parts.append(missing[0])
            return SchemaViolation(json_path(parts), rule, "required property is missing")
    return SchemaViolation(json_path(parts), rule, err.message)


class AvroValidator:
    """An Avro schema (parsed once by fastavro); values are checked as fastavro would write them."""

    __slots__ = ("_check", "_named", "name", "parsed", "schema")

    def __init__(self, schema: Any, name: str = "inline") -> None:
        self.schema = avro.load_json(schema)
        try:
            self.parsed = avro.parse(self.schema)
        except UsageError as exc:
            raise UsageError(f"schema {name!r}: {exc}") from exc
        self.name = name
        from fastavro.validation import validate

        self._check = validate
        named = self.parsed.get("__named_schemas", {}) if isinstance(self.parsed, dict) else {}
        self._named: Mapping[str, Any] = named

    def validate(self, value: Any) -> list[SchemaViolation]:
        if self._check(value, self.parsed, raise_errors=False):
            return []
        found = list(_walk(value, self.parsed, "$", self._named))
        if not found:  # fastavro is stricter somewhere our walk is not: still report it
            found = [SchemaViolation("$", "avro", f"does not conform to Avro schema {self.name}")]
        return found

    def __repr__(self) -> str:
        return f"AvroValidator(name={self.name!r})"


_INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# The Python types each Avro primitive other than int/long takes (those also have a range);
# a bool is an int in Python, but only an Avro boolean.
_PRIMITIVE_PY: dict[str, tuple[type, ...]] = {
    "null": (type(None),),
    "boolean": (bool,),
    "float": (int, float),
    "double": (int, float),
    "string": (str,),
    "bytes": (bytes, bytearray),
}
_LOGICAL_PY: dict[str, tuple[type, ...]] = {
    "decimal": (decimal.Decimal,),
    "uuid": (uuid.UUID, str),
    "date": (datetime.date,),
    "time-millis": (datetime.time,),
    "time-micros": (datetime.time,),
    "timestamp-millis": (datetime.datetime,),
    "timestamp-micros": (datetime.datetime,),
    "local-timestamp-millis": (datetime.datetime,),
    "local-timestamp-micros": (datetime.datetime,),
}


def _kind(value: Any) -> str:
    return type(value).__name__ if value is not None else "null"


def _walk(
    value: Any, schema: Any, path: str, named: Mapping[str, Any]
) -> Iterator[SchemaViolation]:
    if isinstance(schema, str) and schema not in avro.PRIMITIVES:
        schema = named.get(schema, schema)
    if isinstance(schema, list):
        yield from _walk_union(value, schema, path, named)
        return
    if isinstance(schema, Mapping):
        logical = schema.get("logicalType")
        if logical in _LOGICAL_PY and isinstance(value, _LOGICAL_PY[logical]):
            return
        kind = schema["type"]
    else:
        kind = schema
    if isinstance(kind, (list, Mapping)):
        yield from _walk(value, kind, path, named)
        return
    yield from _walk_type(value, kind, schema, path, named)


def _walk_type(
    value: Any, kind: str, schema: Any, path: str, named: Mapping[str, Any]
) -> Iterator[SchemaViolation]:
    """Check ``value`` against the Avro type named ``kind``: one function per kind."""
    match kind:
        case "null" | "boolean" | "float" | "double" | "string" | "bytes":
            yield from _walk_primitive(value, kind, path)
        case "int" | "long":
            yield from _walk_integer(value, kind, path)
        case "fixed":
            yield from _walk_fixed(value, schema, path)
        case "enum":
            yield from _walk_enum(value, schema, path)
        case "array":
            yield from _walk_array(value, schema, path, named)
        case "map":
            yield from _walk_map(value, schema, path, named)
        case "record" | "error":
            yield from _walk_record(value, schema, path, named)
        case _:  # a name fastavro resolved but we could not: let fastavro's verdict stand
            yield SchemaViolation(path, "avro", f"does not conform to {kind}")


def _wrong(expected: str, value: Any, path: str) -> SchemaViolation:
    return SchemaViolation(path, "type", f"expected {expected}, got {_kind(value)} {value!r}")


def _walk_primitive(value: Any, kind: str, path: str) -> Iterator[SchemaViolation]:
    accepted = _PRIMITIVE_PY[kind]
    if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
        yield _wrong(kind, value, path)


def _walk_integer(value: Any, kind: str, path: str) -> Iterator[SchemaViolation]:
    if not isinstance(value, int) or isinstance(value, bool):
        yield _wrong(kind, value, path)
        return
    low, high = _INT_RANGES[kind]
    if not low <= value <= high:
        yield SchemaViolation(path, "avro:range", f"{value} does not fit an Avro {kind}")


def _walk_fixed(value: Any, schema: Mapping[str, Any], path: str) -> Iterator[SchemaViolation]:
    size = schema["size"]
    if not isinstance(value, (bytes, bytearray)) or len(value) != size:
        yield _wrong(f"{size} bytes (fixed {schema['name']})", value, path)


def _walk_enum(value: Any, schema: Mapping[str, Any], path: str) -> Iterator[SchemaViolation]:
    if value not in schema["symbols"]:
        symbols = ", ".join(schema["symbols"])
        yield SchemaViolation(path, "avro:enum", f"{value!r} is not one of {symbols}")


def _walk_array(
    value: Any, schema: Mapping[str, Any], path: str, named: Mapping[str, Any]
) -> Iterator[SchemaViolation]:
    if not isinstance(value, (list, tuple)):
        yield _wrong("array", value, path)
        return
    for i, item in enumerate(value):
        yield from _walk(item, schema["items"], f"{path}[{i}]", named)


def _walk_map(
    value: Any, schema: Mapping[str, Any], path: str, named: Mapping[str, Any]
) -> Iterator[SchemaViolation]:
    if not isinstance(value, Mapping):
        yield _wrong("map", value, path)
        return
    for key, item in value.items():
        if not isinstance(key, str):
            yield SchemaViolation(path, "avro:map", f"map key {key!r} is not a string")
        yield from _walk(item, schema["values"], f"{path}[{key!r}]", named)


def _walk_record(
    value: Any, schema: Mapping[str, Any], path: str, named: Mapping[str, Any]
) -> Iterator[SchemaViolation]:
    if not isinstance(value, Mapping):
        yield SchemaViolation(
            path, "type", f"expected record {schema['name']}, got {_kind(value)} {value!r}"
        )
        return
    for field in schema["fields"]:
        fname = field["name"]
        where = f"{path}.{fname}" if fname.isidentifier() else f"{path}[{fname!r}]"
        if fname not in value:
            if "default" in field:
                for problem in _walk(field["default"], field["type"], where, named):
                    yield SchemaViolation(
                        where,
                        "avro:default",
                        f"field is missing and its default cannot be written ({problem.message})",
                    )
            elif not _accepts_null(field["type"], named):
                yield SchemaViolation(where, "required", "field is missing and has no default")
            continue
        yield from _walk(value[fname], field["type"], where, named)


def _accepts_null(schema: Any, named: Mapping[str, Any]) -> bool:
    if schema == "null":
        return True
    if isinstance(schema, list):
        return "null" in schema
    return isinstance(schema, Mapping) and schema.get("type") == "null"


def _walk_union(
    value: Any, branches: list[Any], path: str, named: Mapping[str, Any]
) -> Iterator[SchemaViolation]:
    best: list[SchemaViolation] | None = None
    for branch in branches:
        found = list(_walk(value, branch, path, named))
        if not found:
            return
        # a branch whose top level matched (only deeper problems) explains the failure best
        if all(v.path != path for v in found) and best is None:
            best = found
    if best is not None:
        yield from best
        return
    names = ", ".join(_branch_name(b) for b in branches)
    yield SchemaViolation(path, "avro:union", f"{_kind(value)} {value!r} matches none of [{names}]")


def _branch_name(schema: Any) -> str:
    if isinstance(schema, Mapping):
        return str(schema.get("name") or schema.get("type"))
    return str(schema)
