"""The rounds of ``watch`` as metrics and alerts: which round sends what (at most one message
a round, exactly one when it failed), flaky streaks, recoveries, and the metrics text as
prometheus-client's parser reads it. The command itself: tests/cli/test_watch.py."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import eventharness as eh
from eventharness.files.loader import load_file
from eventharness.files.runner import run_file
from eventharness.reports.alerts import AlertPolicy, check_webhook, webhook_origin
from eventharness.reports.hops import Hop
from eventharness.reports.monitor import ScenarioRun, WatchMetrics, WatchRound


def ok(name: str) -> ScenarioRun:
    return ScenarioRun(name, "passed", 0.2, hops=(Hop("kafka:a", "kafka:b", 0.004),))


def bad(name: str, kind: str = "timeout") -> ScenarioRun:
    return ScenarioRun(name, "failed", 1.5, (kind,), f"pay: no event on amqp://u:pw@h/ ({kind})")


def play(policy: AlertPolicy, pattern: str, other: str = "") -> list[tuple[str, ...] | None]:
    """Rounds of scenario ``s`` (and ``t``) by letters P/F; the reasons of each round's alert."""
    sent: list[tuple[str, ...] | None] = []
    for number, letter in enumerate(pattern, 1):
        runs = [ok("s") if letter == "P" else bad("s")]
        if other:
            runs.append(ok("t") if other[number - 1] == "P" else bad("t"))
        alert = policy.after(WatchRound(number, tuple(runs), 1.0))
        sent.append(alert.reasons if alert is not None else None)
    return sent


def test_exactly_one_alert_per_failing_round_and_recoveries() -> None:
    sent = play(AlertPolicy(), "PFFPPF")
    assert sent == [None, ("failure",), ("failure",), ("recovered",), None, ("failure",)]


def test_two_failing_scenarios_in_a_round_are_one_message() -> None:
    policy = AlertPolicy()
    alert = policy.after(WatchRound(7, (bad("s"), bad("t", "schema"), ok("u")), 2.0))
    assert alert is not None and alert.reasons == ("failure",)
    assert alert.text.splitlines() == [
        "eventharness watch: round 7 failed — 2 of 3 scenarios",
        "• s [timeout] pay: no event on amqp://u:***@h/ (timeout)",
        "• t [schema] pay: no event on amqp://u:***@h/ (schema)",
    ]
    assert b'"text"' in alert.payload() and b"pw@" not in alert.payload()


def test_a_flaky_streak_is_said_once_then_its_recoveries_are_quiet() -> None:
    sent = play(AlertPolicy(flaky_after=3), "PFPFPFPP")
    assert sent == [
        None,
        ("failure",),
        ("recovered",),
        ("failure", "flaky"),  # the third alternation: in the round's one message
        None,  # still flapping: no "passing again" every other round
        ("failure",),
        None,
        None,
    ]
    sent = play(AlertPolicy(flaky_after=2), "PFPFF" + "PFP")
    assert sent[2] == ("flaky",)  # a passing round that completes the streak sends it alone
    assert sent[5] == ("recovered",)  # FF broke the streak: a new one starts from FP
    assert sent[6] == ("failure", "flaky")


def test_recovered_messages_can_be_turned_off() -> None:
    assert play(AlertPolicy(recovered=False), "FPFP") == [("failure",), None, ("failure",), None]


def test_webhook_urls() -> None:
    assert check_webhook("https://hooks.slack.com/services/T/B/X") is None
    assert check_webhook("http://127.0.0.1:8080/hook") is None
    assert "http(s)" in str(check_webhook("ftp://example.com/x"))
    assert "http(s)" in str(check_webhook("example.com/hook"))
    assert check_webhook("https:///path") == "names no host"
    assert webhook_origin("https://u:pw@hooks.slack.com/services/T/B/SECRET") == (
        "https://hooks.slack.com"
    )


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_add_up_the_rounds_and_are_served() -> None:
    metrics = WatchMetrics()
    metrics.observe(WatchRound(1, (ok("s"), bad("t")), 2.0))
    metrics.observe(WatchRound(2, (ok("s"), ok("t")), 2.0))
    metrics.alerted(("failure",), delivered=False)
    server = metrics.serve(0)
    try:
        with urllib.request.urlopen(server.url, timeout=10) as answer:
            found = parse(answer.read().decode())
    finally:
        server.close()
    assert found == parse(metrics.text())  # /metrics serves what the registry holds
    assert found[("eventharness_watch_rounds_total", (("result", "passed"),))] == 1
    assert found[("eventharness_watch_rounds_total", (("result", "failed"),))] == 1
    runs = "eventharness_watch_scenario_runs_total"
    assert found[(runs, (("scenario", "t"), ("status", "failed")))] == 1
    assert found[(runs, (("scenario", "s"), ("status", "passed")))] == 2
    kinds = (("kind", "timeout"), ("scenario", "t"))
    assert found[("eventharness_watch_failures_total", kinds)] == 1
    hop = (("source", "kafka:a"), ("target", "kafka:b"))
    assert found[("eventharness_watch_hop_latency_seconds_count", hop)] == 3
    le = (("le", "0.005"), *hop)
    assert found[("eventharness_watch_hop_latency_seconds_bucket", le)] == 3
    le = (("le", "0.0025"), *hop)
    assert found[("eventharness_watch_hop_latency_seconds_bucket", le)] == 0
    assert found[("eventharness_watch_scenario_passing", (("scenario", "t"),))] == 1
    assert found[("eventharness_watch_alerts_total", (("reason", "undelivered"),))] == 1
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url, timeout=2)


async def test_a_run_becomes_a_scenario_run_with_its_hops(tmp_path: Path) -> None:
    folder = tmp_path
    (folder / "flow.yaml").write_text(
        "name: flow\n"
        "stubs:\n"
        "  - {name: pay, consume: bus:orders, type: Order,\n"
        "     respond: [{channel: bus:payments, value: {type: Paid}}]}\n"
        "steps:\n"
        "  - publish: {channel: bus:orders, value: {type: Order}}\n"
        "  - expect: {channel: bus:payments, type: Paid, within: 2s}\n"
        "  - expect: {as: never, channel: bus:payments, type: Refund, within: 10ms}\n"
    )
    file = load_file(folder / "flow.yaml")
    async with eh.Harness({"bus": "memory://"}) as harness:
        outcome = await run_file(harness, file)
    run = ScenarioRun.of(outcome)
    assert (run.name, run.status, run.kinds) == ("flow", "failed", ("timeout",))
    assert run.first_failure.startswith("never: ")
    assert [(h.source, h.target) for h in run.hops] == [("bus:orders", "bus:payments")]
