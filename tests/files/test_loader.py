"""YAML scenario files: every authoring mistake is reported with file:line before anything runs,
all at once; good files load into the model the runner uses; templates and durations."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from eventharness.engine.templates import Reference, parse_duration, references, render
from eventharness.files.loader import FileContext, load_file, load_files
from eventharness.model.errors import ScenarioFileError, UsageError
from eventharness.schemas import LocalSchemaStore

REPO = Path(__file__).resolve().parents[2]
CONTEXT = FileContext(
    brokers={"kafka", "rabbit"},
    variables={"view"},
    schemas=LocalSchemaStore(REPO / "examples" / "shop" / "schemas"),
)

GOOD_HEAD = """\
name: a scenario
vars: {order_id: "o-${uuid}"}
steps:
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path, context: FileContext = CONTEXT) -> list[str]:
    with pytest.raises(ScenarioFileError) as caught:
        load_files([path], lambda _profile: context)
    return caught.value.problems


# Each case: the steps (after GOOD_HEAD, so the first step is on line 4), the line the
# problem must name, and words the message must contain.
MISTAKES = {
    "unknown step kind, with the closest": (
        "  - expct: {channel: kafka:payments}\n",
        4,
        ["unknown step kind 'expct'", "did you mean 'expect'"],
    ),
    "unknown key in a step": (
        "  - publish: {channel: kafka:orders, value: {}}\n"
        "  - expect:\n      channel: kafka:payments\n      withn: 5s\n",
        7,
        ["expect: unknown key 'withn'", "did you mean 'within'"],
    ),
    "missing required key": (
        "  - publish: {value: {a: 1}}\n",
        4,
        ["publish: missing required key 'channel'"],
    ),
    "duration with a space": (
        "  - expect: {channel: kafka:payments,\n              within: 5 s}\n",
        5,
        ["within: '5 s' is not a duration", "250ms"],
    ),
    "negative duration": (
        "  - expect_none: {channel: kafka:payments, during: -1s}\n",
        4,
        ["during: '-1s' is not a duration"],
    ),
    "duration that is a word": ("  - wait: fast\n", 4, ["wait: 'fast' is not a duration"]),
    "unknown broker name": (
        "  - publish: {channel: kafak:orders, value: {}}\n",
        4,
        ["broker 'kafak', which is not configured", "did you mean 'kafka'"],
    ),
    "channel without a broker": (
        "  - publish:\n      value: {}\n      channel: orders\n",
        6,
        ["channel 'orders' has no broker name", "broker:address"],
    ),
    "undefined variable": (
        '  - publish: {channel: kafka:orders, value: {id: "${nope}"}}\n',
        4,
        ["undefined variable ${nope}", "vars:"],
    ),
    "unset environment variable": (
        "  - publish: {channel: kafka:orders,\n"
        '              key: "${env.EH_SURELY_NOT_SET_42}", value: {}}\n',
        5,
        ["EH_SURELY_NOT_SET_42 is not set", "${env.EH_SURELY_NOT_SET_42:-value}"],
    ),
    "after: a step defined later": (
        "  - expect: {channel: kafka:payments, after: pay}\n"
        "  - expect: {as: pay, channel: kafka:payments}\n",
        4,
        ["after: 'pay' is not an earlier", "comes later, on line 5"],
    ),
    "reference to a step that does not exist": (
        '  - check: {equal: ["${pay.value.amount}", 42]}\n',
        4,
        ["undefined variable ${pay.value.amount}"],
    ),
    "reference to a step that comes later": (
        '  - publish: {channel: kafka:orders, value: {a: "${pay.value.amount}"}}\n'
        "  - expect: {as: pay, channel: kafka:payments}\n",
        4,
        ["reads step 'pay', which comes later (line 5)"],
    ),
    "one_of without a list": (
        "  - expect:\n      channel: kafka:payments\n      match:\n"
        "        status: {one_of: paid}\n",
        7,
        ["one_of needs a list"],
    ),
    "misspelt operator beside an operator": (
        "  - expect:\n      channel: kafka:payments\n      match:\n"
        "        total: {gt: 1, lte: 5}\n",
        7,
        ["'lte' is not a match operator", "did you mean 'le'"],
    ),
    "bad regex": (
        '  - expect:\n      channel: kafka:payments\n      match:\n        id: {regex: "o-("}\n',
        7,
        ["bad regex 'o-('"],
    ),
    "duplicate step names": (
        "  - expect: {as: pay, channel: kafka:payments}\n"
        "  - expect: {as: pay, channel: kafka:payments}\n",
        5,
        ["step name 'pay' is already used by the step on line 4"],
    ),
    "eventually without a probe": (
        "  - eventually: {within: 5s}\n",
        4,
        ["eventually: needs exactly one probe"],
    ),
    "schema not in the store": (
        "  - expect: {channel: kafka:payments, schema: shop.PaymentAuthorised}\n",
        4,
        ["schema 'shop.PaymentAuthorised' not found", "shop.PaymentAuthorized"],
    ),
    "several kinds in one step": (
        "  - publish: {channel: kafka:orders, value: {}}\n    expect: {channel: kafka:x}\n",
        4,
        ["one step has several kinds (publish, expect)"],
    ),
    "count and at_least together": (
        "  - expect: {channel: kafka:payments, count: 2, at_least: 1}\n",
        4,
        ["either count: or at_least:/at_most:"],
    ),
    "order naming a missing step": (
        "  - expect: {as: a, channel: kafka:x}\n  - order: [a, b]\n",
        5,
        ["order: 'b' is not an earlier expect step"],
    ),
    "sql with an unsupported URL": (
        '  - eventually: {sql: {url: "mysql://db/x", query: select 1}}\n',
        4,
        ["url 'mysql://db/x' is not supported", "sqlite:///"],
    ),
    "step reference in a match": (
        "  - expect: {as: pay, channel: kafka:payments}\n"
        '  - expect: {channel: kafka:x, match: {id: "${pay.value.id}"}}\n',
        5,
        ["step references work in publish, eventually and check"],
    ),
}


