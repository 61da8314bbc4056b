"""Per-event conformance cost: our validators vs the bare libraries, one run, as ratios.

    .venv/bin/python -m tests.schemas.bench_validation

Not collected by pytest (timings are not tests). A ratio of 1.0 means our wrapper validates
as many events per second as calling the compiled jsonschema validator's ``is_valid`` / fastavro's
``validate`` directly; the target is >= 0.8.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

import jsonschema
from fastavro.validation import validate as fastavro_validate

from eventharness.schemas import AvroValidator, JsonSchemaValidator
from eventharness.schemas import avro as avro_codec

EVENT = {
    "event_id": "7d3f5f8e-2a8b-4c4e-9a51-0c1f7b1e9d11",
    "type": "OrderPlaced",
    "order_id": "o-123",
    "customer_id": "c-42",
    "total": 129.5,
    "currency": "EUR",
    "items": 3,
    "express": False,
    "placed_at": "2024-05-01T12:00:00Z",
    "note": None,
}
JSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["event_id", "type", "order_id", "customer_id", "total", "currency"],
    "properties": {
        "event_id": {"type": "string", "format": "uuid"},
        "type": {"const": "OrderPlaced"},
        "order_id": {"type": "string", "minLength": 1},
        "customer_id": {"type": "string"},
        "total": {"type": "number", "minimum": 0},
        "currency": {"enum": ["EUR", "USD", "GBP"]},
        "items": {"type": "integer", "minimum": 1},
        "express": {"type": "boolean"},
        "placed_at": {"type": "string", "format": "date-time"},
        "note": {"type": ["string", "null"]},
    },
}
AVRO_SCHEMA = {
    "type": "record",
    "name": "OrderPlaced",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "type", "type": "string"},
        {"name": "order_id", "type": "string"},
        {"name": "customer_id", "type": "string"},
        {"name": "total", "type": "double"},
        {"name": "currency", "type": {"type": "enum", "name": "Cur", "symbols": ["EUR", "USD"]}},
        {"name": "items", "type": "int"},
        {"name": "express", "type": "boolean"},
        {"name": "placed_at", "type": "string"},
        {"name": "note", "type": ["null", "string"]},
    ],
}


def rate(fn: Callable[[], object], number: int = 20000) -> float:
    best = min(timeit.repeat(fn, number=number, repeat=5))
    return number / best


def main() -> None:
    cls = jsonschema.validators.validator_for(JSON_SCHEMA)
    bare_json = cls(JSON_SCHEMA, format_checker=cls.FORMAT_CHECKER)
    ours_json = JsonSchemaValidator(JSON_SCHEMA)
    assert bare_json.is_valid(EVENT) and ours_json.validate(EVENT) == []

    parsed = avro_codec.parse(AVRO_SCHEMA)
    ours_avro = AvroValidator(AVRO_SCHEMA)
    assert fastavro_validate(EVENT, parsed, raise_errors=False)
    assert ours_avro.validate(EVENT) == []

    rows = [
        (
            "JSON Schema",
            rate(lambda: bare_json.is_valid(EVENT)),
            rate(lambda: ours_json.validate(EVENT)),
        ),
        (
            "Avro",
            rate(lambda: fastavro_validate(EVENT, parsed, raise_errors=False)),
            rate(lambda: ours_avro.validate(EVENT)),
        ),
    ]
    for name, bare, ours in rows:
        print(f"{name:12} bare {bare:>10,.0f}/s  ours {ours:>10,.0f}/s  ratio {ours / bare:.2f}")


if __name__ == "__main__":
    main()
