"""Payload codecs: JSON, Avro binary, and Confluent's wire format around either.

The Confluent wire format is one magic byte ``0``, the schema id as 4 bytes big-endian, then the
payload: Avro binary for Avro schemas, UTF-8 JSON for JSON Schemas. :func:`decode_payload`
recognises it by the magic byte (JSON text never starts with a zero byte) and asks a resolver
(usually :meth:`RegistryClient.schema_by_id`) for the writer's schema.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Mapping
from typing import Any

from eventharness.model.events import encode_value, preview
from eventharness.schemas import avro
from eventharness.schemas.validators import AvroValidator, JsonSchemaValidator

__all__ = [
    "MAGIC",
    "Resolver",
    "decode_payload",
    "encode_payload",
    "schema_id_of",
    "writer_schema",
]

MAGIC = 0
_HEADER = struct.Struct(">bI")

Resolver = Callable[[int], Any]


def writer_schema(schema: Any) -> tuple[str, Any]:
    """(``"avro"`` | ``"json"``, schema) for a validator, a stored/registered schema or a schema."""
    if isinstance(schema, AvroValidator):
        return "avro", schema.parsed
    if isinstance(schema, JsonSchemaValidator):
        return "json", schema.schema
    kind = getattr(schema, "kind", None)
    if kind in ("avro", "json"):
        return kind, schema.schema
    loaded = avro.load_json(schema)
    if isinstance(loaded, Mapping) and loaded.get("__fastavro_parsed"):
        return "avro", loaded
    return ("avro" if avro.is_avro(loaded) else "json"), loaded


def encode_payload(value: Any, schema: Any = None, schema_id: int | None = None) -> bytes:
    """Bytes for ``value``: Avro binary for an Avro schema, JSON otherwise.

    With ``schema_id`` the bytes are framed in the Confluent wire format.
    """
    if schema is None:
        body = encode_value(value)
    else:
        kind, resolved = writer_schema(schema)
        body = avro.encode(value, resolved) if kind == "avro" else encode_value(value)
    if schema_id is None:
        return body
    return _HEADER.pack(MAGIC, schema_id) + body


def schema_id_of(raw: bytes) -> int | None:
    """The schema id when ``raw`` is in the Confluent wire format, else None."""
    if len(raw) >= _HEADER.size and raw[0] == MAGIC:
        return int(_HEADER.unpack_from(raw)[1])
    return None


def decode_payload(raw: bytes, resolver: Resolver | None = None) -> tuple[Any, str | None]:
    """Decode what a channel delivered: ``(value, None)``, or ``(best effort, why not)``.

    Never raises: a payload that cannot be decoded comes back with a reason that includes a
    preview of its first bytes.
    """
    schema_id = schema_id_of(raw)
    if schema_id is None:
        return _decode_plain(raw)
    body = raw[_HEADER.size :]
    where = f"Confluent wire format, schema id {schema_id}"
    if resolver is None:
        return raw, (
            f"{where}, but no schema registry is configured to look the id up "
            f"({len(raw)} bytes: {preview(raw)})"
        )
    try:
        kind, schema = writer_schema(resolver(schema_id))
    except Exception as exc:
        return (
            raw,
            f"{where}: cannot get the writer schema: {exc} ({len(raw)} bytes: {preview(raw)})",
        )
    try:
        if kind == "avro":
            return avro.decode(body, schema), None
        return json.loads(body), None
    except Exception as exc:
        what = "Avro" if kind == "avro" else "JSON"
        return raw, (
            f"{where}: payload is not valid {what} for that schema: {exc} "
            f"({len(raw)} bytes: {preview(raw)})"
        )


def _decode_plain(raw: bytes) -> tuple[Any, str | None]:
    """JSON when it parses, else the text; bytes that are not UTF-8 come back with a reason."""
    if not raw:
        return None, None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return (
            raw,
            f"not UTF-8 text and not in a schema wire format ({len(raw)} bytes: {preview(raw)})",
        )
    try:
        return json.loads(text), None
    except ValueError:
        return text, None
