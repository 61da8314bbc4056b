"""Schemas: where they live, how payloads are encoded, conformance and compatibility.

* **Sources** — :class:`LocalSchemaStore`, a folder laid out by subject::

      schemas/
        shop.OrderPlaced.avsc      subject "shop.OrderPlaced", a single version
        shop.Refunded.json         a JSON Schema subject
        orders-value/              a subject with history: 1.avsc, 2.avsc, ... (highest = latest)

  and :class:`RegistryClient`, the Confluent Schema Registry REST API. Both turn a reference
  (``subject`` for the latest version, ``subject@2`` for one version) into a validator.
* **Codecs** — :func:`encode_payload` / :func:`decode_payload`: JSON, Avro binary, and the
  Confluent wire format (magic byte 0, 4-byte big-endian schema id, payload).
* **Conformance** — :class:`JsonSchemaValidator`, :class:`AvroValidator`; violations name the
  field path and the rule broken.
* **Compatibility** — :func:`check_compatibility` for every registry mode, Avro and JSON Schema.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from eventharness.schemas.compat import Incompatibility, check_compatibility
from eventharness.schemas.store import (
    LocalSchemaStore,
    SchemaStore,
    StoredSchema,
    as_validator,
    load_file,
)
from eventharness.schemas.validators import (
    AvroValidator,
    JsonSchemaValidator,
    SchemaViolation,
    Validator,
)
from eventharness.schemas.wire import decode_payload, encode_payload, schema_id_of

if TYPE_CHECKING:  # imported on first use: the registry client needs httpx, a folder does not
    from eventharness.schemas.registry import (
        RegistryClient,
        RegistryError,
        RegistryUnavailable,
        SchemaNotFound,
    )

_REGISTRY = frozenset({"RegistryClient", "RegistryError", "RegistryUnavailable", "SchemaNotFound"})


def __getattr__(name: str) -> Any:
    if name in _REGISTRY:
        return getattr(importlib.import_module("eventharness.schemas.registry"), name)
    raise AttributeError(f"module 'eventharness.schemas' has no attribute {name!r}")


__all__ = [
    "AvroValidator",
    "Incompatibility",
    "JsonSchemaValidator",
    "LocalSchemaStore",
    "RegistryClient",
    "RegistryError",
    "RegistryUnavailable",
    "SchemaNotFound",
    "SchemaStore",
    "SchemaViolation",
    "StoredSchema",
    "Validator",
    "as_validator",
    "check_compatibility",
    "decode_payload",
    "encode_payload",
    "load_file",
    "schema_id_of",
]
