"""The HTML report as people meet it: written by ``eventharness run --report-html`` after a
real run on the embedded Kafka, opened in a real headless Chromium (tests/reports/browser.py);
the JSON report's fields the HTML and the history read; the size of a large report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from eventharness.reports.diagram import entries_of, sequence_svg
from eventharness.reports.html import html_report
from tests.conftest import unique
from tests.reports.browser import open_page, png_variance

EXE = str(Path(sys.executable).parent / "eventharness")

PASSING = """\
name: order is paid
vars: {{order_id: "o-${{uuid}}"}}
stubs:
  - name: payments
    consume: kafka:{orders}
    type: OrderPlaced
    respond:
      - channel: kafka:{payments}
        value: {{type: PaymentAuthorized, order_id: "${{in.value.order_id}}"}}
steps:
  - publish: {{channel: kafka:{orders}, key: "${{order_id}}",
              value: {{type: OrderPlaced, order_id: "${{order_id}}", total: 42}}}}
  - expect: {{channel: kafka:{payments}, type: PaymentAuthorized, within: 20s}}
"""

# The fault changes the total on its way out: the payment (for total 42) never comes, and the
# nearest miss is the order itself, with the total's diff.
FAILING = """\
name: order total is corrupted
vars: {{order_id: "o-${{uuid}}"}}
steps:
  - publish: {{channel: kafka:{orders}, key: "${{order_id}}",
              value: {{type: OrderPlaced, order_id: "${{order_id}}", total: 42}},
              faults: [{{corrupt: {{field: total, value: 43}}}}]}}
  - expect: {{channel: kafka:{orders}, type: OrderPlaced, match: {{total: 42}}, within: 3s}}
"""


@pytest.fixture(scope="module")
def kafka_run(kafka_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of a passing and a failing scenario on the embedded Kafka, with HTML and JSON
    reports written."""
    folder = tmp_path_factory.mktemp("html-run")
    names = {"orders": unique("html.orders"), "payments": unique("html.payments")}
    (folder / "scenarios").mkdir()
    (folder / "scenarios" / "a_passing.yaml").write_text(PASSING.format(**names))
    (folder / "scenarios" / "b_failing.yaml").write_text(FAILING.format(**names))
    html, report = folder / "out" / "report.html", folder / "out" / "report.json"
    reports = ["--report-html", str(html), "--report-json", str(report)]
    done = subprocess.run(
        [EXE, "run", "scenarios", "--broker", f"kafka={kafka_url}", *reports],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "EVENTHARNESS_COMMIT": "abc123def456"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        f"HTML report: {Path('out') / 'report.html'}" in done.stdout
        or "HTML report:" in done.stdout
    )
    return {"html": html, "json": json.loads(report.read_text()), "names": names}


@pytest.mark.kafka
def test_the_report_of_a_failing_run_opens_in_chromium(kafka_run: dict[str, Any]) -> None:
    html: Path = kafka_run["html"]
    text = html.read_text()
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text and "<link" not in text and " src=" not in text
    with open_page(html) as page:
        assert page.errors == []
        failing = page.evaluate(
            "Array.from(document.querySelectorAll('section.sc[data-status=failed]'))"
            ".map(s => s.querySelector('summary').textContent)"
        )
        assert len(failing) == 1 and "order total is corrupted" in failing[0]
        diagram = page.evaluate(
            "(() => { const s = document.querySelector('section.sc[data-status=failed]');"
            " const svg = s.querySelector('svg.seq'); const box = svg.getBoundingClientRect();"
            " return {w: box.width, h: box.height, rows: svg.querySelectorAll('g').length,"
            " faults: svg.querySelectorAll('g.f').length,"
            " lanes: Array.from(svg.querySelectorAll('.lane-name'))"
            "   .map(t => t.querySelector('title').textContent),"
            " diff: s.querySelector('pre .diff').textContent}; })()"
        )
        assert diagram["w"] > 200 and diagram["h"] > 50
        assert diagram["rows"] >= 2 and diagram["faults"] >= 1
        assert diagram["lanes"][0] == "harness"
        assert any(kafka_run["names"]["orders"] in lane for lane in diagram["lanes"])
        assert "total: expected 42, got 43" in diagram["diff"]
        assert png_variance(page.screenshot()) > 100  # a page with text and drawing on it

        page.evaluate("document.querySelector('button[data-status=failed]').click()")
        assert page.evaluate("document.querySelectorAll('section.sc:not([hidden])').length") == 1
        page.evaluate("document.querySelector('button[data-status=all]').click()")
        page.evaluate(
            "(() => { const q = document.getElementById('q'); q.value = 'order is PAID';"
            " q.dispatchEvent(new Event('input')); })()"
        )
        shown = page.evaluate(
            "Array.from(document.querySelectorAll('section.sc:not([hidden])'))"
            ".map(s => s.dataset.status)"
        )
        assert shown == ["passed"]
        assert page.errors == []


