"""Every benchmark runs in --quick mode and produces sane numbers (never timings asserted)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, format_table, main, run
from tests.conftest import broker_missing

pytestmark = pytest.mark.timeout(600)

RATIO_BENCHMARKS = {
    "kafka",
    "amqp",
    "inmemory",
    "routing",
    "conformance",
    "startup",
    "proxy",
    "generation",
}


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_quick_benchmark_produces_sane_rows(name: str, request: pytest.FixtureRequest) -> None:
    if name == "amqp":
        request.getfixturevalue("amqp_url")  # skips (or fails under CI) without RabbitMQ
    if name == "inmemory" and importlib.util.find_spec("faststream") is None:
        broker_missing("FastStream (the in-memory baseline)", "pip install -e '.[dev]'")
    report = run([name], quick=True)
    assert report["errors"] == {}
    rows = report["rows"]
    assert rows, f"{name} produced no rows"
    for row in rows:
        for key in ("harness", "measure", "target"):
            value = row[key]
            assert isinstance(value, float | int) and math.isfinite(value) and value > 0, (
                f"{row['name']}: {key}={value!r}"
            )
        if name in RATIO_BENCHMARKS:  # a ratio needs its baseline measured in the same run
            assert row["baseline"] is not None and math.isfinite(row["baseline"])
            assert row["baseline"] > 0
    table = format_table(rows)
    for row in rows:
        assert row["name"] in table


def test_runner_writes_json_and_rejects_unknown_names(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert main(["--quick", "--only", "conformance", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["machine"]["nproc"] >= 1
    assert [r["name"] for r in report["rows"]] == [
        "conformance JSON Schema",
        "conformance Avro",
    ]
    with pytest.raises(SystemExit) as exc:
        main(["--only", "nope"])
    assert exc.value.code == 2
