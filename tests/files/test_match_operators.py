"""Scenario files and ``Matcher(match=...)`` apply one rule for which mappings are operator tests
(``eventharness.engine.matchers.spec_problems``): field names that look like operators are
fields; a mapping mixing operators with other keys is an error naming the path."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from eventharness import Event, Matcher, UsageError
from eventharness.files.loader import FileContext, load_file
from eventharness.model.errors import ScenarioFileError

CONTEXT = FileContext(brokers={"kafka"})


def scenario(tmp_path: Path, match: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(
        textwrap.dedent("""\
        name: operators
        steps:
          - expect:
              channel: kafka:payments
              match:
        """)
        + f"        {match}\n"
    )
    return path


def loaded_match(path: Path) -> Any:
    (step,) = load_file(path, CONTEXT).steps
    return step.match


@pytest.mark.parametrize("name", ["seq", "n", "get", "one", "exit", "net", "lat", "gte"])
def test_field_named_like_an_operator_is_a_field_in_files_and_python(
    tmp_path: Path, name: str
) -> None:
    spec = loaded_match(scenario(tmp_path, f"order: {{{name}: 2}}"))
    assert spec == {"order": {name: 2}}
    matcher = Matcher(match=spec)
    assert matcher.matches(Event(channel="k:t", value={"order": {name: 2, "x": 1}}, raw=b""))
    assert not matcher.matches(Event(channel="k:t", value={"order": {name: 3}}, raw=b""))


@pytest.mark.parametrize(
    ("match", "line", "message"),
    [
        (
            "total: {gt: 1, lte: 5}",
            6,
            "match.total: 'lte' is not a match operator; did you mean 'le'?",
        ),
        (
            "order:\n          lines:\n            qty: {ge: 1, neq: 0}",
            8,
            "match.order.lines.qty: 'neq' is not a match operator; did you mean 'ne'?",
        ),
        (
            "range: {lt: 9, unit: s}",
            6,
            "match.range: 'unit' is not a match operator; a mapping with an operator (lt) may "
            "hold only operators",
        ),
    ],
)
def test_mixed_operator_mapping_is_the_same_error_in_files_and_python(
    tmp_path: Path, match: str, line: int, message: str
) -> None:
    path = scenario(tmp_path, match)
    with pytest.raises(ScenarioFileError) as in_file:
        load_file(path, CONTEXT)
    (problem,) = in_file.value.problems
    assert problem.startswith(f"{path}:{line}: expect: {message}"), problem

    import yaml

    spec = yaml.safe_load(path.read_text())["steps"][0]["expect"]["match"]
    with pytest.raises(UsageError) as in_python:
        Matcher(match=spec)
    assert problem == f"{path}:{line}: expect: {in_python.value}"


def test_regex_re2_lacks_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = scenario(tmp_path, 'id: {regex: "^(o)-\\\\1$"}')
    with pytest.raises(ScenarioFileError) as caught:
        load_file(path, CONTEXT)
    (problem,) = caught.value.problems
    assert problem.startswith(
        f"{path}:6: expect: match.id: regex '^(o)-\\\\1$' uses a backreference (\\1), "
        "which the linear-time engine does not support (RE2 syntax: no backreferences or "
        "lookaround; see https://github.com/google/re2/wiki/Syntax)"
    ), problem
