"""Shards for CI matrices: ``run --shard K/N`` keeps a share that is the same on every
machine, N shares hold every scenario exactly once, ``--durations-from`` balances them, and
``report merge`` makes one JSON report and one JUnit file of the shards' reports."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from junitparser import JUnitXml

from eventharness.files.model import ScenarioFile
from eventharness.files.shards import Shard, parse_shard, scenario_key, shard_files
from eventharness.model.errors import ConfigError
from eventharness.reports.merge import merge_json, merge_junit

EXE = str(Path(sys.executable).parent / "eventharness")

CONFIG = """\
[profiles.default]
brokers = { bus = "memory://shards" }
within = "2s"
"""

PASSES = """\
name: {name}
vars: {{order_id: "o-${{uuid}}"}}
steps:
  - publish: {{channel: bus:orders, key: "${{order_id}}",
              value: {{type: OrderPlaced, order_id: "${{order_id}}"}}}}
  - expect: {{as: seen, channel: bus:orders, type: OrderPlaced, within: 2s}}
"""

FAILS = PASSES.replace("type: OrderPlaced, within: 2s", "type: NeverSent, within: 200ms")
XFAILS = "xfail: {{kind: timeout, reason: on purpose}}\n" + FAILS


def files(n: int) -> list[ScenarioFile]:
    return [ScenarioFile(path=f"scenarios/s{i:03}.yaml", name=f"scenario {i}") for i in range(n)]


@pytest.mark.parametrize("total", [1, 2, 3, 7])
def test_the_shares_hold_every_scenario_exactly_once_in_any_order(total: int) -> None:
    suite = files(40)
    shuffled = random.Random(total).sample(suite, len(suite))
    shares = [shard_files(suite, Shard(k, total)) for k in range(1, total + 1)]
    again = [shard_files(shuffled, Shard(k, total)) for k in range(1, total + 1)]
    seen = Counter(scenario_key(f) for share in shares for f in share)
    assert set(seen) == {scenario_key(f) for f in suite} and set(seen.values()) == {1}
    # the order files were found in does not move a scenario to another shard
    assert [{id(f) for f in s} for s in shares] == [{id(f) for f in s} for s in again]
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_a_scenario_stays_in_its_shard_when_the_folder_is_named_absolutely() -> None:
    relative = ScenarioFile(path="scenarios/a.yaml", name="a")
    absolute = ScenarioFile(path=str(Path.cwd() / "scenarios" / "a.yaml"), name="a")
    assert scenario_key(relative) == scenario_key(absolute) == "scenarios/a.yaml::a"


def test_durations_balance_the_shards() -> None:
    suite = files(9)
    # one long scenario and eight short ones: the long one gets a shard to itself
    durations = {scenario_key(f): 1.0 for f in suite}
    durations[scenario_key(suite[4])] = 8.0
    shares = [shard_files(suite, Shard(k, 2), durations) for k in (1, 2)]
    loads = sorted(sum(durations[scenario_key(f)] for f in share) for share in shares)
    assert loads == [8.0, 8.0]
    assert [suite[4]] in shares
    seen = Counter(scenario_key(f) for share in shares for f in share)
    assert len(seen) == 9 and set(seen.values()) == {1}


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", ""])
def test_a_malformed_shard_says_the_form(text: str) -> None:
    with pytest.raises(ConfigError, match=r"expected K/N with 1 <= K <= N, e\.g\. --shard 1/3"):
        parse_shard(text)


def test_merge_recounts_from_the_scenarios_and_keeps_the_longest_wall_time() -> None:
    first = {
        "summary": {"passed": 99, "duration_s": 2.0},  # counts are recounted, never copied
        "scenarios": [{"name": "b", "file": "b.yaml", "status": "failed", "duration_s": 1}],
    }
    second = {
        "summary": {"duration_s": 3.5},
        "scenarios": [
            {"name": "a", "file": "a.yaml", "status": "passed", "duration_s": 1},
            {"name": "c", "file": "c.yaml", "status": "failed", "xfail": {"outcome": "xfailed"}},
        ],
    }
    merged = merge_json([("1.json", first), ("2.json", second)])
    assert merged["summary"] == {
        "passed": 1,
        "xfailed": 1,
        "failed": 1,
        "errors": 0,
        "duration_s": 3.5,
    }
    assert [s["name"] for s in merged["scenarios"]] == ["a", "b", "c"]
    with pytest.raises(ConfigError, match=r"^x\.json: not a JSON report"):
        merge_json([("x.json", {"load": {}})])
    with pytest.raises(ConfigError, match=r"^x\.xml: not XML"):
        merge_junit([("x.xml", "<testsuites>")])


def write_suite(root: Path) -> dict[str, str]:
    (root / "eventharness.toml").write_text(CONFIG)
    kinds = {f"pass {i}": PASSES for i in range(5)}
    kinds.update({"fail 1": FAILS, "fail 2": FAILS, "xfail 1": XFAILS})
    folder = root / "scenarios"
    folder.mkdir()
    for i, (name, text) in enumerate(kinds.items()):
        (folder / f"{i:02}.yaml").write_text(text.format(name=name))
    return {name: text for name, text in kinds.items()}


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], cwd=root, capture_output=True, text=True, timeout=120)


def test_three_shards_as_three_processes_run_every_scenario_once_and_merge(
    tmp_path: Path,
) -> None:
    suite = write_suite(tmp_path)
    shards = [
        subprocess.Popen(
            [
                EXE,
                "run",
                "scenarios",
                "--shard",
                f"{k}/3",
                "--report-json",
                f"s{k}.json",
                "--junit",
                f"s{k}.xml",
                "--state-dir",
                f"state{k}",
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for k in (1, 2, 3)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in shards]
    names = [[s["name"] for s in json.loads((tmp_path / f"s{k}.json").read_text())["scenarios"]]
             for k in (1, 2, 3)]  # fmt: skip
    assert Counter(n for share in names for n in share) == Counter(set(suite))
    for k, (process, output, share) in enumerate(zip(shards, outputs, names, strict=True), 1):
        assert f"shard {k}/3: {len(share)} scenario" in output
        assert process.returncode == (1 if {"fail 1", "fail 2"} & set(share) else 0), output

    reports = [f"s{k}.json" for k in (1, 2, 3)] + [f"s{k}.xml" for k in (1, 2, 3)]
    done = run(tmp_path, "report", "merge", *reports, "--json", "m.json", "--junit", "m.xml")
    assert done.returncode == 0, done.stdout + done.stderr
    merged = json.loads((tmp_path / "m.json").read_text())
    assert sorted(s["name"] for s in merged["scenarios"]) == sorted(suite)
    assert {k: v for k, v in merged["summary"].items() if k != "duration_s"} == {
        "passed": 5,
        "xfailed": 1,
        "failed": 2,
        "errors": 0,
    }
    junit = JUnitXml.fromfile(str(tmp_path / "m.xml"))
    assert (junit.tests, junit.failures, junit.errors, junit.skipped) == (8, 2, 0, 1)
    assert sorted(case.name for suite_ in junit for case in suite_) == sorted(suite)

    # the same shares again, balanced by the merged report's durations: still each once
    again = [
        run(tmp_path, "run", "scenarios", "--shard", f"{k}/3", "--durations-from", "m.json")
        for k in (1, 2, 3)
    ]
    counted = sum(
        int(p.stdout.split(f"shard {k}/3: ")[1].split()[0]) for k, p in enumerate(again, 1)
    )
    assert counted == len(suite)


def test_shard_and_merge_mistakes_are_one_line_exit_2(tmp_path: Path) -> None:
    write_suite(tmp_path)
    (tmp_path / "notes.txt").write_text("hello\n")
    cases = [
        (["run", "scenarios", "--shard", "4/3"], "error: --shard '4/3': expected K/N"),
        (["run", "scenarios", "--durations-from", "x.json"], "give --shard K/N with it"),
        (["run", "scenarios", "--shard", "1/2", "--durations-from", "no.json"],
         "error: --durations-from no.json: cannot be read"),
        (["run", "scenarios", "--shard", "1/2", "--durations-from", "notes.txt"],
         "error: --durations-from notes.txt: not a JSON report of eventharness run"),
        (["report", "merge", "notes.txt", "--json", "m.json"],
         "error: notes.txt:1: neither JSON nor JUnit XML"),
        (["report", "merge", "missing.json", "--json", "m.json"],
         "error: missing.json: cannot be read"),
        (["report", "merge", "notes.txt"], "error: nothing to write: give --json OUT"),
    ]  # fmt: skip
    for args, message in cases:
        done = run(tmp_path, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
