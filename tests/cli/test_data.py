"""Test data in scenario files, through the CLI: data tables (one reported scenario per row, in
every report), ``$generate`` values, and the bad inputs that must exit 2 with file:line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from junitparser import JUnitXml

from tests.cli.test_cli import REPO, cli, no_traceback

CONFIG = """\
[profiles.default]
brokers = { kafka = "memory://data" }
within = "2s"
schemas = "schemas"
"""

TABLE = """\
name: order echo
data: orders.csv
steps:
  - publish: {channel: kafka:orders, schema: shop.OrderPlaced,
              value: {$generate: shop.OrderPlaced, with: {total: "${row.total}"}}}
  - expect: {as: seen, channel: kafka:orders, type: OrderPlaced,
             match: {total: "${row.total}"}, within: 1s}
"""


PROPERTY = """\
name: property
examples: 3
generate:
  order: {spec}
steps:
  - publish: {{channel: kafka:orders, value: "${{order}}"}}
"""


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "eventharness.toml").write_text(CONFIG)
    (tmp_path / "schemas").mkdir()
    shutil.copy(REPO / "examples/shop/schemas/shop.OrderPlaced.json", tmp_path / "schemas")
    for name, text in files.items():
        path = tmp_path / "scenarios" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


def test_a_table_of_100_rows_is_100_reported_scenarios(tmp_path: Path) -> None:
    csv = "total,currency\n" + "".join(f"{i},EUR\n" for i in range(100))
    # a wide window: each row draws its order first, and a busy machine can take a while
    table = TABLE.replace("within: 1s", "within: 10s")
    root = project(tmp_path, {"table.yaml": table, "orders.csv": csv})
    done = cli(root, "run", "scenarios", "--junit", "j.xml", "--report-json", "r.json")
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "100 passed" in done.stdout
    assert "order echo [row 3: total=2, currency=EUR]" in done.stdout
    cases = [case.name for suite in JUnitXml.fromfile(str(root / "j.xml")) for case in suite]
    assert len(cases) == 100
    assert "order echo [row 100: total=99, currency=EUR]" in cases
    report = json.loads((root / "r.json").read_text())
    assert report["summary"]["passed"] == 100
    assert [s["name"] for s in report["scenarios"]][:2] == [
        "order echo [row 1: total=0, currency=EUR]",
        "order echo [row 2: total=1, currency=EUR]",
    ]


def test_a_failing_row_fails_under_its_own_name(tmp_path: Path) -> None:
    text = TABLE.replace('match: {total: "${row.total}"}', 'match: {total: "${row.want}"}')
    rows = '{"total": 1, "want": 1}\n{"total": 2, "want": 3}\n'
    root = project(
        tmp_path, {"table.yaml": text.replace("orders.csv", "rows.jsonl"), "rows.jsonl": rows}
    )
    done = cli(root, "run", "scenarios", "--report-json", "r.json")
    assert done.returncode == 1, done.stdout + done.stderr
    status = {
        s["name"]: s["status"] for s in json.loads((root / "r.json").read_text())["scenarios"]
    }
    assert status == {
        "order echo [row 1: total=1, want=1]": "passed",
        "order echo [row 2: total=2, want=3]": "failed",
    }


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "a.yaml": "name: a\nsteps:\n  - publish: {channel: kafka:orders,\n"
                "              value: {$generate: shop.Nope}}\n"
            },
            "scenarios/a.yaml:4: $generate: schema 'shop.Nope' not found",
        ),
        (
            {
                "a.yaml": "name: a\nsteps:\n  - publish:\n      channel: kafka:orders\n"
                "      value: {$generate: shop.OrderPlaced, with: {total: -5}}\n"
            },
            "scenarios/a.yaml:5: $generate: shop.OrderPlaced@1: total=-5 does not conform",
        ),
        (
            {"a.yaml": TABLE, "orders.csv": 'total\n1\n"2\n'},
            "scenarios/a.yaml:2: data: scenarios/orders.csv:3: not valid CSV",
        ),
        (
            {"a.yaml": TABLE.replace("orders.csv", "rows.yaml"), "rows.yaml": "- {total: [1\n"},
            "scenarios/a.yaml:2: data: scenarios/rows.yaml:2: not valid YAML",
        ),
        (
            {
                "a.yaml": TABLE.replace("orders.csv", "rows.jsonl"),
                "rows.jsonl": '{"total": 1}\n{"sum": 2}\n',
            },
            "scenarios/a.yaml:5: ${row.total}: row 2 of scenarios/rows.jsonl has no column 'total'",
        ),
        (
            {"a.yaml": TABLE.replace("orders.csv", "missing.csv")},
            "scenarios/a.yaml:2: data: scenarios/missing.csv:1: cannot read the data table",
        ),
        (
            {"a.yaml": PROPERTY.format(spec="{$generate: shop.Nope}")},
            "scenarios/a.yaml:4: generate.order: $generate: schema 'shop.Nope' not found",
        ),
        (
            {"a.yaml": PROPERTY.format(spec="{$generate: shop.OrderPlaced, with: {total: -1}}")},
            "scenarios/a.yaml:4: generate.order: $generate: shop.OrderPlaced@1: total=-1 does "
            "not conform",
        ),
        (
            {
                "a.yaml": TABLE.replace("orders.csv", "rows.jsonl"),
                "rows.jsonl": '{"total": 1}\n{"total": 2\n',
            },
            "scenarios/a.yaml:2: data: scenarios/rows.jsonl:2: not a JSON object",
        ),
        (
            {"a.yaml": TABLE, "orders.csv": "total,currency\n1,EUR\n2\n"},
            "scenarios/a.yaml:2: data: scenarios/orders.csv:3: 1 cells, but the header has 2",
        ),
        (
            {"a.yaml": TABLE, "orders.csv": "sum,currency\n1,EUR\n"},
            "scenarios/a.yaml:5: ${row.total}: row 1 of scenarios/orders.csv has no column 'total'",
        ),
        (
            {"a.yaml": PROPERTY.format(spec='"${fake.nmae}"')},
            "scenarios/a.yaml:4: ${fake.nmae}: unknown Faker provider 'nmae' (did you mean "
            "'name'?)",
        ),
    ],
    ids=[
        "unknown-subject",
        "bad-override",
        "bad-csv",
        "bad-yaml",
        "missing-column",
        "no-file",
        "unknown-subject-in-generate",
        "bad-override-in-generate",
        "bad-jsonl",
        "short-csv-row",
        "missing-csv-column",
        "unknown-faker-provider",
    ],
)
def test_bad_test_data_exits_2_with_file_and_line(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    root = project(tmp_path, files)
    done = cli(root, "run", "scenarios")
    no_traceback(done)
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stdout + done.stderr


VALIDATE_IN_PROCESS = """\
import sys
from eventharness.cli import main
sys.argv = ["eventharness", "validate", "scenarios"]
try:
    main()
