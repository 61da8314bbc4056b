"""Avro compatibility: each resolution rule of the spec, both ways, and every mode."""

from __future__ import annotations

from typing import Any

import pytest

from eventharness.model.errors import UsageError
from eventharness.schemas.avro_compat import reader_problems
from eventharness.schemas.compat import MODES, check_compatibility


def rec(*fields: dict[str, Any], name: str = "Order", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def f(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "Status", "symbols": list(symbols), **extra}


def fixed(size: int, name: str = "Digest") -> dict[str, Any]:
    return {"type": "fixed", "name": name, "size": size}


TS_MILLIS = {"type": "long", "logicalType": "timestamp-millis"}
TS_MICROS = {"type": "long", "logicalType": "timestamp-micros"}
ADDRESS = rec(f("street", "string"), f("zip", "int"), name="Address")

# (case, writer, reader, expected [(path, rule)] -- [] means the reader can read the writer)
CASES: list[tuple[str, Any, Any, list[tuple[str, str]]]] = [
    ("same", rec(f("id", "string")), rec(f("id", "string")), []),
    (
        "field added with default",
        rec(f("id", "string")),
        rec(f("id", "string"), f("n", "int", default=0)),
        [],
    ),
    (
        "field added without default",
        rec(f("id", "string")),
        rec(f("id", "string"), f("n", "int")),
        [("$.n", "field:missing-default")],
    ),
    ("field removed", rec(f("id", "string"), f("n", "int")), rec(f("id", "string")), []),
    ("int to long", rec(f("n", "int")), rec(f("n", "long")), []),
    ("int to float", rec(f("n", "int")), rec(f("n", "float")), []),
    ("int to double", rec(f("n", "int")), rec(f("n", "double")), []),
    ("long to float", rec(f("n", "long")), rec(f("n", "float")), []),
    ("long to double", rec(f("n", "long")), rec(f("n", "double")), []),
    ("float to double", rec(f("n", "float")), rec(f("n", "double")), []),
    ("long to int", rec(f("n", "long")), rec(f("n", "int")), [("$.n", "type")]),
    ("double to float", rec(f("n", "double")), rec(f("n", "float")), [("$.n", "type")]),
    ("int to string", rec(f("n", "int")), rec(f("n", "string")), [("$.n", "type")]),
    ("string to bytes", rec(f("s", "string")), rec(f("s", "bytes")), []),
    ("bytes to string", rec(f("s", "bytes")), rec(f("s", "string")), []),
    ("boolean to int", rec(f("b", "boolean")), rec(f("b", "int")), [("$.b", "type")]),
    ("enum symbol added", rec(f("s", enum("A", "B"))), rec(f("s", enum("A", "B", "C"))), []),
    (
        "enum symbol removed, no default",
        rec(f("s", enum("A", "B", "C"))),
        rec(f("s", enum("A", "B"))),
        [("$.s", "enum:missing-symbol")],
    ),
    (
        "enum symbol removed, reader default",
        rec(f("s", enum("A", "B", "C"))),
        rec(f("s", enum("A", "B", default="A"))),
        [],
    ),
    (
        "enum renamed",
        rec(f("s", enum("A"))),
        rec(f("s", {**enum("A"), "name": "State"})),
        [("$.s", "name")],
    ),
    (
        "enum renamed with alias",
        rec(f("s", enum("A"))),
        rec(f("s", {**enum("A"), "name": "State", "aliases": ["Status"]})),
        [],
    ),
    ("fixed same", rec(f("d", fixed(4))), rec(f("d", fixed(4))), []),
    ("fixed resized", rec(f("d", fixed(4))), rec(f("d", fixed(8))), [("$.d", "fixed:size")]),
    ("union widened", rec(f("n", ["null", "string"])), rec(f("n", ["null", "string", "int"])), []),
    (
        "union narrowed",
        rec(f("n", ["null", "string", "int"])),
        rec(f("n", ["null", "string"])),
        [("$.n", "union:missing-branch")],
    ),
    (
        "optional made required",
        rec(f("n", ["null", "string"])),
        rec(f("n", "string")),
        [("$.n", "type")],
    ),
    ("required made optional", rec(f("n", "string")), rec(f("n", ["null", "string"])), []),
    ("union branch promoted", rec(f("n", "int")), rec(f("n", ["null", "long"])), []),
    (
        "nested record field",
        rec(f("to", ADDRESS)),
        rec(f("to", rec(f("street", "string"), f("zip", "string"), name="Address"))),
        [("$.to.zip", "type")],
    ),
    (
        "nested record field added",
        rec(f("to", ADDRESS)),
        rec(
            f(
                "to",
                rec(f("street", "string"), f("zip", "int"), f("city", "string"), name="Address"),
            )
        ),
        [("$.to.city", "field:missing-default")],
    ),
    (
        "array items promoted",
        rec(f("xs", {"type": "array", "items": "int"})),
        rec(f("xs", {"type": "array", "items": "long"})),
        [],
    ),
    (
        "array items narrowed",
        rec(f("xs", {"type": "array", "items": "long"})),
        rec(f("xs", {"type": "array", "items": "int"})),
        [("$.xs[]", "type")],
    ),
    (
        "array of records",
        rec(f("xs", {"type": "array", "items": ADDRESS})),
        rec(f("xs", {"type": "array", "items": rec(f("street", "string"), name="Address")})),
        [],
    ),
    (
        "map values narrowed",
        rec(f("m", {"type": "map", "values": "double"})),
        rec(f("m", {"type": "map", "values": "float"})),
        [("$.m{}", "type")],
    ),
    (
        "array became map",
        rec(f("m", {"type": "array", "items": "int"})),
        rec(f("m", {"type": "map", "values": "int"})),
        [("$.m", "type")],
    ),
    (
        "record renamed",
        rec(f("id", "string")),
        rec(f("id", "string"), name="Purchase"),
        [("$", "name")],
    ),
    (
        "record renamed with alias",
        rec(f("id", "string")),
        rec(f("id", "string"), name="Purchase", aliases=["Order"]),
        [],
    ),
    (
        "namespaces ignored for names",
        rec(f("id", "string"), namespace="a"),
        rec(f("id", "string"), namespace="b"),
        [],
    ),
    (
        "field renamed with alias",
        rec(f("id", "string")),
        rec(f("order_id", "string", aliases=["id"])),
        [],
    ),
    (
        "field renamed without alias",
        rec(f("id", "string")),
        rec(f("order_id", "string")),
        [("$.order_id", "field:missing-default")],
    ),
    ("logical type added", rec(f("t", "long")), rec(f("t", TS_MILLIS)), []),
    ("logical type removed", rec(f("t", TS_MILLIS)), rec(f("t", "long")), []),
    (
        "logical unit changed",
        rec(f("t", TS_MILLIS)),
        rec(f("t", TS_MICROS)),
        [("$.t", "logical-type")],
    ),
    (
        "decimal scale changed",
        rec(f("a", {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2})),
        rec(f("a", {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 3})),
        [("$.a", "decimal:scale")],
    ),
    (
        "decimal precision widened",
        rec(f("a", {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2})),
        rec(f("a", {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2})),
        [],
    ),
    (
        "named reference resolved",
        rec(f("ship", ADDRESS), f("bill", "Address")),
        rec(f("ship", ADDRESS), f("bill", rec(f("street", "bytes"), name="Address"))),
        [],
    ),
    (
        "named reference narrowed",
        rec(f("ship", ADDRESS), f("bill", "Address")),
        rec(
            f("ship", rec(f("street", "string"), f("zip", "int"), name="Address")),
            f(
                "bill",
                rec(f("street", "string"), f("zip", "string"), name="Addr2", aliases=["Address"]),
            ),
        ),
        [("$.bill.zip", "type")],
    ),
    (
        "recursive type",
        rec(f("v", "int"), f("next", ["null", "Order"])),
        rec(f("v", "long"), f("next", ["null", "Order"])),
        [],
    ),
    ("top-level primitive promoted", "int", "long", []),
    ("top-level union to primitive", ["null", "int"], "int", [("$", "type")]),
]


@pytest.mark.parametrize(("case", "writer", "reader", "expected"), CASES, ids=[c[0] for c in CASES])
def test_resolution_rules(
    case: str, writer: Any, reader: Any, expected: list[tuple[str, str]]
) -> None:
    found = reader_problems(reader, writer)
    assert [(p.path, p.rule) for p in found] == expected, [p.message for p in found]


def test_messages_say_why() -> None:
    (problem,) = reader_problems(rec(f("id", "string"), f("n", "int")), rec(f("id", "string")))
    assert (
        problem.message
        == "the reader's field 'n' is not in the writer's record Order and has no default"
    )
    (problem,) = reader_problems(rec(f("n", "int")), rec(f("n", "long")))
    assert "long cannot be read as int (it can be read as double, float)" in problem.message


V1 = rec(f("id", "string"))
V2 = rec(f("id", "string"), f("n", "int", default=0))
V3 = rec(f("id", "string"), f("n", "int"))  # n now without default: reads v2 data, not v1's


@pytest.mark.parametrize(
    ("mode", "new", "olds", "expected"),
    [
        ("NONE", rec(f("x", "boolean")), [V1, V2], []),
        ("BACKWARD", V3, [V1, V2], []),
        ("BACKWARD_TRANSITIVE", V3, [V1, V2], [("backward", 0, "$.n")]),
        ("FORWARD", V1, [V2], []),
        ("FORWARD", V3, [V1], []),
        ("FORWARD", rec(f("id", "string")), [V3], [("forward", 0, "$.n")]),
        ("FORWARD_TRANSITIVE", V1, [V3, V2], [("forward", 0, "$.n")]),
        ("FULL", V2, [V1], []),
        ("FULL", V3, [V1], [("backward", 0, "$.n")]),
        ("FULL", V1, [V3], [("forward", 0, "$.n")]),
        ("FULL_TRANSITIVE", V1, [V3, V1], [("forward", 0, "$.n")]),
        ("FULL_TRANSITIVE", V2, [V3, V1], []),
        ("full_transitive", V2, [V1, V2], []),
    ],
)
def test_modes(mode: str, new: Any, olds: list[Any], expected: list[tuple[str, int, str]]) -> None:
    found = check_compatibility(new, olds, mode)
    assert [(i.direction, i.against, i.path) for i in found] == expected


def test_every_mode_is_covered() -> None:
    assert set(MODES) == {
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
        "NONE",
    }


def test_incompatibility_text_says_direction() -> None:
    (found,) = check_compatibility(V3, [V1], "BACKWARD")
    assert str(found) == (
        "$.n: the reader's field 'n' is not in the writer's record Order and has no default "
        "[backward: new schema reading old data] (field:missing-default)"
    )


def test_unknown_mode_and_kind() -> None:
    with pytest.raises(
        UsageError, match="unknown compatibility mode 'SIDEWAYS': use one of BACKWARD"
    ):
        check_compatibility(V1, [V1], "SIDEWAYS")
    with pytest.raises(UsageError, match="unknown schema kind"):
        check_compatibility(V1, [V1], "FULL", kind="proto")


def test_schemas_as_json_text() -> None:
    import json

    assert check_compatibility(json.dumps(V3), [json.dumps(V1)], "BACKWARD") != []