@pytest.mark.kafka
def test_the_json_report_carries_what_the_history_needs(kafka_run: dict[str, Any]) -> None:
    report = kafka_run["json"]
    assert report["run"]["commit"] == "abc123def456"
    assert report["run"]["started_at"] < report["run"]["finished_at"]
    assert set(report["summary"]) == {"passed", "xfailed", "failed", "errors", "duration_s"}
    by_name = {s["name"]: s for s in report["scenarios"]}
    passing, failing = by_name["order is paid"], by_name["order total is corrupted"]
    assert passing["started_at"] >= report["run"]["started_at"]
    names = kafka_run["names"]
    [hop] = passing["hops"]  # the stub's response; the copies collected are no hops
    assert (hop["from"], hop["to"]) == (f"kafka:{names['orders']}", f"kafka:{names['payments']}")
    assert 0 <= hop["latency_s"] <= passing["duration_s"]
    failure = failing["failures"][0]
    assert failure["kind"] == "timeout"
    assert any("total: expected 42, got 43" in line for line in failure["details"])
    published = next(e for e in failing["events"] if e["direction"] == "out")
    assert "total" in published["note"]
    assert all(
        {"t", "direction", "channel", "type", "note", "decode_error"} <= e.keys()
        for s in report["scenarios"]
        for e in s["events"]
    )


def big_report(scenarios: int, events: int) -> dict[str, Any]:
    """A report as a large run writes it: half the scenarios failed with nearest misses."""
    out: list[dict[str, Any]] = []
    for n in range(scenarios):
        failed = n % 2 == 1
        chain = [f"kafka:shop.step{i}.events" for i in range(5)]
        out.append(
            {
                "name": f"scenario number {n} of the big suite",
                "file": f"scenarios/suite/s{n:03d}.yaml",
                "status": "failed" if failed else "passed",
                "duration_s": 1.5,
                "correlation_id": f"{n:032x}",
                "started_at": "2026-12-06T04:00:00.000+00:00",
                "failures": [
                    {
                        "kind": "timeout",
                        "step": "ShipmentScheduled",
                        "message": "kafka:shop.step4.events: expected an event within 10s",
                        "details": [
                            "nearest misses:",
                            "  t=0.5s kafka:shop.step4.events x",
                            "      total: expected 42, got 43",
                        ],
                    }
                ]
                if failed
                else [],
                "events": [
                    {
                        "t": i * 0.01,
                        "direction": "out" if i % 5 == 0 else "in",
                        "channel": chain[i % 5],
                        "type": f"Step{i % 5}Happened",
                        "correlation_id": f"{n:032x}",
                        "key": f"order-{n}-{i // 5}",
                        "note": "delayed 200ms (delay)" if i == 7 else None,
                        "decode_error": None,
                    }
                    for i in range(events)
                ],
                "hops": [],
            }
        )
    summary = {"passed": 50, "xfailed": 0, "failed": 50, "errors": 0, "duration_s": 150.0}
    return {"summary": summary, "run": {}, "scenarios": out}


def test_a_report_of_100_scenarios_of_50_events_stays_under_2_mb() -> None:
    page = html_report(big_report(100, 50))
    size = len(page.encode())
    assert page.count('<svg class="seq"') == 100
    assert page.count("<g class=") == 100 * 50
    assert size < 2 * 2**20, f"{size} bytes"


def test_names_and_messages_are_escaped_not_run() -> None:
    report = big_report(2, 3)
    report["scenarios"][1]["name"] = "<img src=x onerror=alert(1)>"
    report["scenarios"][1]["failures"][0]["message"] = "</script><script>alert(2)</script>"
    page = html_report(report)
    assert "<img src=x" not in page and "<script>alert(2)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_diagram_lanes_follow_the_hops_and_mark_faults() -> None:
    events = [
        {"t": 0.0, "direction": "out", "channel": "kafka:a", "type": "A", "key": "1"},
        {"t": 0.1, "direction": "in", "channel": "kafka:a", "type": "A", "key": "1"},
        {
            "t": 0.2,
            "direction": "in",
            "channel": "rabbit:b/x",
            "type": "B",
            "key": None,
            "note": "dropped, never sent (drop)",
        },
    ]
    entries = entries_of(events)
    assert [(e.source, e.target, e.kind) for e in entries] == [
        ("harness", "kafka:a", "publish"),
        ("kafka:a", "harness", "collect"),
        ("kafka:a", "rabbit:b/x", "collect"),
    ]
    svg = sequence_svg(entries)
    assert svg.count('class="lane-name"') == 3 and svg.count('<g class="c f">') == 1
    assert "⚡ dropped, never sent (drop)" in svg


def test_network_faults_are_drawn_on_a_network_lane_in_time_order() -> None:
    report = big_report(1, 2)
    scenario = report["scenarios"][0]
    scenario["events"][1]["t"] = 6.0
    scenario["notes"] = [
        {"t": 1.0, "text": "network fault applied: cut on payments→kafka for 5s"},
        {"t": 6.0, "text": "network fault lifted: cut on payments→kafka"},
    ]
    page = html_report(report)
    assert ">applied: cut on payments→kafka for 5s<" in page
    assert page.index("applied: cut") < page.index("lifted: cut")
    assert ">network</text>" in page  # its own lane


def test_report_html_into_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        textwrap.dedent("""\
        name: x
        steps:
          - publish: {channel: kafka:t, value: {type: A}}
        """)
    )
    done = subprocess.run(
        [EXE, "run", "s.yaml", "--broker", "kafka=memory://h", "--report-html", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"--report-html {tmp_path}: is a folder" in done.stderr
    assert "Traceback" not in done.stderr
