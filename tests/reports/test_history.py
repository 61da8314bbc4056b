"""``eventharness report history``: 30 generated JSON reports over three commits, one scenario
flaky on one of them; the dashboard marks it and only it, and opens in a real Chromium."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eventharness.model.errors import UsageError
from eventharness.reports.history import analyse, load_history
from tests.reports.browser import open_page

EXE = str(Path(sys.executable).parent / "eventharness")
START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def scenario(name: str, status: str, latency: float, kind: str = "timeout") -> dict[str, Any]:
    failures = [] if status == "passed" else [{"kind": kind, "step": "s", "message": "m"}]
    return {
        "name": name,
        "file": f"scenarios/{name}.yaml",
        "status": status,
        "duration_s": 1.0,
        "correlation_id": "c",
        "failures": failures,
        "events": [],
        "hops": [{"from": "kafka:orders", "to": "kafka:payments", "latency_s": latency}],
    }


def run_report(n: int) -> dict[str, Any]:
    """Run ``n`` of 30: commits c1 (runs 0-9), c2 (10-19), c3 (20-28); run 29 has no commit.
    ``regressed`` fails on all of c2 (a change of code, not flakiness); ``wobbly`` alternates
    on c3 (flaky); ``broken`` always errors; ``steady`` fails once, on the run with no commit;
    ``added`` exists from run 20 on."""
    commit = None if n == 29 else f"c{n // 10 + 1}" * 10
    latency = 0.010 + 0.001 * n  # the hop gets slower
    scenarios = [
        scenario("steady", "failed" if n == 29 else "passed", latency),
        scenario("regressed", "failed" if 10 <= n < 20 else "passed", latency, "schema"),
        scenario("wobbly", "failed" if 20 <= n < 29 and n % 2 else "passed", latency),
        scenario("broken", "error", latency, "error"),
    ]
    if n >= 20:
        scenarios.append(scenario("added", "passed", latency))
    started = START + timedelta(hours=n)
    return {
        "summary": {"passed": 0, "xfailed": 0, "failed": 0, "errors": 0, "duration_s": 5.0},
        "run": {"commit": commit, "started_at": started.isoformat(), "finished_at": ""},
        "scenarios": scenarios,
    }


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for n in range(30):  # names not in time order: the runs are ordered by started_at
        (folder / f"run-{(n * 7) % 30:02d}.json").write_text(json.dumps(run_report(n)))
    return folder


def test_exactly_the_flaky_scenario_is_marked(reports: Path) -> None:
    history = analyse(load_history(reports))
    assert len(history.runs) == 30
    assert [s.name for s in history.flaky] == ["wobbly"]
    assert history.flaky[0].flaky_commits == ["c3" * 10]
    by_name = {s.name: s for s in history.scenarios}
    assert by_name["steady"].pass_rate == pytest.approx(29 / 30)
    assert by_name["regressed"].pass_rate == pytest.approx(20 / 30)
    assert by_name["broken"].pass_rate == 0.0
    assert by_name["added"].outcomes == [None] * 20 + ["passed"] * 10
    [hop] = history.hops
    assert (hop.source, hop.target, len(hop.latencies)) == ("kafka:orders", "kafka:payments", 130)
    assert hop.per_run[0] == pytest.approx(0.010) and hop.per_run[-1] == pytest.approx(0.039)
    assert hop.p50 < hop.p95 and hop.trend is not None and hop.trend > 2
    assert history.kinds[0] == {"error": 1}
    assert history.kinds[11] == {"schema": 1, "error": 1}
    assert history.kinds[21] == {"timeout": 1, "error": 1}


def test_the_dashboard_marks_it_in_chromium(reports: Path, tmp_path: Path) -> None:
    out = tmp_path / "site" / "dashboard.html"
    done = subprocess.run(
        [EXE, "report", "history", str(reports), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "history of 30 runs, 5 scenarios · flaky: wobbly" in done.stdout
    with open_page(out) as page:
        assert page.errors == []
        flaky = page.evaluate(
            "Array.from(document.querySelectorAll('#flaky .flaky-row')).map(r => r.dataset.name)"
        )
        assert flaky == ["wobbly"]
        marked = page.evaluate(
            "Array.from(document.querySelectorAll('tr.scenario[data-flaky=true] td:first-child'))"
            ".map(td => td.textContent)"
        )
        assert marked == ["wobbly flaky"]
        cells = page.evaluate("document.querySelectorAll('tr.scenario .cell').length")
        assert cells == 5 * 30
        assert page.evaluate("document.querySelectorAll('#hops tr.hop polyline').length") == 1
        assert page.evaluate("document.querySelectorAll('#kinds rect').length") == 30 + 10 + 5


def test_unusable_folders_and_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such folder"):
        load_history(tmp_path / "missing")
    with pytest.raises(UsageError, match="no JSON reports"):
        load_history(tmp_path)
    (tmp_path / "a.json").write_text('{"scenarios": []}')
    (tmp_path / "b.json").write_text('{\n  "scenarios": [,]\n}')
    done = subprocess.run(
        [EXE, "report", "history", str(tmp_path), "-o", str(tmp_path / "d.html")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"error: {tmp_path / 'b.json'}:2: not JSON" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "d.html").exists()
    (tmp_path / "b.json").write_text('{"summary": {}}')
    with pytest.raises(UsageError, match=r"b\.json: not an eventharness JSON report"):
        load_history(tmp_path)
