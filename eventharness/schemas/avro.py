"""Avro through fastavro: parsing (cached), binary encoding and decoding, kind detection.

fastavro is an optional dependency (``pip install 'eventharness[avro]'``); it is imported on
first use, so JSON-only users never need it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from eventharness.model.errors import MissingDependency, UsageError

__all__ = [
    "AVRO_ONLY",
    "NAMED",
    "PRIMITIVES",
    "decode",
    "encode",
    "fastavro_module",
    "is_avro",
    "load_json",
    "parse",
]

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED = frozenset({"record", "error", "enum", "fixed"})
AVRO_ONLY = frozenset({"int", "long", "float", "double", "bytes"})


def fastavro_module() -> Any:
    try:
        import fastavro
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingDependency("Avro schemas", "fastavro", "avro") from exc
    return fastavro


def is_avro(schema: Any) -> bool:
    """True for what only Avro would write: a named type, a union, an Avro type name.

    ``{"type": "string"}`` and friends are read as JSON Schema: both languages spell them the
    same, and JSON Schema is the more common meaning of a bare mapping.
    """
    if isinstance(schema, str):
        return schema in PRIMITIVES
    if isinstance(schema, list):
        return True
    if not isinstance(schema, Mapping):
        return False
    kind = schema.get("type")
    if kind in NAMED:
        return "fields" in schema or "symbols" in schema or "size" in schema
    if kind == "map":
        return "values" in schema
    if kind == "array":
        items = schema.get("items")
        return isinstance(items, str) or (items is not None and is_avro(items))
    return kind in AVRO_ONLY


def _canonical_text(schema: Any) -> str:
    if isinstance(schema, str) and schema.lstrip().startswith(("{", "[", '"')):
        return json.dumps(json.loads(schema), sort_keys=True)
    return json.dumps(schema, sort_keys=True, default=str)


@lru_cache(maxsize=512)
def _parse_text(text: str) -> Any:
    fastavro = fastavro_module()
    try:
        return fastavro.parse_schema(json.loads(text))
    except Exception as exc:
        raise UsageError(f"invalid Avro schema: {exc}") from exc


def parse(schema: Any) -> Any:
    """A fastavro-parsed schema, parsed once per distinct schema (JSON text or object)."""
    if isinstance(schema, Mapping) and schema.get("__fastavro_parsed"):
        return schema
    try:
        text = _canonical_text(schema)
    except ValueError as exc:
        raise UsageError(f"invalid Avro schema (not JSON): {exc}") from exc
    return _parse_text(text)


def load_json(schema: Any) -> Any:
    """An Avro or JSON schema given as JSON text, as objects; anything else unchanged."""
    if isinstance(schema, str) and schema.lstrip().startswith(("{", "[")):
        return json.loads(schema)
    return schema


def encode(value: Any, schema: Any) -> bytes:
    """Avro binary, no header (what Confluent's wire format carries after the schema id)."""
    fastavro = fastavro_module()
    out = io.BytesIO()
    fastavro.schemaless_writer(out, parse(schema), value)
    return out.getvalue()


def decode(data: bytes, writer: Any, reader: Any | None = None) -> Any:
    """Decode Avro binary; the whole buffer must be consumed."""
    fastavro = fastavro_module()
    buf = io.BytesIO(data)
    value = fastavro.schemaless_reader(
        buf, parse(writer), parse(reader) if reader is not None else None
    )
    rest = len(data) - buf.tell()
    if rest:
        raise ValueError(f"{rest} bytes left over after the Avro value")
    return value
