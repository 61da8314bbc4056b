"""Matching rules one by one, path weighting, combine, and generators."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from eventharness.contracts import compare_json, generate, parse_matching_rules
from eventharness.contracts.compare import compare_metadata
from eventharness.contracts.generators import parse_generators
from eventharness.contracts.paths import format_path, parse_path, path_weight
from eventharness.contracts.rules import RuleList


def _rules(raw: dict[str, Any]) -> dict[str, RuleList]:
    return dict(parse_matching_rules({"body": raw}, "test").category("body"))


def _one(matcher: dict[str, Any]) -> dict[str, RuleList]:
    return _rules({"$.v": {"matchers": [matcher]}})


@pytest.mark.parametrize(
    ("matcher", "example", "good", "bad"),
    [
        ({"match": "equality"}, 1, 1, True),
        ({"match": "regex", "regex": "\\d+"}, "12", "345", "12a"),
        ({"match": "type"}, "x", "y", 1),
        ({"match": "include", "value": "ru"}, "rush", "a rush", "slow"),
        ({"match": "integer"}, 1, 7, 1.5),
        ({"match": "decimal"}, 1.5, 2.0, 2),
        ({"match": "number"}, 1, 2.5, "2"),
        ({"match": "null"}, None, None, 0),
        ({"match": "boolean"}, True, False, 1),
        ({"match": "date", "format": "yyyy-MM-dd"}, "2024-01-02", "2025-12-31", "31/12/2025"),
        ({"match": "time", "format": "HH:mm:ss"}, "10:00:00", "23:59:01", "25:00:00"),
        (
            {"match": "datetime", "format": "yyyy-MM-dd'T'HH:mm:ss"},
            "2024-01-02T10:00:00",
            "2025-01-02T11:12:13",
            "2025-01-02 11:12:13",
        ),
        ({"match": "timestamp", "timestamp": "yyyy-MM-dd"}, "2024-01-02", "2024-02-03", "x"),
        ({"match": "notEmpty"}, "x", "y", ""),
        ({"match": "semver"}, "1.0.0", "2.10.3-rc.1", "1.0"),
        ({"match": "contentType", "value": "application/json"}, "{}", '{"a": 1}', "plain"),
    ],
)
def test_each_matcher(matcher: dict[str, Any], example: Any, good: Any, bad: Any) -> None:
    rules = _one(matcher)
    assert compare_json({"v": example}, {"v": good}, rules) == []
    (found,) = compare_json({"v": example}, {"v": bad}, rules)
    assert found.path == "$.v" and found.actual == bad and found.rule.startswith(matcher["match"])


def test_type_with_min_and_max_and_array_items() -> None:
    rules = _rules({"$.a": {"matchers": [{"match": "type", "min": 1, "max": 2}]}})
    assert compare_json({"a": [1]}, {"a": [5, 6]}, rules) == []
    assert [m.message for m in compare_json({"a": [1]}, {"a": []}, rules)] == [
        "expected at least 1 item(s), got 0"
    ]
    assert compare_json({"a": [1]}, {"a": [1, 2, 3]}, rules)[0].message.startswith(
        "expected at most"
    )
    assert [m.path for m in compare_json({"a": [1]}, {"a": [1, "x"]}, rules)] == ["$.a[1]"]


def test_the_most_specific_rule_wins() -> None:
    rules = _rules(
        {
            "$.a": {"matchers": [{"match": "type"}]},
            "$.a[*].*": {"matchers": [{"match": "type"}]},
            "$.a[*].id": {"matchers": [{"match": "regex", "regex": "id-\\d"}]},
            "$['x.y']": {"matchers": [{"match": "integer"}]},
        }
    )
    expected = {"a": [{"id": "id-1", "n": "x"}], "x.y": 1}
    assert compare_json(expected, {"a": [{"id": "id-2", "n": "y"}], "x.y": 3}, rules) == []
    found = compare_json(expected, {"a": [{"id": "nope", "n": 1}], "x.y": 1.5}, rules)
    assert sorted(m.path for m in found) == ["$.a[0].id", "$.a[0].n", "$['x.y']"]


def test_path_weights() -> None:
    def weight(expr: str, *path: str | int) -> int:
        return path_weight(parse_path(expr), list(path))

    assert weight("$.a.b", "a", "b") == 8
    assert weight("$.a.*", "a", "b") == 4
    assert weight("$.a[*]", "a", 0) == 4
    assert weight("$.a[*]", "a", "b") == 0
    assert weight("$.a", "a", "b") == 4  # a shorter expression reaches what lies beneath
    assert weight("$['x.y']", "x.y") == 4
    assert weight("$.a.b.c", "a", "b") == 0
    assert format_path(["a", 0, "x.y"]) == "$.a[0]['x.y']"


def test_combine_or_and_and() -> None:
    either = _rules(
        {"$.v": {"combine": "OR", "matchers": [{"match": "integer"}, {"match": "null"}]}}
    )
    assert compare_json({"v": 1}, {"v": None}, either) == []
    assert len(compare_json({"v": 1}, {"v": "x"}, either)) == 2
    both = _rules({"$.v": {"matchers": [{"match": "integer"}, {"match": "regex", "regex": "1."}]}})
    assert [m.rule.split()[0] for m in compare_json({"v": 10}, {"v": 3}, both)] == ["regex"]


def test_values_each_key_each_value_and_array_contains() -> None:
    values = _rules(
        {"$.m": {"matchers": [{"match": "values"}]}, "$.m.*": {"matchers": [{"match": "type"}]}}
    )
    assert compare_json({"m": {"a": 1}}, {"m": {"x": 2, "y": 3}}, values) == []
    each_key = _rules(
        {
            "$.m": {
                "matchers": [{"match": "eachKey", "rules": [{"match": "regex", "regex": "[a-z]+"}]}]
            }
        }
    )
    assert [m.path for m in compare_json({"m": {"a": 1}}, {"m": {"ok": 1, "B1": 1}}, each_key)] == [
        "$.m.B1"
    ]
    each_value = _rules(
        {"$.m": {"matchers": [{"match": "eachValue", "rules": [{"match": "integer"}]}]}}
    )
    assert [
        m.path for m in compare_json({"m": {"a": 1}}, {"m": {"x": 2, "y": "3"}}, each_value)
    ] == ["$.m.y"]
    contains = _rules(
        {
            "$.l": {
                "matchers": [
                    {
                        "match": "arrayContains",
                        "variants": [
                            {"index": 0, "rules": {"$.id": {"matchers": [{"match": "integer"}]}}}
                        ],
                    }
                ]
            }
        }
    )
    assert compare_json({"l": [{"id": 1}]}, {"l": [{"x": 1}, {"id": 9}]}, contains) == []
    assert (
        compare_json({"l": [{"id": 1}]}, {"l": [{"id": "9"}]}, contains)[0].rule == "arrayContains"
    )


def test_unexpected_keys_and_list_lengths_without_rules() -> None:
    assert compare_json({"a": 1}, {"a": 1, "b": 2}) == []
    assert compare_json({"a": 1}, {"a": 1, "b": 2}, allow_unexpected_keys=False)[0].path == "$"
    assert [m.path for m in compare_json({"l": [1, 2]}, {"l": [1]})] == ["$.l[1]", "$.l"]
    assert compare_json(1, True)[0].rule == "equality"  # a boolean is not a number


def test_metadata_by_key() -> None:
    rules = parse_matching_rules(
        {"metadata": {"topic": {"matchers": [{"match": "regex", "regex": "orders\\..*"}]}}}, "t"
    ).category("metadata")
    assert compare_metadata({"topic": "orders.v1"}, {"topic": "orders.v2", "x": 1}, rules) == []
    found = compare_metadata({"topic": "orders.v1", "k": 1}, {"topic": "payments"}, rules)
    assert [m.path for m in found] == ["metadata.topic", "metadata.k"]


def test_generators_are_seedable_and_produce_matching_values() -> None:
    gens = parse_generators(
        {
            "body": {
                "$.id": {"type": "Uuid"},
                "$.n": {"type": "RandomInt", "min": 5, "max": 9},
                "$.d": {"type": "RandomDecimal", "digits": 5},
                "$.s": {"type": "RandomString", "size": 8},
                "$.h": {"type": "RandomHexadecimal", "digits": 6},
                "$.r": {"type": "Regex", "regex": "ord-[0-9]{4}(-[A-Z]{2})?"},
                "$.day": {"type": "Date", "format": "yyyy-MM-dd", "expression": "+1 day"},
                "$.at": {"type": "Time", "format": "HH:mm"},
                "$.ts": {"type": "DateTime", "format": "yyyy-MM-dd'T'HH:mm:ss"},
                "$.items[*].owner": {"type": "ProviderState", "expression": "${user}"},
                "$.b": {"type": "RandomBoolean"},
            }
        },
        "t",
    ).category("body")
    example = {k: "x" for k in ("id", "n", "d", "s", "h", "r", "day", "at", "ts", "b")}
    example["items"] = [{"owner": "?"}, {"owner": "?"}]
    now = dt.datetime(2024, 2, 28, 10, 30, 0, tzinfo=dt.UTC)
    one = generate(example, gens, seed=3, now=now, state={"user": "ann"})
    assert one == generate(example, gens, seed=3, now=now, state={"user": "ann"})
    assert one != generate(example, gens, seed=4, now=now, state={"user": "ann"})
    rules = _rules(
        {
            "$.id": {"matchers": [{"match": "regex", "regex": "[0-9a-f-]{36}"}]},
            "$.r": {"matchers": [{"match": "regex", "regex": "ord-[0-9]{4}(-[A-Z]{2})?"}]},
            "$.h": {"matchers": [{"match": "regex", "regex": "[0-9a-f]{6}"}]},
            "$.s": {"matchers": [{"match": "regex", "regex": "[A-Za-z0-9]{8}"}]},
            "$.n": {"matchers": [{"match": "integer"}]},
            "$.d": {"matchers": [{"match": "decimal"}]},
            "$.b": {"matchers": [{"match": "boolean"}]},
        }
    )
    assert compare_json({**one}, one, rules) == []
    assert 5 <= one["n"] <= 9
    assert (one["day"], one["at"], one["ts"]) == ("2024-02-29", "10:30", "2024-02-28T10:30:00")
    assert [i["owner"] for i in one["items"]] == ["ann", "ann"]
