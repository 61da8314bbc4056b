from __future__ import annotations

import pytest

from eventharness import Event, Matcher, UsageError


def ev(value: object, **kw: object) -> Event:
    return Event(channel="k:t", value=value, raw=b"", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "value", "ok"),
    [
        ({"a": 1}, {"a": 1, "b": 2}, True),
        ({"a": 1}, {"a": 2}, False),
        ({"a": {"b": {"c": "x"}}}, {"a": {"b": {"c": "x", "d": 1}}}, True),
        ({"a": {"b": {"c": "x"}}}, {"a": {"b": {}}}, False),
        ({"n": {"gt": 10}}, {"n": 11}, True),
        ({"n": {"gt": 10}}, {"n": 10}, False),
        ({"n": {"ge": 10, "lt": 20}}, {"n": 10}, True),
        ({"n": {"le": 1}}, {"n": "text"}, False),  # incomparable is a miss, not a crash
        ({"s": {"regex": "^o-[0-9]+$"}}, {"s": "o-42"}, True),
        ({"s": {"regex": "^o-[0-9]+$"}}, {"s": 42}, False),
        ({"s": {"one_of": ["a", "b"]}}, {"s": "b"}, True),
        ({"s": {"ne": "a"}}, {"s": "a"}, False),
        ({"s": {"exists": True}}, {"s": None}, True),
        ({"s": {"exists": False}}, {}, True),
        ({"s": {"exists": True}}, {}, False),
        ({"l": [{"sku": "A"}, {"sku": "B"}]}, {"l": [{"sku": "A", "q": 1}, {"sku": "B"}]}, True),
        ({"l": [{"sku": "A"}]}, {"l": [{"sku": "A"}, {"sku": "B"}]}, False),
        ({"flag": True}, {"flag": 1}, False),  # booleans are not numbers
        ({"n": 1}, {"n": True}, False),
        ({"a": 1}, "not an object", False),
    ],
)
def test_subset_and_operators(spec: dict[str, object], value: object, ok: bool) -> None:
    assert Matcher(match=spec).matches(ev(value)) is ok


def test_type_fields_and_predicate() -> None:
    event = ev({"type": "Paid", "amount": 5}, key="o-1", headers={"tenant": "t1"}, type="Paid")
    assert Matcher(type="Paid", fields={"key": "o-1", "headers.tenant": {"exists": True},
                                        "value.amount": {"ge": 5}}).matches(event)
    assert not Matcher(type="Declined").matches(event)
    assert not Matcher(fields={"headers.other": {"exists": True}}).matches(event)
    assert Matcher(where=lambda e: e.value["amount"] == 5).matches(event)
    assert not Matcher(where=lambda e: e.value["missing"]).matches(event)  # raising = no match


def test_diff_names_each_differing_field() -> None:
    matcher = Matcher(type="Paid", match={"order_id": "o-1", "amount": {"gt": 10},
                                          "nested": {"x": 1}})
    event = ev({"order_id": "o-2", "amount": 3}, type="Declined")
    assert matcher.diff(event) == [
        "type: expected 'Paid', got 'Declined'",
        "order_id: expected 'o-1', got 'o-2'",
        "amount: expected gt 10, got 3",
        "nested: expected an object, got <missing>",
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"s": {"regex": "("}}, "match.s: bad regex '('"),
        ({"s": {"one_of": "ab"}}, "match.s: one_of needs a list"),
        ({"s": {"exists": "yes"}}, "match.s: exists needs true or false"),
    ],
)
def test_bad_operator_arguments_are_usage_errors(spec: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        Matcher(match=spec)