except SystemExit as exit:
    print("EXIT", exit.code)
print("LOADED", sorted({"hypothesis", "hypothesis_jsonschema", "faker"} & set(sys.modules)))
"""


@pytest.mark.parametrize(
    ("spec", "exit_code", "problem"),
    [
        ("{$generate: shop.OrderPlaced, with: {currency: EUR}}", 0, ""),
        (
            "{$generate: shop.OrderPlaced, with: {total: -1}}",
            2,
            "scenarios/a.yaml:4: generate.order: $generate: shop.OrderPlaced@1: total=-1",
        ),
        ("{$generate: shop.OrderPlaced, with: {totl: 1}}", 2, "has no property 'totl'"),
    ],
    ids=["valid", "bad-override", "unknown-field"],
)
def test_validate_checks_generate_without_importing_hypothesis(
    tmp_path: Path, spec: str, exit_code: int, problem: str
) -> None:
    """Hypothesis (and hypothesis-jsonschema) take a third of validate's time to import; the
    load-time check of ``$generate`` finds its problems without them."""
    root = project(tmp_path, {"a.yaml": PROPERTY.format(spec=spec)})
    done = subprocess.run(
        [sys.executable, "-c", VALIDATE_IN_PROCESS], cwd=root, capture_output=True, text=True
    )
    out = done.stdout + done.stderr
    no_traceback(done)
    assert f"EXIT {exit_code}" in out
    assert problem in out
    assert done.stdout.strip().splitlines()[-1] == "LOADED []", out


FAKE_FAILS = """\
name: a realistic customer
vars: {customer: "${fake.name}"}
steps:
  - publish: {channel: kafka:orders, value: {type: OrderPlaced, customer: "${customer}",
              iban: "${fake.iban}"}}
  - expect: {channel: kafka:orders, match: {customer: nobody}, within: 300ms}
"""


def test_a_failure_replays_with_the_printed_seed(tmp_path: Path) -> None:
    """A run without --seed prints its seed; running again with it sends the same values (the
    nearest miss shows them), and another seed sends others."""
    root = project(tmp_path, {"fake.yaml": FAKE_FAILS})
    first = cli(root, "run", "scenarios")
    assert first.returncode == 1, first.stdout + first.stderr
    seed = re.search(r"seed (\d+) \(--seed \1 replays the generated values\)", first.stdout)
    assert seed is not None, first.stdout
    miss = re.compile(r"customer: expected 'nobody', got '([^']+)'")
    shown = miss.search(first.stdout)
    assert shown is not None, first.stdout
    again = cli(root, "run", "scenarios", "--seed", seed.group(1))
    assert miss.search(again.stdout).group(1) == shown.group(1)  # type: ignore[union-attr]
    other = cli(root, "run", "scenarios", "--seed", str(int(seed.group(1)) + 1))
    assert miss.search(other.stdout).group(1) != shown.group(1)  # type: ignore[union-attr]
