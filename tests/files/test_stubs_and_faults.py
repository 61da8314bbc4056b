"""``stubs:`` and ``faults:`` in scenario files: parsed once into typed specs (durations in
seconds), every problem reported with file:line, and made into fresh engine objects per run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from eventharness.files.check_base import FileContext
from eventharness.files.fault_specs import CorruptSpec, DelaySpec, DropSpec
from eventharness.files.loader import load_file, load_files
from eventharness.files.located import UNSET
from eventharness.files.specs import make_faults
from eventharness.files.steps import Publish
from eventharness.files.stub_specs import ResponseSpec
from eventharness.model.errors import ScenarioFileError

CONTEXT = FileContext(brokers={"kafka"}, variables=())


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_stubs_load_into_typed_specs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: stubs
        stubs:
          - name: pay
            consume: kafka:orders
            type: OrderPlaced
            seed: 3
            respond:
              - channel: kafka:payments
                value: {id: "${in.value.order_id}"}
                when: {total: {gt: 1}}
                delay: 10ms
              - {channel: kafka:audit, key: null, value: 1}
            faults: [{drop: {nth: 2}}, duplicate, {delay: 200ms}]
        steps:
          - wait: 1s
        """,
    )
    (stub,) = load_file(path, CONTEXT).stubs
    assert (stub.name, stub.consume, stub.type, stub.seed, stub.line) == (
        "pay",
        "kafka:orders",
        "OrderPlaced",
        3,
        3,
    )
    first, second = stub.respond
    assert first == ResponseSpec(
        channel="kafka:payments",
        value={"id": "${in.value.order_id}"},
        when={"total": {"gt": 1}},
        delay=0.01,
        file=str(path),
        line=8,
    )
    assert (first.key, second.key) == (UNSET, None)  # the consumed key / no key
    assert [type(f) for f in stub.faults] == [DropSpec, type(stub.faults[1]), DelaySpec]
    assert [f.label() for f in make_faults(stub.faults, stub.seed)] == [
        "fault drop nth=2",
        "fault duplicate",
        "fault delay 0.2s",
    ]
    assert {f.seed for f in make_faults(stub.faults, stub.seed)} == {3}


def test_stub_problems_all_at_once_with_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: bad stubs
        vars: {order: o-1}
        stubs:
          - consume: no-broker
            respond: [{value: 1}]
          - name: x
            consume: kafka:a
            respond: [{channel: kafka:b, vale: 1}]
            faults: [{explode: {}}, {drop: {rate: 2}}, {delay: soon}]
          - name: y
            consume: kafka:a
            match: {total: {regex: "("}}
            respond: [{channel: kafka:b, value: "${order}-${nope}"}]
            colour: red
          - {name: y, consume: kafka:a}
        steps:
          - wait: 1s
        """,
    )
    with pytest.raises(ScenarioFileError) as caught:
        load_files([path], lambda _p: CONTEXT)
    problems = caught.value.problems
    expected = [
        (5, "stub 'no-broker': respond[0]: a response needs channel:"),
        (8, "stub 'x': respond[0]: unknown key 'vale'; did you mean 'value'?"),
        (9, "stub 'x': faults[0]: unknown fault 'explode'"),
        (9, "stub 'x': faults[1]: drop: rate must be a number from 0 to 1, got 2"),
        (9, "stub 'x': faults[2]: delay: 'soon' is not a duration"),
        (12, "stub 'y': match.total: bad regex '('"),
        (13, "stub 'y': respond[0]: ${nope} is not something a stub knows"),
        (14, "stub 'y': unknown key 'colour'"),
        (15, "stub 'y': another stub has this name"),
    ]
    for line, fragment in expected:
        assert any(p.startswith(f"{path}:{line}: ") and fragment in p for p in problems), (
            line,
            fragment,
            problems,
        )
    assert not any("${order}" in p for p in problems)  # a scenario variable is known
    path.write_text(path.read_text().replace("no-broker", "kafak:orders"))
    with pytest.raises(ScenarioFileError) as caught:
        load_files([path], lambda _p: CONTEXT)
    assert caught.value.problems[0].startswith(f"{path}:4: stub 'kafak:orders': channel ")
    assert "did you mean 'kafka'" in caught.value.problems[0]


def test_faults_of_a_publish_step(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: faults
        steps:
          - publish:
              channel: kafka:orders
              value: {}
              seed: 9
              faults: [{delay: 200ms}, {delay: {seconds: 1, jitter: 50ms, every: 2}},
                       {drop: {nth: 2}}, duplicate, {corrupt: bytes}, {corrupt: amount},
                       {corrupt: {field: amount, value: 43}},
                       {reorder: {hold: 2, release_after: 2s}}, {pause: {seconds: 1s, nth: 3}}]
        """,
    )
    (step,) = load_file(path, CONTEXT).steps
    assert isinstance(step, Publish)
    corrupt = [f for f in step.faults if isinstance(f, CorruptSpec)]
    assert [(c.target, c.value) for c in corrupt] == [
        (None, UNSET),
        ("amount", UNSET),
        ("amount", 43),
    ]
    faults = make_faults(step.faults, step.seed)
    assert [f.label() for f in faults] == [
        "fault delay 0.2s",
        "fault delay 1s±0.05s every=2",
        "fault drop nth=2",
        "fault duplicate",
        "fault corrupt bytes",
        "fault corrupt field=amount",
        "fault corrupt field=amount",
        "fault reorder hold=2",
        "fault pause 1s nth=3",
    ]
    assert {f.seed for f in faults} == {9}
    assert make_faults(step.faults)[0] is not faults[0]  # fresh objects for each run


@pytest.mark.parametrize(
    ("faults", "words"),
    [
        ("{delay: 1}", "faults: must be a list, e.g. [{delay: 200ms}, {drop: {nth: 2}}]"),
        ("[{drop: {nth: 0}}]", "faults[0]: drop: nth must be a whole number ≥ 1"),
        ("[{duplicate: {copies: 0}}]", "faults[0]: duplicate: copies must be a whole number ≥ 1"),
        ("[{reorder: {hold: 1, wait: 2}}]", "faults[0]: reorder has no option 'wait'"),
        ("[{pause: {nth: 2}}]", "faults[0]: pause: needs seconds:"),
        ("[{drop: 3}]", "faults[0]: drop takes options as a mapping, got 3"),
        ("[{drop: {}, duplicate: {}}]", "faults[0]: write one fault as {kind: options}"),
    ],
)
def test_bad_faults_are_named(tmp_path: Path, faults: str, words: str) -> None:
    path = write(
        tmp_path,
        f"""\
        name: bad faults
        steps:
          - publish: {{channel: kafka:orders, value: {{}}, faults: {faults}}}
        """,
    )
    with pytest.raises(ScenarioFileError) as caught:
        load_file(path, CONTEXT)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}:3: ") and words in problem, problem
