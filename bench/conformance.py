"""Conformance checking: the harness validators vs the bare libraries, per valid event.

A typical 10-field event (strings, a number, an enum, a nested array of records) and its schema
in both languages. Harness: ``JsonSchemaValidator(schema).validate(value)`` and
``AvroValidator(schema).validate(value)`` from :mod:`eventharness.schemas`. Baselines: a compiled
jsonschema validator, ``validator_for(schema)(schema, format_checker=cls.FORMAT_CHECKER)``
(the same checks the harness makes; the schema uses no ``format`` so this changes nothing), with
``is_valid``; and ``fastavro.validation.validate(value, parse_schema(schema), raise_errors=False)``.
Both sides check the same pre-built list of distinct valid events; best of several passes.
Ratio = harness rate / baseline rate (target ≥ 0.8).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from bench.common import Context, Row, event_value, now

JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "type",
        "event_id",
        "order_id",
        "customer_id",
        "total",
        "currency",
        "items",
        "status",
        "placed_at",
        "version",
    ],
    "properties": {
        "type": {"const": "OrderPlaced"},
        "event_id": {"type": "string", "minLength": 1},
        "order_id": {"type": "string", "pattern": "^o-[0-9]+$"},
        "customer_id": {"type": "string"},
        "total": {"type": "number", "minimum": 0},
        "currency": {"enum": ["EUR", "USD", "GBP"]},
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["sku", "qty"],
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
            },
        },
        "status": {"enum": ["NEW", "PAID", "SHIPPED"]},
        "placed_at": {"type": "string"},
        "version": {"type": "integer"},
    },
    "additionalProperties": False,
}

AVRO_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "OrderPlaced",
    "namespace": "shop",
    "fields": [
        {"name": "type", "type": "string"},
        {"name": "event_id", "type": "string"},
        {"name": "order_id", "type": "string"},
        {"name": "customer_id", "type": "string"},
        {"name": "total", "type": "double"},
        {
            "name": "currency",
            "type": {"type": "enum", "name": "Currency", "symbols": ["EUR", "USD", "GBP"]},
        },
        {
            "name": "items",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Line",
                    "fields": [{"name": "sku", "type": "string"}, {"name": "qty", "type": "int"}],
                },
            },
        },
        {
            "name": "status",
            "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED"]},
        },
        {"name": "placed_at", "type": "string"},
        {"name": "version", "type": "int"},
    ],
}


async def run(ctx: Context) -> list[Row]:
    import jsonschema
    from fastavro import parse_schema
    from fastavro.validation import validate as fastavro_validate

    from eventharness.schemas import AvroValidator, JsonSchemaValidator

    n = ctx.size(20_000, 1_000)
    passes = 2 if ctx.quick else 5
    values = [event_value(i) for i in range(n)]

    harness_json = JsonSchemaValidator(JSON_SCHEMA, name="shop.OrderPlaced")
    cls = jsonschema.validators.validator_for(JSON_SCHEMA)
    bare_json = cls(JSON_SCHEMA, format_checker=cls.FORMAT_CHECKER)

    harness_avro = AvroValidator(AVRO_SCHEMA, name="shop.OrderPlaced")
    parsed = parse_schema(AVRO_SCHEMA)

    def bare_avro(value: Any) -> bool:
        return bool(fastavro_validate(value, parsed, raise_errors=False))

    rows = []
    for label, harness_check, bare_check in (
        ("conformance JSON Schema", lambda v: not harness_json.validate(v), bare_json.is_valid),
        ("conformance Avro", lambda v: not harness_avro.validate(v), bare_avro),
    ):
        h_rate = _rate(harness_check, values, passes)
        b_rate = _rate(bare_check, values, passes)
        rows.append(
            Row(
                name=label,
                harness=h_rate,
                unit="ev/s",
                baseline=b_rate,
                baseline_unit="ev/s",
                ratio=h_rate / b_rate,
                measure=h_rate / b_rate,
                target=0.8,
                sense=">=",
                notes={"events": n, "passes": passes},
            )
        )
    return rows


def _rate(check: Callable[[Any], bool], values: list[Any], passes: int) -> float:
    if not all(check(v) for v in values[:10]):
        raise RuntimeError("the benchmark's events must be valid")
    best = float("inf")
    for _ in range(passes):
        gc.collect()
        start = now()
        for value in values:
            check(value)
        best = min(best, now() - start)
    return len(values) / best
