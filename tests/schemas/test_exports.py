from __future__ import annotations

import eventharness.schemas as schemas


def test_all_names_exist_and_are_sorted() -> None:
    assert schemas.__all__ == sorted(schemas.__all__)
    for name in schemas.__all__:
        assert getattr(schemas, name) is not None, name


def test_schema_violation_str() -> None:
    violation = schemas.SchemaViolation("$.lines[0].qty", "type", "expected integer, got 'two'")
    assert str(violation) == "$.lines[0].qty: expected integer, got 'two' (type)"
