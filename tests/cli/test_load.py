"""``eventharness load`` through the CLI on the memory broker: the report and its exit codes,
SLOs, bad options (exit 2, one line), and three load processes side by side whose reports
``report merge`` adds up exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eventharness.reports.load import Latencies, LoadStats

EXE = str(Path(sys.executable).parent / "eventharness")

CONFIG = """\
[profiles.default]
brokers = { bus = "memory://load" }
within = "2s"
"""

FLOW = """\
name: {name}
vars: {{order_id: "o-${{uuid}}"}}
steps:
  - publish: {{channel: bus:orders, key: "${{order_id}}",
              value: {{type: OrderPlaced, order_id: "${{order_id}}"}}}}
  - expect: {{as: seen, channel: bus:orders, type: {wanted}, within: {within}}}
"""


def folder(tmp_path: Path, wanted: str = "OrderPlaced", within: str = "2s") -> Path:
    (tmp_path / "eventharness.toml").write_text(CONFIG)
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW.format(name="an order is seen", wanted=wanted, within=within))
    return path


def load(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, "load", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"NO_COLOR": "1", "COLUMNS": "160", "PATH": str(Path(EXE).parent)},
    )


def report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_a_load_that_passes_reports_its_rate_and_percentiles(tmp_path: Path) -> None:
    flow = folder(tmp_path)
    out = tmp_path / "load.json"
    done = load(tmp_path, str(flow), "--rate", "40/s", "--duration", "2s", "--ramp", "500ms",
                "--slo", "errors<1%", "--json", str(out))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = report(out)
    assert data["kind"] == "load" and data["plan"] == {
        "rate": 40.0, "duration_s": 2.0, "ramp_s": 0.5, "processes": 1,
    }  # fmt: skip
    assert data["summary"]["flows"] == data["summary"]["passed"] == 70  # 10 in the ramp + 60
    assert set(data["latency_ms"]) == {"p50", "p90", "p99", "p99.9", "max", "mean"}
    assert 0 < data["latency_ms"]["p50"] <= data["latency_ms"]["p99"] <= data["latency_ms"]["max"]
    assert data["slos"] == [{"slo": "errors<1%", "actual": "0%", "ok": True}]
    assert "70 (70 passed, 0 failed, 0 errors)" in done.stdout
    assert "✓ SLO errors<1%" in done.stdout


def test_failing_flows_and_a_missed_slo_exit_1_with_failures_by_kind(tmp_path: Path) -> None:
    flow = folder(tmp_path, wanted="NeverSent", within="100ms")
    out = tmp_path / "load.json"
    done = load(tmp_path, str(flow), "--rate", "20/s", "--duration", "1s", "--slo",
                "errors<=1", "--json", str(out))  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    data = report(out)
    assert data["failures"] == {"timeout": 20} and data["summary"]["failed"] == 20
    assert data["slos"][0]["ok"] is False
    assert "✗ SLO errors<=1: 20" in done.stdout
    # with no SLO, failing flows fail the load
    assert load(tmp_path, str(flow), "--rate", "10/s", "--duration", "300ms").returncode == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--rate", "fast", "--duration", "1s"], "--rate 'fast': give flows per second"),
        (["--rate", "0/s", "--duration", "1s"], "more than 0"),
        (["--rate", "5/s", "--duration", "soon"], "'soon' is not a duration"),
        (["--rate", "5/s", "--duration", "1s", "--ramp", "2s"], "the ramp (2.0s) must be"),
        (["--rate", "5/s", "--duration", "1s", "--slo", "p99 < fast"], "not an SLO"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    done = load(tmp_path, str(folder(tmp_path)), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_folder_or_a_missing_file_exits_2(tmp_path: Path) -> None:
    folder(tmp_path)
    for target, says in ((tmp_path, "is a folder"), (tmp_path / "nope.yaml", "nope.yaml")):
        done = load(tmp_path, str(target), "--rate", "5/s", "--duration", "1s")
        assert done.returncode == 2 and says in done.stderr, done.stderr


def test_three_load_processes_merge_exactly(tmp_path: Path) -> None:
    flow = folder(tmp_path)
    outs = [tmp_path / f"load-{k}.json" for k in range(3)]
    procs = [
        subprocess.Popen(
            [EXE, "load", str(flow), "--rate", "15/s", "--duration", "2s", "--json", str(out)],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for out in outs
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    merged_path = tmp_path / "merged.json"
    done = subprocess.run(
        [EXE, "report", "merge", *map(str, outs), "--json", str(merged_path),
         "--slo", "rate>=40/s"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    merged = report(merged_path)
    assert merged["summary"]["flows"] == 90 and merged["plan"]["processes"] == 3
    assert merged["plan"]["rate"] == 45.0
    # the same percentiles as one histogram holding every process's samples
    whole = Latencies()
    for out in outs:
        whole.add(Latencies.decode(report(out)["histograms"]["latency"]))
    assert merged["latency_ms"] == whole.summary()
    assert LoadStats.from_dict(merged).latency.count == 90


def test_run_reports_and_load_reports_do_not_mix(tmp_path: Path) -> None:
    flow = folder(tmp_path)
    load_json, run_json = tmp_path / "load.json", tmp_path / "run.json"
    assert load(tmp_path, str(flow), "--rate", "5/s", "--duration", "200ms",
                "--json", str(load_json)).returncode == 0  # fmt: skip
    run_json.write_text(json.dumps({"summary": {"passed": 1}, "scenarios": []}))
    done = subprocess.run(
        [EXE, "report", "merge", str(load_json), str(run_json), "--json", str(tmp_path / "m.json")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "not a load report" in done.stderr, done.stderr
