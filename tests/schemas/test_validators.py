from __future__ import annotations

import datetime
import decimal
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from eventharness.model.errors import ConfigError, UsageError
from eventharness.schemas import (
    AvroValidator,
    JsonSchemaValidator,
    LocalSchemaStore,
    SchemaViolation,
    Validator,
    as_validator,
)

ORDER_JSON = {
    "type": "object",
    "required": ["order_id", "lines"],
    "properties": {
        "order_id": {"type": "string", "format": "uuid"},
        "total": {"type": "number", "minimum": 0},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "qty"],
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
            },
        },
    },
}

ORDER_AVRO = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "order_id", "type": "string"},
        {"name": "total", "type": "double"},
        {
            "name": "lines",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Line",
                    "fields": [{"name": "sku", "type": "string"}, {"name": "qty", "type": "int"}],
                },
            },
        },
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "attrs", "type": {"type": "map", "values": "long"}, "default": {}},
        {
            "name": "digest",
            "type": ["null", {"type": "fixed", "name": "Digest", "size": 4}],
            "default": None,
        },
        {
            "name": "placed",
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "default": 0,
        },
        {
            "name": "amount",
            "type": [
                "null",
                {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
            ],
            "default": None,
        },
        {"name": "ref", "type": {"type": "string", "logicalType": "uuid"}, "default": ""},
    ],
}

GOOD_ORDER = {
    "order_id": str(uuid.uuid4()),
    "total": 12.5,
    "lines": [{"sku": "A-1", "qty": 2}],
    "status": "NEW",
}


def paths(violations: list[SchemaViolation]) -> dict[str, str]:
    return {v.path: v.rule for v in violations}


# -- JSON Schema ---------------------------------------------------------------------------


def test_json_conforming_value_has_no_violations() -> None:
    assert JsonSchemaValidator(ORDER_JSON).validate(GOOD_ORDER) == []


def test_json_violations_name_the_field_path_and_rule() -> None:
    bad = {"order_id": "o-1", "total": -1, "lines": [{"sku": "A", "qty": "two"}, {"sku": "B"}]}
    found = JsonSchemaValidator(ORDER_JSON, name="shop.Order").validate(bad)
    assert paths(found) == {
        "$.order_id": "format",
        "$.total": "minimum",
        "$.lines[0].qty": "type",
        "$.lines[1].qty": "required",
    }
    by_path = {v.path: v for v in found}
    assert str(by_path["$.lines[0].qty"]) == "$.lines[0].qty: 'two' is not of type 'integer' (type)"


def test_json_missing_top_level_property() -> None:
    found = JsonSchemaValidator(ORDER_JSON).validate({"lines": []})
    assert [(v.path, v.rule, v.message) for v in found] == [
        ("$.order_id", "required", "required property is missing")
    ]


def test_json_dollar_schema_picks_the_draft() -> None:
    tuple_2020 = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "array",
        "prefixItems": [{"type": "integer"}],
    }
    assert paths(JsonSchemaValidator(tuple_2020).validate(["x"])) == {"$[0]": "type"}
    draft4 = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "array",
        "prefixItems": [{"type": "integer"}],
    }  # unknown keyword in draft 4: ignored
    assert JsonSchemaValidator(draft4).validate(["x"]) == []


def test_invalid_json_schema_is_refused_at_construction() -> None:
    with pytest.raises(UsageError) as info:
        JsonSchemaValidator({"type": "integr"}, name="shop.Order")
    assert "shop.Order" in str(info.value)
    assert "not a valid JSON Schema" in str(info.value)


# -- Avro ------------------------------------------------------------------------------------


def test_avro_conforming_value_has_no_violations() -> None:
    validator = AvroValidator(ORDER_AVRO)
    assert validator.validate(GOOD_ORDER) == []
    full = {
        **GOOD_ORDER,
        "note": "gift",
        "attrs": {"weight": 3},
        "digest": b"abcd",
        "placed": datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC),
        "amount": decimal.Decimal("12.50"),
        "ref": uuid.uuid4(),
    }
    assert validator.validate(full) == []


