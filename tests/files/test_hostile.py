"""Files that would hang or crash a careless reader: alias bombs, deep nesting, an unclosed
``${``. Each is one ``file:line`` problem (exit 2 from the CLI), quickly, never a traceback;
and the shipped schema of scenario files is printed for editors (``eventharness schema``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from eventharness.files.lines import MAX_ALIASED, MAX_DEPTH, read_yaml
from eventharness.files.loader import FileContext, load_files
from eventharness.model.errors import ConfigError, ScenarioFileError
from eventharness.schemas.store import LocalSchemaStore

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "eventharness")
CONTEXT = FileContext(brokers={"kafka"})

# Under 400 bytes that stand for 9^9 strings (the "billion laughs").
BOMB = (
    "name: bomb\n"
    + "a: &a ["
    + ",".join(["lol"] * 9)
    + "]\n"
    + "".join(
        f"{a}: &{a} [" + ",".join([f"*{p}"] * 9) + "]\n"
        for p, a in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "steps: []\n"
)


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioFileError) as caught:
        load_files([path], lambda _profile: CONTEXT)
    return caught.value.problems


def validate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, "validate", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def nested(levels: int) -> str:
    return "{a: " * levels + "1" + "}" * levels


def test_a_control_character_is_a_problem_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nsteps:\n  - wait: 1s\n# a bell \x07\n")
    assert problems_of(path) == [f"{path}:4: character #x0007 is not allowed in YAML"]


# -- alias bombs ---------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_an_alias_bomb_is_refused_at_the_alias_that_explodes(tmp_path: Path) -> None:
    assert len(BOMB) < 400
    path = write(tmp_path, BOMB)
    assert problems_of(path) == [
        f"{path}:7: YAML aliases expand to more than {MAX_ALIASED:,} nodes (an alias bomb?); "
        "write the values out or use fewer aliases"
    ]


def test_the_alias_limit_counts_what_aliases_stand_for() -> None:
    anchor = "a: &a [" + ", ".join(["1"] * 999) + "]\n"  # 1,000 nodes
    within = anchor + "b: [" + ", ".join(["*a"] * 100) + "]\n"
    beyond = anchor + "b: [" + ", ".join(["*a"] * 101) + "]\n"
    assert read_yaml(within, "x.yaml")[1] == []
    assert read_yaml(beyond, "x.yaml")[1] == [
        f"x.yaml:2: YAML aliases expand to more than {MAX_ALIASED:,} nodes (an alias bomb?); "
        "write the values out or use fewer aliases"
    ]


def test_light_alias_use_keeps_working(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: anchors
        vars: {order: &order {type: OrderPlaced, total: 42}}
        steps:
          - publish: {channel: kafka:orders, value: *order}
          - publish: {channel: kafka:orders, value: {<<: *order, total: 7}}
          - expect: &seen {channel: kafka:orders, within: 1s, match: *order}
          - expect: *seen
        """,
    )
    (file,) = load_files([path], lambda _profile: CONTEXT)
    values = [step.value for step in file.steps[:2]]
    assert values == [{"type": "OrderPlaced", "total": 42}, {"type": "OrderPlaced", "total": 7}]


def test_an_alias_inside_its_own_value(tmp_path: Path) -> None:
    path = write(tmp_path, "name: loop\nsteps: &s [*s]\n")
    assert problems_of(path) == [
        f"{path}:2: an alias refers to the value it is in; write the value out"
    ]


