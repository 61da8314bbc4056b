"""Generated values conform to their schemas, checked by independent oracles on 10,000 samples
per example schema: fastavro's validator for Avro, the jsonschema package for JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from fastavro import parse_schema
from fastavro.validation import validate as avro_valid

import eventharness as eh
from eventharness.model.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "examples" / "shop" / "schemas"
HERE = Path(__file__).parent / "schemas"
SAMPLES = 10_000
SAMPLING_TIMEOUT = 600  # 10,000 draws take ~20 s alone; a busy 2-core machine takes far longer


@pytest.mark.timeout(SAMPLING_TIMEOUT)
@pytest.mark.parametrize("path", sorted(SHOP.glob("*.json")), ids=lambda p: p.stem)
def test_json_schema_values_all_validate(path: Path) -> None:
    schema = json.loads(path.read_text())
    oracle = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    values = eh.data.from_schema(path.stem, schemas=str(SHOP)).sample(SAMPLES, seed=1)
    assert len(values) == SAMPLES
    bad = [v for v in values if not oracle.is_valid(v)]
    assert bad == []
    assert len({json.dumps(v, sort_keys=True) for v in values}) > SAMPLES // 2  # not one value


@pytest.mark.timeout(SAMPLING_TIMEOUT)
def test_avro_values_all_validate() -> None:
    parsed = parse_schema(json.loads((HERE / "shop.Invoice.avsc").read_text()))
    values = eh.data.from_schema("shop.Invoice", schemas=str(HERE)).sample(SAMPLES, seed=2)
    assert len(values) == SAMPLES
    assert [v for v in values if not avro_valid(v, parsed, raise_errors=False)] == []
    # every kind of branch is reached: unions take each side, the nested optional record too
    assert {v["note"] is None for v in values} == {True, False}
    assert {type(v["items"][0]["price"]) for v in values if v["items"]} >= {int, float, str}
    assert any(v["customer"]["address"] is not None for v in values)


def test_same_seed_same_values_and_overrides_hold() -> None:
    orders = eh.data.from_schema("shop.OrderPlaced", schemas=str(SHOP), total=42)
    first, again = orders.sample(50, seed=9), orders.sample(50, seed=9)
    assert first == again
    assert {v["total"] for v in first} == {42}
    assert orders.sample(50, seed=10) != first


def test_override_that_breaks_the_schema_is_refused() -> None:
    with pytest.raises(UsageError, match=r"total=-1 does not conform"):
        eh.data.from_schema("shop.OrderPlaced", schemas=str(SHOP), total=-1)
    with pytest.raises(UsageError, match=r"no property 'totl'"):
        eh.data.from_schema("shop.OrderPlaced", schemas=str(SHOP), totl=1)
    with pytest.raises(UsageError, match=r"lines='x' does not conform"):
        eh.data.from_schema("shop.Invoice", schemas=str(HERE), lines="x")


def test_an_override_can_be_a_strategy_and_is_drawn_from() -> None:
    from hypothesis import strategies as st

    orders = eh.data.from_schema("shop.OrderPlaced", schemas=str(SHOP), total=st.integers(1, 3))
    assert {v["total"] for v in orders.sample(50, seed=3)} <= {1, 2, 3}


def test_unknown_subject_names_the_known_ones() -> None:
    with pytest.raises(eh.ConfigError, match=r"shop\.Nope.*shop\.OrderPlaced"):
        eh.data.from_schema("shop.Nope", schemas=str(SHOP))


@pytest.mark.parametrize("violation", eh.data.VIOLATIONS)
@pytest.mark.parametrize(
    ("subject", "folder"), [("shop.OrderPlaced", SHOP), ("shop.Invoice", HERE)]
)
def test_invalid_values_break_the_schema_in_the_named_way(
    violation: str, subject: str, folder: Path
) -> None:
    bad = eh.data.invalid(subject, violation, schemas=str(folder))
    values = bad.sample(200, seed=3)
    field = bad.field  # type: ignore[attr-defined]
    for value in values:
        assert bad.validator.validate(value)
        if violation == "missing":
            assert field not in value
        else:
            assert field in value
    if subject == "shop.OrderPlaced" and violation == "out-of-range":
        assert field == "total"
        assert {v["total"] for v in values} == {-1}


def test_unknown_violation_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError, match="missing, wrong-type, out-of-range"):
        eh.data.invalid("shop.OrderPlaced", "upside-down", schemas=str(SHOP))


def test_default_store_is_the_profiles_schema_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    value = eh.data.from_schema("shop.PaymentAuthorized").example(seed=4)
    assert value["type"] == "PaymentAuthorized"