@pytest.mark.parametrize(
    ("change", "path", "rule"),
    [
        ({"total": "12"}, "$.total", "type"),
        ({"lines": [{"sku": "A", "qty": "two"}]}, "$.lines[0].qty", "type"),
        ({"lines": [{"sku": "A"}]}, "$.lines[0].qty", "required"),
        ({"lines": [{"sku": "A", "qty": 2**40}]}, "$.lines[0].qty", "avro:range"),
        ({"status": "LOST"}, "$.status", "avro:enum"),
        ({"note": 3}, "$.note", "avro:union"),
        ({"attrs": {"w": "heavy"}}, "$.attrs['w']", "type"),
        ({"digest": b"abc"}, "$.digest", "avro:union"),
        ({"lines": "A-1"}, "$.lines", "type"),
        ({"total": True}, "$.total", "type"),
    ],
)
def test_avro_violations_name_the_field_path_and_rule(
    change: dict[str, Any], path: str, rule: str
) -> None:
    found = AvroValidator(ORDER_AVRO).validate({**GOOD_ORDER, **change})
    assert paths(found) == {path: rule}


def test_avro_missing_field_without_default() -> None:
    value = dict(GOOD_ORDER)
    del value["status"]
    found = AvroValidator(ORDER_AVRO).validate(value)
    assert [(v.path, v.rule) for v in found] == [("$.status", "required")]


def test_avro_default_that_fastavro_cannot_write_is_reported_on_its_field() -> None:
    schema = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "d", "type": {"type": "fixed", "name": "D", "size": 2}, "default": "ab"}
        ],
    }
    found = AvroValidator(schema).validate({})
    assert [(v.path, v.rule) for v in found] == [("$.d", "avro:default")]
    assert AvroValidator(schema).validate({"d": b"ab"}) == []


def test_avro_union_reports_the_branch_that_nearly_matched() -> None:
    schema = ["null", {"type": "record", "name": "P", "fields": [{"name": "x", "type": "int"}]}]
    found = AvroValidator(schema).validate({"x": "one"})
    assert paths(found) == {"$.x": "type"}


def test_avro_recursive_named_reference() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [{"name": "v", "type": "int"}, {"name": "next", "type": ["null", "Node"]}],
    }
    validator = AvroValidator(node)
    assert validator.validate({"v": 1, "next": {"v": 2, "next": None}}) == []
    assert paths(validator.validate({"v": 1, "next": {"v": "2", "next": None}})) == {
        "$.next.v": "type"
    }


def test_invalid_avro_schema_is_refused() -> None:
    with pytest.raises(UsageError, match="Avro"):
        AvroValidator({"type": "record", "name": "R", "fields": [{"name": "x", "type": "nope"}]})


def test_never_raises_on_odd_values() -> None:
    for value in (None, 3, "text", b"\x00", [1, 2], object()):
        assert AvroValidator(ORDER_AVRO).validate(value)
        assert isinstance(JsonSchemaValidator(ORDER_JSON).validate(value), list)


# -- as_validator -----------------------------------------------------------------------------


def test_as_validator_dispatch(tmp_path: Path) -> None:
    assert isinstance(as_validator(ORDER_JSON), JsonSchemaValidator)
    assert isinstance(as_validator(ORDER_AVRO), AvroValidator)
    assert isinstance(as_validator(["null", "string"]), AvroValidator)
    existing = AvroValidator(ORDER_AVRO)
    assert as_validator(existing) is existing
    assert isinstance(existing, Validator)

    path = tmp_path / "order.avsc"
    path.write_text(json.dumps(ORDER_AVRO))
    from_file = as_validator(str(path))
    assert isinstance(from_file, AvroValidator)
    assert from_file.name == "order"

    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "shop.Order.json").write_text(json.dumps(ORDER_JSON))
    store = LocalSchemaStore(tmp_path / "store")
    found = as_validator("shop.Order", store)
    assert isinstance(found, JsonSchemaValidator)
    assert as_validator("shop.Order", store) is found  # compiled once


def test_as_validator_without_store_says_what_to_configure() -> None:
    with pytest.raises(ConfigError, match="no such file, and no schema folder or registry"):
        as_validator("shop.Order")
