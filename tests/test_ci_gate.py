"""CI's own gate (tests/conftest.py): under CI=true a run that skipped or deselected tests, or ran
fewer conformance tests on a broker than its floor, fails even when nothing failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CONFORMANCE_FLOOR, ci_gate_problems

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).parent / "conftest.py").read_text()


class _Report:
    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self.when = "call"


def _conformance(broker: str, n: int) -> list[object]:
    return [_Report(f"tests/conformance/test_conformance.py::test_{i}[{broker}]") for i in range(n)]


def test_a_full_conformance_run_is_green() -> None:
    passed = [r for broker, n in CONFORMANCE_FLOOR.items() for r in _conformance(broker, n)]
    assert ci_gate_problems({"passed": passed}) == []


def test_a_broker_that_dropped_out_of_conformance_is_named() -> None:
    passed = [
        r
        for broker, n in CONFORMANCE_FLOOR.items()
        if broker != "kafka"
        for r in _conformance(broker, n)
    ]
    assert ci_gate_problems({"passed": passed}) == [
        "conformance on kafka: 0 passed, expected at least 8 (tests/conftest.py CONFORMANCE_FLOOR)"
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "1 test(s) skipped"),
        (("-k", "not other"), "1 test(s) deselected"),
    ],
)
def test_skips_and_deselection_fail_a_ci_run(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    expected: str,
) -> None:
    monkeypatch.setenv("CI", "true")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_some="""
import pytest

def test_one():
    pass

def test_other():
    pytest.skip("no broker")
"""
    )
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == 1
    result.stdout.fnmatch_lines([f"*error: {expected}*"])


def test_the_same_run_outside_ci_passes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_some="import pytest\n\ndef test_other():\n    pytest.skip('x')\n")
    assert pytester.runpytest_subprocess().ret == 0
