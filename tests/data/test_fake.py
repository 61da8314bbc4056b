"""``${fake.*}`` values: Faker providers, seeded by the run's seed (a failure replays with the
same values), in vars, published values, stub replies and ``generate:``; an unknown provider is
a load-time error with file:line and the closest name; no Faker import when a run names none."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import eventharness as eh
from eventharness.data.fake import FakeValues, faker_name, plain, provider_problem, providers
from eventharness.files.loader import FileContext, load_files
from eventharness.files.outcome import Outcome
from eventharness.files.properties import run_any
from eventharness.files.runner import run_file
from eventharness.model.errors import ScenarioFileError

CONTEXT = FileContext(brokers={"kafka"}, variables=())

SCENARIO = """\
name: a customer pays
vars:
  customer: "${fake.name}"
stubs:
  - name: bank
    consume: kafka:orders
    respond:
      - channel: kafka:payments
        value: {type: Paid, payer: "${in.value.customer}", reference: "${fake.uuid4}",
                bank: "${fake.company}"}
steps:
  - publish: {channel: kafka:orders, value: {type: OrderPlaced, customer: "${customer}",
              iban: "${fake.iban}", email: "${fake.email}", note: "for ${fake.first_name}"}}
  - expect: {channel: kafka:payments, type: Paid, match: {payer: "${customer}"}, within: 2s}