@pytest.mark.parametrize("case", list(MISTAKES))
def test_each_mistake_names_file_line_and_fix(tmp_path: Path, case: str) -> None:
    steps, line, words = MISTAKES[case]
    path = write(tmp_path, GOOD_HEAD + steps)
    problems = problems_of(path)
    matching = [p for p in problems if all(w in p for w in words)]
    assert matching, f"no problem mentions {words}; got:\n" + "\n".join(problems)
    assert matching[0].startswith(f"{path}:{line}: "), matching[0]


FILE_MISTAKES = {
    "YAML syntax error": (
        "name: x\nsteps:\n  - publish: {channel: kafka:orders\n",
        4,
        "YAML syntax error",
    ),
    "not a mapping": ("- publish: {}\n", 1, "a scenario file is a mapping"),
    "empty file": ("", 1, "but this one is empty"),
    "unknown top-level key": (
        "name: x\nstep:\n  - wait: 1s\n",
        2,
        "unknown key 'step' at the top of a scenario; did you mean 'steps'",
    ),
    "missing name": ("steps:\n  - wait: 1s\n", 1, "missing 'name:'"),
    "duplicate key": ("name: x\nname: y\nsteps:\n  - wait: 1s\n", 2, "key 'name' appears twice"),
    "unknown xfail kind": (
        "name: x\nxfail: {kind: timout}\nsteps:\n  - wait: 1s\n",
        2,
        "kind 'timout' is not a failure kind; did you mean 'timeout'",
    ),
    "unknown profile": ("name: x\nprofile: dmeo\nsteps:\n  - wait: 1s\n", 2, "no profile 'dmeo'"),
}


