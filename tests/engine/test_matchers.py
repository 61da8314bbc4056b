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
    assert Matcher(
        type="Paid",
        fields={"key": "o-1", "headers.tenant": {"exists": True}, "value.amount": {"ge": 5}},
    ).matches(event)
    assert not Matcher(type="Declined").matches(event)
    assert not Matcher(fields={"headers.other": {"exists": True}}).matches(event)
    assert Matcher(where=lambda e: e.value["amount"] == 5).matches(event)
    assert not Matcher(where=lambda e: e.value["missing"]).matches(event)  # raising = no match


def test_diff_names_each_differing_field() -> None:
    matcher = Matcher(
        type="Paid", match={"order_id": "o-1", "amount": {"gt": 10}, "nested": {"x": 1}}
    )
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


# --- regex: RE2, linear time, checked at declaration ---------------------------------------


@pytest.mark.parametrize(
    ("pattern", "miss", "hit"),
    [
        ("^(a+)+$", "a" * 50_000 + "!", "a" * 50_000),  # exponential when backtracking
        ("^(a|aa)+$", "a" * 50_000 + "b", "a" * 50_000),
        ("(x+x+)+y", "x" * 50_000, "x" * 50_000 + "y"),
    ],
)
def test_catastrophic_regex_against_a_long_value_answers(pattern: str, miss: str, hit: str) -> None:
    matcher = Matcher(match={"id": {"regex": pattern}})
    assert not matcher.matches(ev({"id": miss}))
    assert matcher.diff(ev({"id": miss})) == [
        f"id: expected regex {pattern!r}, got {repr(miss)[:57]}..."
    ]
    assert matcher.matches(ev({"id": hit}))


@pytest.mark.parametrize(
    ("pattern", "feature"),
    [
        (r"^(a)\1$", r"a backreference (\1)"),
        (r"(?P<c>a)(?P=c)", "a named backreference (?P=name)"),
        (r"o-(?=\d)", "a lookahead (?=...)"),
        (r"o-(?!x)", "a negative lookahead (?!...)"),
        (r"(?<=o-)\d+", "a lookbehind (?<=...)"),
        (r"(?<!x)o", "a negative lookbehind (?<!...)"),
        (r"a++", "a possessive quantifier (++)"),
        (r"o-\d+\Z", r"\Z (write \z for the end of the text)"),
    ],
)
def test_regex_features_re2_lacks_are_usage_errors_naming_pattern_and_fix(
    pattern: str, feature: str
) -> None:
    with pytest.raises(UsageError) as caught:
        Matcher(match={"id": {"regex": pattern}})
    assert str(caught.value) == (
        f"match.id: regex {pattern!r} uses {feature}, which the linear-time engine does not "
        "support (RE2 syntax: no backreferences or lookaround; see "
        "https://github.com/google/re2/wiki/Syntax); rewrite the pattern without it, or test "
        "the field in Python with where="
    )


def test_regex_is_compiled_once_per_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    import re2

    from eventharness.engine import matchers

    calls: list[str] = []
    real = re2.compile

    def counting(pattern: str, *args: object) -> object:
        calls.append(pattern)
        return real(pattern, *args)

    monkeypatch.setattr(re2, "compile", counting)
    pattern = "^compiled-once-[0-9]+$"
    matcher = Matcher(match={"id": {"regex": pattern}}, fields={"value.id": {"regex": pattern}})
    for i in range(5):
        assert matcher.matches(ev({"id": f"compiled-once-{i}"}))
        assert not matcher.matches(ev({"id": f"other-{i}"}))
    assert calls == [pattern]
    assert matchers._compiled.cache_info().currsize >= 1


ORDINARY = [
    "o-",
    "^o-",
    "^o-[0-9]+$",
    r"^o-\d{2,4}$",
    "(?i)^PAID$",
    "paid|shipped",
    r"\bcard\b",
    r"^\w+@\w+\.com$",
    r"\s",
    "^$",
    ".",
    "^a.c$",
    "(?s)^a.c$",
    "(?m)^b$",
    r"[^a-z]",
    "colou?r",
    r"^(ab)*$",
    r"\.",
    "é",
    "^[0-9]+$",
    r"^\S+$",
    "(paid)",
]
VALUES = [
    "o-42",
    "xo-42y",
    "O-7",
    "paid",
    "PAID",
    "shipped",
    "a card here",
    "cards",
    "bob@shop.com",
    "a b",
    "",
    "abc",
    "a\nc",
    "a\nb\nc",
    "ABC",
    "color",
    "colour",
    "abab",
    "aba",
    "x.y",
    "café",
    "123",
]


@pytest.mark.parametrize("pattern", ORDINARY)
def test_regex_searches_like_python_re_for_ordinary_patterns(pattern: str) -> None:
    """A guard, not a red-then-green test: RE2 must keep ``re.search`` semantics (searched, not
    anchored; inline flags) for ASCII patterns on these values."""
    import re

    matcher = Matcher(match={"s": {"regex": pattern}})
    for value in VALUES:
        expected = re.search(pattern, value) is not None
        assert matcher.matches(ev({"s": value})) is expected, (pattern, value)


@pytest.mark.parametrize(
    ("pattern", "value", "ok"),
    [
        ("^o-1$", "o-1\n", False),  # re: $ also matches before a final newline
        (r"^\d+$", "٤٢", False),  # re: \d is any Unicode digit
        (r"^\p{Nd}+$", "٤٢", True),  # the RE2 spelling of it (re rejects \p)
        (r"^\w+$", "café", False),  # re: \w is Unicode
        (r"^o-\d+\z", "o-1", True),  # RE2's end of text (re before 3.14 rejects \z)
    ],
)
def test_regex_differences_from_python_re_are_the_documented_ones(
    pattern: str, value: str, ok: bool
) -> None:
    assert Matcher(match={"s": {"regex": pattern}}).matches(ev({"s": value})) is ok


# --- which mappings are operator tests -------------------------------------------------------


def test_field_mapping_that_finds_no_object_suggests_the_operator() -> None:
    matcher = Matcher(match={"total": {"gte": 3}})
    assert not matcher.matches(ev({"total": 5}))
    assert matcher.diff(ev({"total": 5})) == [
        "total: expected an object, got 5 ('gte' is read as a field name; for the operator "
        "write 'ge')"
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"n": {"gt": 1, "lte": 5}},
            "match.n: 'lte' is not a match operator; did you mean 'le'? (a mapping with an "
            "operator (gt) may hold only operators: eq ne gt ge lt le regex one_of exists)",
        ),
        (
            {"a": {"b": {"regex": "^x", "exsts": True}}},
            "match.a.b: 'exsts' is not a match operator; did you mean 'exists'?",
        ),
        (
            {"range": {"gt": 1, "unit": "s"}},
            "match.range: 'unit' is not a match operator; a mapping with an operator (gt) may hold "
            "only operators: eq ne gt ge lt le regex one_of exists; match fields named like "
            "operators by dotted path under fields: or with where=",
        ),
    ],
)
def test_mapping_mixing_operators_and_other_keys_is_an_error(
    spec: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        Matcher(match=spec)
    assert str(caught.value).startswith(message)
