"""Templates and durations as files and the Python API write them: what is refused, and why."""

from __future__ import annotations

import math

import pytest

from eventharness.engine.templates import parse_duration, references, render


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, float("nan")])
def test_non_finite_durations_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="not a finite duration; write a number of seconds"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("${oops", "'${oops' has no closing '}': write ${oops}, or $${ for a literal ${"),
        ("order-${order_id", "'${order_id' has no closing '}': write ${order_id}"),
        ("${a and ${b}", "'${a and $' has no closing '}': write ${a}"),
    ],
)
def test_an_unclosed_reference_is_found_and_named(text: str, shown: str) -> None:
    problems = [ref.problem for ref in references(text) if ref.problem]
    assert len(problems) == 1 and problems[0].startswith(shown)
    with pytest.raises(ValueError, match="has no closing"):
        render(text, lambda ref: "x")


def test_closed_and_escaped_references_are_fine() -> None:
    assert [ref.problem for ref in references("$${literal} ${name} ${x:-1}")] == [None, None]
    assert render("$${literal} ${name}", lambda ref: "v") == "${literal} v"