@pytest.mark.parametrize("case", list(FILE_MISTAKES))
def test_file_level_mistakes(tmp_path: Path, case: str) -> None:
    text, line, words = FILE_MISTAKES[case]
    path = tmp_path / "f.yaml"
    path.write_text(text)

    def context_for(profile: str | None) -> FileContext:
        if profile not in (None, "default"):
            raise UsageError(f"no profile {profile!r}; profiles: default")
        return CONTEXT

    with pytest.raises(ScenarioFileError) as caught:
        load_files([path], context_for)
    found = [p for p in caught.value.problems if words in p]
    assert found, caught.value.problems
    assert found[0].startswith(f"{path}:{line}: ")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        """\
        name: many mistakes
        steps:
          - publish: {channel: kafak:orders, value: {id: "${nope}"}}
          - expct: {channel: kafka:payments}
          - wait: 5 s
        """,
        "a.yaml",
    )
    other = write(tmp_path, "name: another\nsteps:\n  - wait: soon\n", "b.yaml")
    with pytest.raises(ScenarioFileError) as caught:
        load_files([tmp_path], lambda _p: CONTEXT)
    problems = caught.value.problems
    assert [p.split(": ")[0] for p in problems] == [
        f"{bad}:3",
        f"{bad}:3",
        f"{bad}:4",
        f"{bad}:5",
        f"{other}:3",
    ]
    assert "'soon' is not a duration" in problems[-1]
    assert str(caught.value).startswith("5 problems in scenario files:")


def test_a_good_file_loads_into_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EH_TEST_TENANT", "acme")
    path = write(
        tmp_path,
        """\
        name: order ships
        description: the happy path
        tags: [smoke]
        within: 5s
        settle: 250ms
        xfail: {kind: timeout, reason: known bug}
        stubs:
          - consume: kafka:orders
        vars:
          order_id: "o-${uuid}"
          tenant: "${env.EH_TEST_TENANT}"
          region: "${env.EH_TEST_REGION_UNSET:-eu}"
        steps:
          - publish: {channel: kafka:orders, key: "${order_id}", schema: shop.OrderPlaced,
                      value: {type: OrderPlaced, order_id: "${order_id}", total: 42}}
          - expect: {as: pay, channel: kafka:payments, match: {type: PaymentAuthorized},
                     within: 5s}
          - expect: {channel: "rabbit:shipping/shipment.*", after: pay, within: 10s}
          - expect_none: {channel: kafka:payments, match: {type: PaymentDeclined}, during: 2s}
          - eventually: {http: {get: "${view}/orders/${order_id}", json: {status: shipped}},
                         within: 15s}
          - check: {equal: ["${pay.value.amount}", 42]}
          - wait: 250ms
          - order: [pay, expect]
        """,
    )
    with pytest.raises(ScenarioFileError) as caught:  # `expect` is not a step name
        load_file(path, CONTEXT)
    assert "order: 'expect' is not an earlier expect step" in caught.value.problems[0]
    path.write_text(path.read_text().replace("order: [pay, expect]", "correlate: x"))
    found = load_file(path, CONTEXT)
    assert found.name == "order ships"
    assert (found.within, found.settle, found.tags) == (5.0, 0.25, ("smoke",))
    assert found.xfail is not None and found.xfail.kind == "timeout"
    assert [(s.name, s.consume, s.line) for s in found.stubs] == [
        ("kafka:orders", "kafka:orders", 8)
    ]
    assert list(found.vars) == ["order_id", "tenant", "region"]
    assert [s.kind for s in found.declarations] == ["expect", "expect", "expect_none", "correlate"]
    assert [s.kind for s in found.actions] == ["publish", "eventually", "check", "wait"]
    assert [s.line for s in found.steps] == [14, 16, 18, 19, 20, 22, 23, 24]