def test_validate_refuses_an_alias_bomb_quickly(tmp_path: Path) -> None:
    write(tmp_path, BOMB, "bomb.yaml")
    proc = validate("--broker", "kafka=memory://bomb", "bomb.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "bomb.yaml:7: YAML aliases expand to more than" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- deep nesting --------------------------------------------------------------------------


def test_nesting_600_levels_deep_is_refused(tmp_path: Path) -> None:
    flow = write(
        tmp_path, f"name: f\nsteps:\n  - publish: {{channel: k:a, value: {nested(600)}}}\n"
    )
    block = (
        "name: b\nvars:\n" + "".join("  " * i + "  a:\n" for i in range(600)) + "  " * 601 + "1\n"
    )
    path = write(tmp_path, block, "b.yaml")
    too_deep = f"nested more than {MAX_DEPTH} levels deep; flatten the value"
    assert problems_of(flow) == [f"{flow}:3: {too_deep}"]
    assert problems_of(path) == [f"{path}:{MAX_DEPTH + 2}: {too_deep}"]  # level n: line n + 1


def test_nesting_up_to_the_limit_loads() -> None:
    levels = MAX_DEPTH - 2  # under the file's mapping and vars:
    assert read_yaml(f"vars: {{v: {nested(levels)}}}\n", "x.yaml")[1] == []
    assert read_yaml(f"vars: {{v: {nested(levels + 1)}}}\n", "x.yaml")[1] == [
        f"x.yaml:1: nested more than {MAX_DEPTH} levels deep; flatten the value"
    ]


def test_aliases_count_towards_the_depth() -> None:
    text = f"a: &a {'[' * 60}1{']' * 60}\nb: {'[' * 60}*a{']' * 60}\n"
    assert read_yaml(text, "x.yaml")[1] == [
        f"x.yaml:2: nested more than {MAX_DEPTH} levels deep; flatten the value"
    ]


def test_a_value_at_the_limit_loads_and_is_checked(tmp_path: Path) -> None:
    # file, steps, the step, expect and match: 5 levels; the rest is the value's
    value = nested(MAX_DEPTH - 5)
    path = write(
        tmp_path,
        f"name: deep\nsteps:\n  - expect: {{channel: kafka:a, within: 1s, match: {value}}}\n",
    )
    (file,) = load_files([path], lambda _profile: CONTEXT)
    assert file.steps[0].match is not None


def test_validate_refuses_deep_nesting_with_exit_2(tmp_path: Path) -> None:
    write(
        tmp_path, f"name: deep\nsteps:\n  - publish: {{channel: kafka:a, value: {nested(600)}}}\n"
    )
    proc = validate("--broker", "kafka=memory://deep", "s.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert f"s.yaml:3: nested more than {MAX_DEPTH} levels deep" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("levels", [51, 600, 3000])
def test_a_deep_json_schema_file_is_refused(tmp_path: Path, levels: int) -> None:
    (tmp_path / "deep.Thing.json").write_text(
        '{"type": "object", "properties": {"a": ' * levels + "{}" + "}}" * levels
    )
    with pytest.raises(ConfigError) as caught:
        LocalSchemaStore(tmp_path).validator("deep.Thing")
    assert str(caught.value) == (
        f"{tmp_path / 'deep.Thing.json'}:1: nested more than 100 levels deep; "
        "flatten the schema ($defs and $ref)"
    )


def test_a_json_schema_file_under_the_limit_works(tmp_path: Path) -> None:
    (tmp_path / "deep.Thing.json").write_text(
        '{"type": "object", "properties": {"a": ' * 49 + '{"type": "string"}' + "}}" * 49
    )
    value: object = 1
    for _ in range(49):
        value = {"a": value}
    (violation,) = LocalSchemaStore(tmp_path).validator("deep.Thing").validate(value)
    assert "string" in violation.message


# -- an unclosed ${ -------------------------------------------------------------------------


def test_an_unclosed_reference_in_a_scenario_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: unclosed
        vars: {order_id: "o-${uuid}"}
        stubs:
          - consume: kafka:in
            respond: [{channel: kafka:out, value: "${in.key"}]
        steps:
          - publish: {channel: kafka:orders, value: {id: "${order_id"}}
          - publish: {channel: kafka:orders, value: {id: "$${order_id"}}
        """,
    )
    assert problems_of(path) == [
        f"{path}:5: stub 'kafka:in': respond[0]: '${{in.key' has no closing '}}': "
        "write ${in.key}, or $${ for a literal ${",
        f"{path}:7: '${{order_id' has no closing '}}': write ${{order_id}}, or $${{ for a "
        "literal ${",
    ]


def test_validate_refuses_an_unclosed_reference_in_the_config(tmp_path: Path) -> None:
    (tmp_path / "eventharness.toml").write_text(
        '[profiles.default]\nbrokers = { kafka = "memory://x" }\nvars = { home = "${env.HOME" }\n'
    )
    write(tmp_path, "name: a\nsteps:\n  - publish: {channel: kafka:a, value: 1}\n")
    proc = validate("s.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert (
        "eventharness.toml: profiles.default.vars.home: '${env.HOME' has no closing '}': "
        "write ${env.HOME}, or $${ for a literal ${"
    ) in proc.stderr.replace("\n", "")


# -- eventharness schema scenario ---------------------------------------------------------------


def test_schema_scenario_prints_the_schema_editors_use(tmp_path: Path) -> None:
    from jsonschema import validators

    proc = subprocess.run(
        [EXE, "schema", "scenario"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    cls = validators.validator_for(schema)
    assert cls.__name__ == "Draft202012Validator"
    cls.check_schema(schema)
    checker = cls(schema)
    shop = sorted((REPO / "scenarios" / "shop").glob("*.yaml"))
    assert shop
    for path in shop:
        errors = [e.message for e in checker.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], path
    assert list(checker.iter_errors({"name": "x", "steps": [{"expct": {}}]}))


def test_schema_of_an_unknown_kind(tmp_path: Path) -> None:
    proc = subprocess.run(
        [EXE, "schema", "scenaro"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert "no schema for 'scenaro' (did you mean 'scenario'?); kinds: scenario" in proc.stderr
    assert proc.stdout == ""
