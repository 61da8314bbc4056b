"""Reports: the JSON shape of DESIGN §7 (field names are a public interface), JUnit XML that a
standard parser reads, and the terminal report."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from junitparser import Error, JUnitXml, Skipped
from junitparser import Failure as JFailure
from rich.console import Console

from eventharness.files.model import ScenarioFile, XFail
from eventharness.files.outcome import Outcome
from eventharness.model.events import Event
from eventharness.model.result import Failure, ScenarioResult
from eventharness.reports import TerminalReport, json_report, junit_xml, write_json, write_junit


def event(t: float, direction: str, channel: str, type_: str, key: str) -> Event:
    return Event(
        channel=channel,
        value={"type": type_},
        raw=b"{}",
        key=key,
        type=type_,
        correlation_id="c-1",
        received=100.0 + t,
        direction=direction,
    )  # type: ignore[arg-type]


def outcome(
    name: str,
    path: str,
    status: str,
    failures: list[Failure] | None = None,
    xfail: XFail | None = None,
) -> Outcome:
    result = ScenarioResult(
        name=name,
        correlation_id="c-1",
        status=status,
        duration_s=1.23456,  # type: ignore[arg-type]
        file=path,
        failures=failures or [],
        started=100.0,
        events=[
            event(0.0123, "out", "kafka:orders", "OrderPlaced", "o-1"),
            event(0.5, "in", "kafka:payments", "PaymentAuthorized", "o-1"),
        ],
    )
    return Outcome(ScenarioFile(path=path, name=name, steps=[], xfail=xfail), result)


TIMEOUT = Failure(
    "timeout",
    "pay",
    "kafka:payments [type=PaymentAuthorized]: nothing matched",
    ("nearest misses:", "  t=0.5s kafka:payments PaymentDeclined key=o-1"),
)
OUTCOMES = [
    outcome("order ships", "scenarios/shop/happy_path.yaml", "passed"),
    outcome("order declined", "scenarios/shop/declined.yaml", "failed", [TIMEOUT]),
    outcome(
        "broken <&> 'xml'",
        "scenarios/x.yaml",
        "error",
        [Failure("error", "publish kafka:orders", "BrokerError: \x01 refused")],
    ),
    outcome(
        "known bug", "scenarios/demo/known.yaml", "failed", [TIMEOUT], XFail("timeout", "PAY-12")
    ),
]


def test_json_report_has_the_design_shape(tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.json"
    write_json(path, OUTCOMES, 4.2049)
    data = json.loads(path.read_text())
    again = json_report(OUTCOMES, 4.2049)
    assert data["summary"] == again["summary"] and len(data["scenarios"]) == len(again["scenarios"])
    assert data["summary"] == {
        "passed": 1,
        "xfailed": 1,
        "failed": 1,
        "errors": 1,
        "duration_s": 4.205,
    }
    assert list(data) == ["summary", "run", "scenarios"]  # "run" added, nothing removed
    assert list(data["run"]) == ["commit", "started_at", "finished_at"]
    first = data["scenarios"][0]
    assert list(first) == [
        "name",
        "file",
        "status",
        "duration_s",
        "correlation_id",
        "failures",
        "events",
        "started_at",
        "hops",
    ]
    assert first["hops"] == [{"from": "kafka:orders", "to": "kafka:payments", "latency_s": 0.488}]
    assert first["duration_s"] == 1.235
    assert first["events"] == [
        {
            "t": 0.012,
            "direction": "out",
            "channel": "kafka:orders",
            "type": "OrderPlaced",
            "correlation_id": "c-1",
            "key": "o-1",
            "note": None,
            "decode_error": None,
        },
        {
            "t": 0.5,
            "direction": "in",
            "channel": "kafka:payments",
            "type": "PaymentAuthorized",
            "correlation_id": "c-1",
            "key": "o-1",
            "note": None,
            "decode_error": None,
        },
    ]
    assert data["scenarios"][1]["failures"] == [
        {
            "kind": "timeout",
            "step": "pay",
            "message": "kafka:payments [type=PaymentAuthorized]: nothing matched",
            "details": ["nearest misses:", "  t=0.5s kafka:payments PaymentDeclined key=o-1"],
        }
    ]
    assert data["scenarios"][3]["status"] == "passed"
    assert data["scenarios"][3]["xfail"] == {"kind": "timeout", "outcome": "xfailed"}
    assert "xfail" not in data["scenarios"][1]


def test_junit_parses_with_a_standard_parser(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(path, OUTCOMES, 4.2)
    xml = JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (4, 1, 1, 1)
    cases = {case.name: case for case in suite}
    assert cases["order ships"].classname == "scenarios.shop.happy_path"
    assert cases["order ships"].is_passed
    assert abs(cases["order ships"].time - 1.235) < 0.001
    (failure,) = cases["order declined"].result
    assert isinstance(failure, JFailure)
    assert failure.type == "timeout"
    assert failure.message.startswith("[timeout] pay: kafka:payments")
    assert "nearest misses:" in failure.text
    assert "timeline (t from scenario start" in failure.text
    (error,) = cases["broken <&> 'xml'"].result
    assert isinstance(error, Error)
    assert "?" in error.message and "\x01" not in error.message
    (skipped,) = cases["known bug"].result
    assert isinstance(skipped, Skipped)


def test_junit_with_elementtree() -> None:
    root = ET.fromstring(junit_xml(OUTCOMES, 1.0))
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == [o.file.name for o in OUTCOMES]
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("type") == "timeout"
    assert cases[0].find("failure") is None
    out = cases[0].find("system-out")
    assert out is not None and "correlation id c-1" in (out.text or "")


def test_terminal_report() -> None:
    buffer = io.StringIO()
    report = TerminalReport(Console(file=buffer, width=120, color_system=None))
    report.header("default", "eventharness.toml", 4)
    report.brokers({"rabbit": "amqp://guest:secret@127.0.0.1:5672/"})
    for item in OUTCOMES:
        report.finished(item)
    report.summary(OUTCOMES, 4.2)
    text = buffer.getvalue()
    assert "secret" not in text and "amqp://guest:***@127.0.0.1:5672/" in text
    assert "✓ order ships  1.23s" in text
    assert "✗ order declined  1.23s  [timeout]" in text
    assert "xfail: failed as expected (timeout)" in text
    assert "✗ [timeout] pay: kafka:payments [type=PaymentAuthorized]: nothing matched" in text
    assert text.rstrip().endswith("1 passed, 1 xfailed, 1 failed, 1 errors in 4.20s")
