"""Strategies for values that conform to an Avro schema, derived from its types.

    strategy = avro_strategy(schema, overrides={"total": 42})

Every Avro type has a strategy: the primitives (``int`` and ``long`` within their ranges,
finite ``float``/``double``), the logical types (``date``, ``time-millis``/``-micros``,
``timestamp-*``, ``local-timestamp-*``, ``decimal`` within its precision and scale, ``uuid``),
records (each field), enums (a symbol), arrays, maps, ``fixed`` (its size) and unions (any
branch). Named types are found by their full name; a recursive type is drawn through
``st.deferred``, so it stays finite.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any

from eventharness.model.errors import UsageError

__all__ = ["avro_strategy", "field_problem"]

_INT = (-(2**31), 2**31 - 1)
_LONG = (-(2**63), 2**63 - 1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class _Builder:
    def __init__(self) -> None:
        from hypothesis import strategies as st  # lazy: hypothesis is only needed to generate

        self.st = st
        self.named: dict[str, Any] = {}
        self.building: set[str] = set()

    def full_name(self, schema: Mapping[str, Any], namespace: str | None) -> str:
        name = str(schema["name"])
        if "." in name:
            return name
        ns = schema.get("namespace", namespace)
        return f"{ns}.{name}" if ns else name

    def of(self, schema: Any, namespace: str | None = None) -> Any:
        st = self.st
        if isinstance(schema, list):
            return st.one_of([self.of(branch, namespace) for branch in schema])
        if isinstance(schema, str):
            return self.primitive(schema, namespace)
        if not isinstance(schema, Mapping):
            raise UsageError(f"not an Avro type: {schema!r}")
        logical = schema.get("logicalType")
        if logical is not None:
            found = self.logical(str(logical), schema)
            if found is not None:
                return found
        kind = schema.get("type")
        if kind in ("record", "error", "enum", "fixed"):
            return self.named_type(schema, namespace)
        if kind == "array":
            return st.lists(self.of(schema["items"], namespace), max_size=4)
        if kind == "map":
            return st.dictionaries(
                st.text(max_size=8), self.of(schema["values"], namespace), max_size=4
            )
        return self.of(kind, namespace)

    def named_type(self, schema: Mapping[str, Any], namespace: str | None) -> Any:
        st = self.st
        name = self.full_name(schema, namespace)
        ns = name.rpartition(".")[0] or None
        kind = schema["type"]
        if kind == "enum":
            built = st.sampled_from(list(schema["symbols"]))
        elif kind == "fixed":
            size = int(schema["size"])
            built = st.binary(min_size=size, max_size=size)
        else:
            self.named[name] = st.deferred(lambda: self.named[f"{name}#built"])
            fields = {str(f["name"]): self.of(f["type"], ns) for f in schema.get("fields", ())}
            built = st.fixed_dictionaries(fields)
            self.named[f"{name}#built"] = built
        self.named[name] = built
        return built

    def primitive(self, name: str, namespace: str | None) -> Any:
        st = self.st
        match name:
            case "null":
                return st.none()
            case "boolean":
                return st.booleans()
            case "int":
                return st.integers(*_INT)
            case "long":
                return st.integers(*_LONG)
            case "float":
                return st.floats(width=32, allow_nan=False, allow_infinity=False)
            case "double":
                return st.floats(allow_nan=False, allow_infinity=False)
            case "bytes":
                return st.binary(max_size=16)
            case "string":
                return st.text(max_size=16)
        for candidate in (name, f"{namespace}.{name}" if namespace else name):
            if candidate in self.named:
                return self.named[candidate]
        raise UsageError(f"Avro type {name!r} is not defined before its use")

    def logical(self, logical: str, schema: Mapping[str, Any]) -> Any:
        st = self.st
        base = schema.get("type")
        aware = st.datetimes(
            min_value=dt.datetime(1900, 1, 1),
            max_value=dt.datetime(2200, 1, 1),
            timezones=st.just(dt.UTC),
        )
        naive = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))
        match logical, base:
            case "date", "int":
                return st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1))
            case "time-millis", "int":
                return st.times().map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
            case "time-micros", "long":
                return st.times()
            case "timestamp-millis" | "timestamp-micros", "long":
                return aware.map(_millis) if logical.endswith("millis") else aware
            case "local-timestamp-millis" | "local-timestamp-micros", "long":
                return naive.map(_millis) if logical.endswith("millis") else naive
            case "uuid", "string":
                return st.uuids().map(str)
            case "decimal", "bytes" | "fixed":
                return self.decimal(schema)
        return None  # an unknown logical type: its underlying type, as the spec says

    def decimal(self, schema: Mapping[str, Any]) -> Any:
        precision = int(schema.get("precision", 10))
        scale = int(schema.get("scale", 0))
        if schema.get("type") == "fixed":  # `size` bytes hold at most this many digits
            precision = min(precision, len(str(2 ** (8 * int(schema["size"]) - 1))) - 1)
        limit = decimal.Decimal(10) ** (precision - scale) - decimal.Decimal(10) ** -scale
        return self.st.decimals(
            min_value=-limit, max_value=limit, places=scale, allow_nan=False, allow_infinity=False
        )


def _millis(value: dt.datetime) -> dt.datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def field_problem(schema: Any, name: str, value: Any) -> str | None:
    """Why ``value`` cannot be field ``name`` of the record ``schema``, or None."""
    from eventharness.schemas.validators import AvroValidator

    if not isinstance(schema, Mapping) or schema.get("type") not in ("record", "error"):
        return f"{name}: only a record's fields can be overridden"
    fields = {str(f["name"]): f for f in schema.get("fields", ())}
    if name not in fields:
        return f"the record has no field {name!r} (fields: {', '.join(fields) or 'none'})"
    probe = {
        "type": "record",
        "name": "Override",
        "namespace": schema.get("namespace", ""),
        "fields": [{"name": name, "type": fields[name]["type"]}],
    }
    try:
        violations = AvroValidator(probe).validate({name: value})
    except UsageError:
        return None  # the field names a type defined elsewhere in the schema: checked on use
    if violations:
        return f"{name}={value!r} does not conform: {violations[0].message}"
    return None


def avro_strategy(schema: Any, overrides: Mapping[str, Any] | None = None) -> Any:
    """A strategy of values of the Avro ``schema`` with ``overrides`` (values or strategies),
    each value already known to fit its field (see ``field_problem``)."""
    builder = _Builder()
    st = builder.st
    if not overrides:
        return builder.of(schema)
    fixed = {
        name: value if isinstance(value, st.SearchStrategy) else st.just(value)
        for name, value in overrides.items()
    }
    base = builder.of(schema)
    return st.tuples(base, st.fixed_dictionaries(fixed)).map(lambda p: {**p[0], **p[1]})
