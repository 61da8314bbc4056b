"""The load report: HDR percentiles, SLOs, the JSON form read back, and merging reports of
several processes exactly (the same percentiles as one histogram of all the samples)."""

from __future__ import annotations

import json
import random

import pytest

from eventharness.reports.load import Latencies, LoadStats, merge_load, parse_slo


def stats_of(samples: list[float], *, rate: float = 10, failed: int = 0) -> LoadStats:
    stats = LoadStats("flow", rate=rate, duration_s=30)
    for seconds in samples:
        stats.latency.record(seconds)
        stats.start_lag.record(seconds / 100)
        stats.hops.setdefault("kafka:a → kafka:b", Latencies()).record(seconds / 2)
    stats.flows = len(samples)
    stats.failed = failed
    stats.passed = len(samples) - failed
    if failed:
        stats.kinds["timeout"] = failed
    return stats


def test_merged_reports_have_the_percentiles_of_all_their_samples() -> None:
    rng = random.Random(7)
    parts = [[rng.lognormvariate(-3, 1) for _ in range(n)] for n in (1000, 2500, 700)]
    reports = [stats_of(part) for part in parts]
    # through JSON, as `report merge` reads them
    read = [LoadStats.from_dict(json.loads(json.dumps(r.to_dict()))) for r in reports]
    merged = merge_load(read)
    whole = stats_of([s for part in parts for s in part])
    assert merged.flows == whole.flows == 4200
    assert merged.latency.summary() == whole.latency.summary()
    assert merged.start_lag.summary() == whole.start_lag.summary()
    assert merged.hops["kafka:a → kafka:b"].summary() == whole.hops["kafka:a → kafka:b"].summary()
    assert merged.rate == 30 and merged.processes == 3
    # averaging the percentiles would be wrong: the p99 of the whole is not the mean of p99s
    mean_p99 = sum(r.latency.at(99) for r in reports) / 3
    assert merged.latency.at(99) != pytest.approx(mean_p99, rel=1e-3)


def test_percentiles_agree_with_the_samples_to_three_significant_digits() -> None:
    rng = random.Random(3)
    samples = sorted(rng.uniform(0.001, 0.5) for _ in range(10_000))
    stats = stats_of(samples)
    for percentile in (50, 90, 99, 99.9):
        exact = samples[min(len(samples) - 1, int(len(samples) * percentile / 100))] * 1000
        assert stats.latency.at(percentile) == pytest.approx(exact, rel=2e-3)
    assert stats.latency.summary()["max"] == pytest.approx(samples[-1] * 1000, rel=1e-3)


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("p99<500ms", True),
        ("p50<=1ms", False),
        ("max<2s", True),
        ("errors<1%", False),  # 2 of 100 failed
        ("errors<=2", True),
        ("late<1%", True),
        ("rate>=9.5/s", True),
        ("rate>=11/s", False),
    ],
)
def test_slos(text: str, holds: bool) -> None:
    stats = stats_of([0.1] * 100, failed=2)
    stats.achieved_rate = 10.0
    assert parse_slo(text).holds(stats) is holds


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("p99 500", "not an SLO"),
        ("p99<500", "give the unit"),
        ("p101<1s", "between p0 and p100"),
        ("errors<1s", "a count or a percentage"),
        ("rate>5ms", "flows per second"),
        ("latency<1s", "not an SLO"),
    ],
)
def test_a_bad_slo_says_how_to_write_one(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_slo(text)


def test_a_run_report_is_not_read_as_a_load_report() -> None:
    with pytest.raises(ValueError, match="not a load report"):
        LoadStats.from_dict({"summary": {"passed": 1}, "scenarios": []})