"""


def load(tmp_path: Path, text: str, name: str = "s.yaml") -> Any:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    (found,) = load_files([path], lambda _p: CONTEXT)
    return found


async def values_of(memory_url: str, file: Any, seed: int) -> list[Any]:
    async with eh.Harness({"kafka": memory_url}) as h:
        outcome = await run_file(h, file, seed=seed)
    assert outcome.status == "passed", outcome.explain()
    sent = [e.value for e in outcome.result.events if e.direction == "out"]
    assert len(sent) >= 2, outcome.explain()  # the publish and the stub's reply
    return sent


def test_providers_are_the_faker_methods_that_take_no_argument() -> None:
    names = providers()
    assert {"name", "iban", "email", "uuid4", "date_of_birth", "pyint"} <= set(names)
    assert not {"seed_instance", "add_provider", "random", "format"} & set(names)
    assert "random_element" in names  # its elements have a default
    assert provider_problem("iban") is None
    problem = provider_problem("nmae") or ""
    assert "unknown Faker provider 'nmae' (did you mean 'name'?)" in problem


def test_values_are_seeded_and_json_ready() -> None:
    first, again, other = FakeValues(7), FakeValues(7), FakeValues(8)
    drawn = [first[n] for n in ("name", "iban", "email", "date_of_birth", "pydecimal")]
    assert drawn == [again[n] for n in ("name", "iban", "email", "date_of_birth", "pydecimal")]
    assert drawn[:3] != [other[n] for n in ("name", "iban", "email")]
    assert first["name"] != first["name"]  # a new value on each read
    dt.date.fromisoformat(drawn[3])  # a date, as ISO 8601 text
    assert isinstance(drawn[4], float)
    json.dumps(drawn)
    assert "name" in first and "nmae" not in first
    with pytest.raises(KeyError, match="did you mean 'iban'"):
        first["ibna"]
    assert plain({"d": dt.datetime(2024, 1, 2, 3, 4, 5), "x": decimal.Decimal("1.5")}) == {
        "d": "2024-01-02T03:04:05",
        "x": 1.5,
    }
    assert (faker_name("${fake.email}"), faker_name("x ${fake.email}")) == ("email", None)


async def test_vars_values_and_stub_replies_replay_with_the_seed(
    tmp_path: Path, memory_url: str
) -> None:
    file = load(tmp_path, SCENARIO)
    first = await values_of(memory_url, file, seed=11)
    again = await values_of(memory_url, file, seed=11)
    other = await values_of(memory_url, file, seed=12)
    assert first == again
    order, paid = first[0], first[1]
    assert order["customer"] == paid["payer"] and " " in order["customer"]
    assert "@" in order["email"] and order["note"].startswith("for ")
    assert len(paid["reference"]) == 36 and paid["bank"]
    assert other[0]["iban"] != order["iban"] and other[1]["reference"] != paid["reference"]


async def test_each_row_of_a_table_draws_its_own_values(tmp_path: Path, memory_url: str) -> None:
    (tmp_path / "rows.csv").write_text("n\n1\n2\n")
    path = tmp_path / "s.yaml"
    path.write_text("data: rows.csv\n" + SCENARIO)
    files = load_files([path], lambda _p: CONTEXT)
    names = [(await values_of(memory_url, f, seed=3))[0]["customer"] for f in files]
    assert len(set(names)) == 2


async def test_generate_takes_a_faker_value_in_a_property_run(
    tmp_path: Path, memory_url: str
) -> None:
    file = load(
        tmp_path,
        """\
        name: any payer is echoed
        examples: 5
        generate: {who: "${fake.name}"}
        steps:
          - publish: {channel: kafka:orders, value: {type: OrderPlaced, who: "${who}"}}
          - expect: {channel: kafka:orders, match: {who: "${who}"}, within: 2s}
        """,
    )
    async with eh.Harness({"kafka": memory_url}) as h:
        outcome: Outcome = await run_any(h, file, seed=5)
    assert outcome.status == "passed", outcome.explain()
    (sent,) = [e.value for e in outcome.result.events if e.direction == "out"]
    assert isinstance(sent["who"], str) and sent["who"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'name: a\nvars:\n  who: "${fake.nmae}"\nsteps:\n  - wait: 0.1\n',
            "s.yaml:3: ${fake.nmae}: unknown Faker provider 'nmae' (did you mean 'name'?)",
        ),
        (
            "name: a\nsteps:\n  - publish: {channel: kafka:o,\n"
            '              value: {iban: "${fake.ibna}"}}\n',
            "s.yaml:4: ${fake.ibna}: unknown Faker provider 'ibna' (did you mean 'iban'?)",
        ),
        (
            'name: a\nexamples: 3\ngenerate:\n  who: "${fake.emial}"\nsteps:\n  - wait: 0.1\n',
            "s.yaml:4: ${fake.emial}: unknown Faker provider 'emial' (did you mean 'email'?)",
        ),
        (
            "name: a\nstubs:\n  - name: s\n    consume: kafka:o\n    respond:\n"
            '      - {channel: kafka:p, value: {x: "${fake.cmopany}"}}\n'
            "steps:\n  - wait: 0.1\n",
            "s.yaml:6: stub 's': respond[0]: ${fake.cmopany}: unknown Faker provider 'cmopany'",
        ),
    ],
    ids=["vars", "publish", "generate", "stub"],
)
def test_an_unknown_provider_is_a_load_error_with_its_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioFileError) as caught:
        load_files([path], lambda _p: CONTEXT)
    assert expected in str(caught.value)


def test_faker_is_not_imported_by_a_run_that_names_no_fake_value(tmp_path: Path) -> None:
    """Loading and running a scenario without ``${fake.*}`` leaves Faker unimported."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: plain\nvars: {who: ann}\nsteps:\n"
        '  - publish: {channel: kafka:o, value: {who: "${who}"}}\n'
        '  - expect: {channel: kafka:o, match: {who: "${who}"}, within: 2s}\n'
    )
    program = f"""
import asyncio, sys
import eventharness as eh
from eventharness.files.loader import FileContext, load_files
from eventharness.files.runner import run_file
(file,) = load_files([{str(path)!r}], lambda _p: FileContext(brokers={{"kafka"}}))
async def main():
    async with eh.Harness({{"kafka": "memory://no-faker"}}) as h:
        return await run_file(h, file, seed=1)
outcome = asyncio.run(main())
print(outcome.status, "faker" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.split() == ["passed", "False"], done.stdout + done.stderr