def test_repository_scenarios_are_valid() -> None:
    from eventharness.env.config import load_config

    config = load_config(REPO / "eventharness.toml")
    profile = config.profile("default")
    context = FileContext(
        set(profile.brokers),
        set(profile.vars),
        LocalSchemaStore(profile.schemas) if profile.schemas else None,
    )
    files = load_files([REPO / "scenarios" / "shop"], lambda _p: context)
    assert len(files) >= 5


# --- templates and durations ---------------------------------------------------------------


def test_render_keeps_the_type_of_a_lone_reference() -> None:
    values = {"n": 42, "s": "o-1", "d": {"a": [1, 2]}}

    def resolve(ref: Reference) -> object:
        return values[ref.name]

    assert render("${n}", resolve) == 42
    assert render("${d}", resolve) == {"a": [1, 2]}
    assert render("total ${n} for ${s}", resolve) == "total 42 for o-1"
    assert render({"k-${s}": ["${n}", "$${literal}"]}, resolve) == {"k-o-1": [42, "${literal}"]}


def test_references_and_defaults() -> None:
    found = references({"a": ["${env.X:-fallback}", "x ${pay.value.amount} y"], "$${no}": 1})
    assert [(r.name, r.default, r.head) for r in found] == [
        ("env.X", "fallback", "env"),
        ("pay.value.amount", None, "pay"),
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("5s", 5.0),
        ("2m", 120.0),
        ("1.5s", 1.5),
        ("1h", 3600.0),
        (3, 3.0),
        (0.5, 0.5),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5 s", "-1s", "fast", "0s", "", "5", True, None, "1d"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_zero_is_allowed_where_it_means_off() -> None:
    assert parse_duration("0s", allow_zero=True) == 0.0


def test_two_files_with_one_name(tmp_path: Path) -> None:
    first = write(tmp_path, "name: same\nsteps:\n  - wait: 1s\n", "a.yaml")
    write(tmp_path, "\nname: same\nsteps:\n  - wait: 1s\n", "b.yaml")
    problems = problems_of(tmp_path)
    assert problems == [
        f"{tmp_path / 'b.yaml'}:2: scenario name 'same' is also used by {first}:1; give each "
        "scenario its own name"
    ]


# --- running files (memory broker, the in-process two-hop shop) ----------------------------

from eventharness.engine.harness import Harness  # noqa: E402
from eventharness.files.outcome import Outcome  # noqa: E402
from eventharness.files.runner import run_files, select_files  # noqa: E402
from tests.inprocess_shop import running_shop  # noqa: E402

MEMORY_CONTEXT = FileContext(brokers={"kafka", "rabbit"}, variables={"region"})


def folder(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


async def run_texts(
    memory_url: str,
    tmp_path: Path,
    texts: dict[str, str],
    fault: str | None = None,
    **options: object,
) -> list[Outcome]:
    for name, text in texts.items():
        write(tmp_path, text, name)
    files = load_files([tmp_path], lambda _p: MEMORY_CONTEXT)
    async with (
        running_shop(memory_url, fault),
        Harness({"kafka": memory_url, "rabbit": memory_url}, within=2.0) as h,
    ):
        return await run_files(h, files, variables={"region": "eu"}, **options)  # type: ignore[arg-type]


FLOW = """\
name: {name}
vars: {{order_id: "o-${{uuid}}", total: 42}}
steps:
  - publish: {{channel: kafka:orders, key: "${{order_id}}",
              value: {{type: OrderPlaced, order_id: "${{order_id}}", total: "${{total}}",
                      region: "${{region}}", at: "${{now}}"}}}}
  - expect: {{as: pay, channel: kafka:payments, type: PaymentAuthorized,
             match: {{order_id: "${{order_id}}"}}, within: 1s}}
  - expect: {{as: ship, channel: "rabbit:shipping/shipment.*", after: pay, within: 1s}}
  - publish: {{channel: kafka:audit, key: "${{pay.value.order_id}}",
              value: {{type: Audited, amount: "${{pay.value.amount}}",
                      text: "paid ${{pay.value.amount}}"}}}}
  - expect: {{as: audit, channel: kafka:audit, type: Audited, match: {{amount: 42}}}}
  - order: [pay, ship]
  - check: {{as: amounts agree, equal: ["${{pay.value.amount}}", "${{ship.value.amount}}",
                                       "${{total}}"]}}
  - wait: 10ms
"""


async def test_a_file_runs_as_written(memory_url: str, tmp_path: Path) -> None:
    (outcome,) = await run_texts(memory_url, tmp_path, {"a.yaml": FLOW.format(name="flow")})
    assert outcome.status == "passed", outcome.explain()
    events = [(e.direction, e.channel, e.type) for e in outcome.result.events]
    # expectations written after the publish were armed before it: nothing was missed
    assert events[:3] == [
        ("out", "kafka:orders", "OrderPlaced"),
        ("in", "kafka:payments", "PaymentAuthorized"),
        ("in", "rabbit:shipping/shipment.*", "ShipmentScheduled"),
    ]
    published = [e for e in outcome.result.events if e.direction == "out"]
    assert published[0].value["total"] == 42  # a lone ${total} keeps the number
    assert published[0].value["region"] == "eu"  # a profile variable
    assert published[0].value["at"].endswith("Z")
    # the second publish waited for pay and read its event
    assert published[1].value == {"type": "Audited", "amount": 42, "text": "paid 42"}
    assert published[1].key == published[0].key


async def test_a_failed_check_names_the_values(memory_url: str, tmp_path: Path) -> None:
    text = FLOW.format(name="wrong amount").replace('"${total}"]', "43]")
    (outcome,) = await run_texts(memory_url, tmp_path, {"a.yaml": text})
    assert outcome.status == "failed"
    assert [(f.kind, f.step, f.message) for f in outcome.failures] == [
        (
            "consistency",
            "amounts agree",
            "values differ: pay.value.amount=42, ship.value.amount=42, 43=43",
        ),
    ]


async def test_faults_fail_with_their_kind(memory_url: str, tmp_path: Path) -> None:
    (outcome,) = await run_texts(
        memory_url, tmp_path, {"a.yaml": FLOW.format(name="dup")}, fault="duplicated"
    )
    assert outcome.status == "failed"
    assert outcome.result.kinds == ["duplicate"]


XFAIL = """\
name: {name}
xfail: {{kind: {kind}, reason: payments drops orders}}
steps:
  - publish: {{channel: kafka:orders, key: k, value: {{type: OrderPlaced, order_id: k, total: 1}}}}
  - expect: {{channel: kafka:payments, type: PaymentAuthorized, within: 300ms}}
"""


async def test_xfail(memory_url: str, tmp_path: Path) -> None:
    outcomes = await run_texts(
        memory_url,
        tmp_path,
        {
            "a.yaml": XFAIL.format(name="fails as expected", kind="timeout"),
            "b.yaml": XFAIL.format(name="fails otherwise", kind="schema"),
        },
        fault="dropped",
    )
    assert [(o.status, o.xfail_outcome) for o in outcomes] == [
        ("passed", "xfailed"),
        ("failed", "failed"),
    ]
    assert outcomes[0].to_dict()["xfail"] == {"kind": "timeout", "outcome": "xfailed"}
    (passing,) = await run_texts(
        memory_url, folder(tmp_path, "passing"), {"c.yaml": XFAIL.format(name="xp", kind="timeout")}
    )
    assert (passing.status, passing.xfail_outcome) == ("failed", "xpassed")
    assert [(f.kind, f.step) for f in passing.failures] == [("unexpected", "xfail")]
    assert "expected to fail with 'timeout', but passed" in passing.explain()


async def test_concurrent_files_see_only_their_own(memory_url: str, tmp_path: Path) -> None:
    texts = {f"f{i:02}.yaml": FLOW.format(name=f"flow {i}") for i in range(12)}
    outcomes = await run_texts(memory_url, tmp_path, texts, concurrency=6)
    assert [o.status for o in outcomes] == ["passed"] * 12
    assert [o.file.name for o in outcomes] == [f"flow {i}" for i in range(12)]
    for outcome in outcomes:
        assert {e.correlation_id for e in outcome.result.events} == {outcome.result.correlation_id}


async def test_fail_fast_starts_nothing_after_a_failure(memory_url: str, tmp_path: Path) -> None:
    texts = {
        "a.yaml": FLOW.format(name="first").replace("type: PaymentAuthorized", "type: Nope"),
        "b.yaml": FLOW.format(name="second"),
        "c.yaml": FLOW.format(name="third"),
    }
    outcomes = await run_texts(memory_url, tmp_path, texts, concurrency=1, fail_fast=True)
    assert [(o.file.name, o.status) for o in outcomes] == [("first", "failed")]


async def test_probes_sql_and_command(memory_url: str, tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "state.db"
    with sqlite3.connect(db) as connection:
        connection.execute("create table orders (id text, status text)")
        connection.execute("insert into orders values ('o-1', 'shipped')")
    text = f"""\
name: probes
steps:
  - eventually: {{sql: {{url: "sqlite:///{db}", query: "select status from orders",
                         equals: shipped}}, within: 1s}}
  - eventually: {{sql: {{url: "sqlite:///{db}", query: "select id, status from orders",
                         equals: [[o-1, shipped]]}}, within: 1s}}
  - eventually: {{command: {{run: "echo ready", contains: ready}}, within: 2s}}
  - eventually: {{as: never, sql: {{url: "sqlite:///{db}", query: "select count(*) from orders",
                         equals: 2}}, within: 300ms, interval: 50ms}}
"""
    (outcome,) = await run_texts(memory_url, folder(tmp_path, "files"), {"p.yaml": text})
    assert [(f.kind, f.step) for f in outcome.failures] == [("consistency", "never")]
    assert "got 1, want 2" in outcome.failures[0].message


def test_select_by_substring_or_glob(tmp_path: Path) -> None:
    for i, name in enumerate(["order ships", "order declined", "refund"]):
        write(tmp_path, f"name: {name}\nsteps:\n  - wait: 1s\n", f"{i}.yaml")
    files = load_files([tmp_path], lambda _p: CONTEXT)
    assert [f.name for f in select_files(files, "ORDER")] == ["order ships", "order declined"]
    assert [f.name for f in select_files(files, "*ships")] == ["order ships"]
    assert [f.name for f in select_files(files, None)] == [f.name for f in files]


async def test_faults_on_a_publish_step(tmp_path: Path, memory_url: str) -> None:
    """`faults:` on a publish step: the scenario's own message is duplicated, and caught."""
    import eventharness as eh
    from eventharness.files.runner import run_files

    path = write(
        tmp_path,
        """\
        name: a doubled order
        steps:
          - publish: {channel: "kafka:orders", value: {type: OrderPlaced}, faults: [duplicate]}
          - expect: {as: order, channel: "kafka:orders", type: OrderPlaced, count: 1,
                     within: 300ms}
        """,
    )
    files = load_files([path], lambda _p: CONTEXT)
    async with eh.Harness({"kafka": memory_url, "rabbit": memory_url}) as h:
        (outcome,) = await run_files(h, files)
    result = outcome.result
    assert result is not None
    assert [(f.kind, f.step) for f in result.failures] == [("duplicate", "order")]
    assert any("duplicate" in (e.note or "") for e in result.events)


def test_bad_faults_on_a_publish_step_name_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD_HEAD
        + """\
          - publish: {channel: "kafka:orders", value: {}, faults: [explode]}
        """,
    )
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:4: faults")
    assert "explode" in problem
