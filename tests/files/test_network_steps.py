"""network / lift / recover steps and repeated publishes in scenario files: what loads, what
the model holds, and every mistake reported with file:line before anything runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from eventharness.env.proxy import Bandwidth, Cut, Latency, ResetPeer, SlowClose, Timeout
from eventharness.files.loader import FileContext, load_file, load_files
from eventharness.files.model import Lift, NetworkStep, Publish, Recover
from eventharness.files.schema import scenario_schema
from eventharness.files.specs import make_toxic
from eventharness.model.errors import ScenarioFileError

CONTEXT = FileContext(
    brokers={"kafka", "rabbit"},
    services={"payments": True, "shipping": False},
    profile="default",
)

HEAD = """\
name: chaos
steps:
"""


def write(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "chaos.yaml"
    path.write_text(HEAD + textwrap.dedent(steps))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioFileError) as caught:
        load_files([path], lambda _profile: CONTEXT)
    return caught.value.problems


def test_network_lift_and_recover_steps_load_into_the_model(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
          - recover: {channel: kafka:payments, type: PaymentAuthorized, by: value.order_id,
                      of: kafka:orders, within: 30s, duplicates: allowed}
          - network: {as: cut, service: payments, cut: true, for: 5s}
          - network: {service: payments, broker: kafka, latency: 200ms ± 50ms,
                      direction: downstream}
          - publish: {channel: kafka:orders, key: "o-${n}", value: {order_id: "o-${n}"},
                      repeat: 10, every: 500ms}
          - lift: network#2
          - network: {service: payments, bandwidth: 10kB/s}
          - network: {service: payments, slow_close: 2s}
          - network: {service: payments, reset_peer: true}
          - network: {service: payments, timeout: null}
          - network: {service: payments, latency: {delay: 100ms, jitter: 10ms}}
        """,
    )
    file = load_file(path, CONTEXT)
    recover, cut, latency, publish, lift, bandwidth, slow, reset, timeout, mapping = file.steps
    assert recover == Recover(
        file=str(path),
        line=3,
        index=0,
        channel="kafka:payments",
        type="PaymentAuthorized",
        by="value.order_id",
        of=("kafka:orders",),
        within=30.0,
        allow_duplicates=True,
    )
    assert isinstance(cut, NetworkStep) and (cut.toxic, cut.duration, cut.label) == (
        "cut",
        5.0,
        "cut",
    )
    assert isinstance(latency, NetworkStep) and latency.label == "network#2"
    assert (latency.delay, latency.jitter, latency.broker, latency.direction) == (
        0.2,
        0.05,
        "kafka",
        "downstream",
    )
    assert isinstance(publish, Publish) and (publish.repeat, publish.every) == (10, 0.5)
    assert publish.at("every") == 9  # lines kept for a publish with every:
    assert lift == Lift(file=str(path), line=10, index=4, fault="network#2")
    toxics = [make_toxic(s) for s in (cut, latency, bandwidth, slow, reset, timeout, mapping)]
    assert [type(t) for t in toxics] == [
        Cut,
        Latency,
        Bandwidth,
        SlowClose,
        ResetPeer,
        Timeout,
        Latency,
    ]
    assert toxics[1].describe() == "latency 200ms ± 50ms" and toxics[1].direction == "downstream"
    assert isinstance(toxics[2], Bandwidth) and toxics[2].rate == 10_000
    assert isinstance(toxics[3], SlowClose) and toxics[3].delay == 2.0
    assert isinstance(toxics[6], Latency) and (toxics[6].delay, toxics[6].jitter) == (0.1, 0.01)
    assert file.channels.count("kafka:payments") == 1  # a recover's channel is a used one


# Each case: the steps (the first on line 3), the line the problem must name, words it holds.
MISTAKES = {
    "unknown service, with the closest": (
        "  - network: {service: paymnts, cut: true, for: 1s}\n",
        3,
        ["network: no service 'paymnts' in profile 'default'", "did you mean 'payments'"],
    ),
    "a service without a proxy": (
        "  - network: {service: shipping, cut: true, for: 1s}\n",
        3,
        ["service 'shipping' has no proxy: set proxy = true on it in profile 'default'"],
    ),
    "bad duration": (
        "  - network: {service: payments, cut: true, for: 5 s}\n",
        3,
        ["for: '5 s' is not a duration"],
    ),
    "bad latency": (
        "  - network: {service: payments, latency: 200ms plus 5}\n",
        3,
        ["latency: write a duration and an optional jitter, e.g. 200ms or 200ms ± 50ms"],
    ),
    "bad bandwidth": (
        "  - network: {service: payments, bandwidth: 10kb/s}\n",
        3,
        ["bandwidth: write a rate like 10kB/s"],
    ),
    "no toxic": (
        "  - network: {service: payments, for: 1s}\n",
        3,
        ["network: name one fault: latency, bandwidth, cut"],
    ),
    "two toxics": (
        "  - network: {service: payments, cut: true, timeout: true}\n",
        3,
        ["network: name one fault"],
    ),
    "unknown key, with the closest": (
        "  - network: {service: payments, cutt: true}\n",
        3,
        ["network: unknown key 'cutt'", "did you mean 'cut'"],
    ),
    "bad direction": (
        "  - network: {service: payments, cut: true, direction: up}\n",
        3,
        ["direction: 'up' is not a direction"],
    ),
    "after: naming no earlier expect step": (
        "  - network: {service: payments, cut: true, after: paid}\n"
        "  - expect: {as: paid, channel: kafka:payments}\n",
        3,
        ["network: after: 'paid' is not an earlier expect step", "comes later"],
    ),
    "unknown broker": (
        "  - network: {service: payments, broker: kafak, cut: true}\n",
        3,
        ["network: no broker 'kafak'", "did you mean 'kafka'"],
    ),
    "lift of a step that is not there": (
        "  - network: {as: cut, service: payments, cut: true}\n  - lift: cutt\n",
        4,
        ["lift: 'cutt' is not an earlier network step", "did you mean 'cut'"],
    ),
    "recover without a fault": (
        "  - recover: {channel: kafka:payments, within: 5s}\n",
        3,
        ["recover: the scenario has no network step"],
    ),
    "recover after a fault that is never lifted": (
        "  - network: {service: payments, cut: true}\n"
        "  - recover: {channel: kafka:payments, within: 5s}\n",
        4,
        ["recover: the network step on line 3 is never lifted", "for: 5s"],
    ),
    "recover naming an unknown fault": (
        "  - network: {as: cut, service: payments, cut: true, for: 1s}\n"
        "  - recover: {channel: kafka:payments, fault: cat}\n",
        4,
        ["recover: fault: 'cat' is not an earlier network step"],
    ),
    "recover with a bad duplicates": (
        "  - network: {service: payments, cut: true, for: 1s}\n"
        "  - recover: {channel: kafka:payments, duplicates: yes}\n",
        4,
        ["duplicates: write allowed or forbidden"],
    ),
    "a repeat that is not a count": (
        "  - publish: {channel: kafka:orders, value: {}, repeat: 0}\n",
        3,
        ["repeat: must be a whole number ≥ 1, got 0"],
    ),
    "${n} outside a repeated publish": (
        "  - publish: {channel: kafka:orders, value: {id: '${n}'}}\n",
        3,
        ["undefined variable ${n}"],
    ),
}


@pytest.mark.parametrize("case", list(MISTAKES), ids=list(MISTAKES))
def test_mistakes_are_reported_with_their_line(tmp_path: Path, case: str) -> None:
    steps, line, words = MISTAKES[case]
    problems = problems_of(write(tmp_path, steps))
    assert any(p.startswith(f"{tmp_path / 'chaos.yaml'}:{line}: ") for p in problems), problems
    text = "\n".join(problems)
    for word in words:
        assert word in text, text


def test_the_lift_of_a_fault_makes_a_recovery_judgeable(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
          - network: {as: cut, service: payments, cut: true}
          - recover: {channel: kafka:payments, within: 5s}
          - lift: cut
        """,
    )
    assert [s.kind for s in load_file(path, CONTEXT).steps] == ["network", "recover", "lift"]


def test_the_shipped_schema_names_the_new_steps() -> None:
    schema = scenario_schema()
    steps = schema["$defs"]["step"]["properties"]
    assert {"network", "lift", "recover"} <= set(steps)
    assert {"repeat", "every"} <= set(schema["$defs"]["publish"]["properties"])


CHAOS = """\
name: payments recover from a cut
vars: {run: "${uuid}"}
steps:
  - recover: {channel: kafka:payments, type: PaymentAuthorized, within: 2s}
  - publish: {channel: kafka:orders, key: "a-${run}-${n}",
              value: {type: OrderPlaced, order_id: "a-${run}-${n}"}, repeat: 2}
  - network: {as: cut, service: payments, cut: true, for: 300ms}
  - publish: {channel: kafka:orders, key: "b-${n}", value: {type: OrderPlaced, order_id: "b-${n}"},
              repeat: 3, every: 50ms}
"""


@pytest.mark.parametrize("mode", ["hold", "lose"])
async def test_a_chaos_file_runs_with_the_faults_on_its_timeline(tmp_path: Path, mode: str) -> None:
    import eventharness as eh
    from eventharness.files.runner import run_file
    from tests.conftest import unique
    from tests.engine.test_recovery import GateNetwork, payments

    path = tmp_path / "chaos.yaml"
    path.write_text(CHAOS)
    file = load_file(path, CONTEXT)
    url = f"memory://{unique('chaos')}"
    network = GateNetwork()
    async with payments(url, network, mode), eh.Harness({"kafka": url}, network=network) as h:
        outcome = await run_file(h, file)
    result = outcome.result
    sent = [ev for ev in result.events if ev.direction == "out"]
    assert [ev.key for ev in sent][2:] == ["b-1", "b-2", "b-3"]
    assert sent[-1].received - sent[2].received >= 0.1  # every: 50ms apart
    assert [n.text for n in result.notes] == [
        "network fault applied: cut on payments→kafka for 0.3s",
        "network fault lifted: cut on payments→kafka",
    ]
    if mode == "hold":
        assert outcome.status == "passed", result.explain()
    else:
        assert outcome.status == "failed"
        # the a- orders too when the cut came before payments read them (in flight then)
        assert result.failures[0].message.endswith("b-1, b-2, b-3")
        assert result.failures[0].step == "recovery after the fault"


async def test_a_network_step_after_a_step_that_never_happens_is_not_applied(
    tmp_path: Path,
) -> None:
    import eventharness as eh
    from eventharness.files.runner import run_file
    from tests.conftest import unique
    from tests.engine.test_recovery import GateNetwork

    path = write(
        tmp_path,
        """\
          - expect: {as: never, channel: kafka:nothing, within: 300ms}
          - network: {service: payments, cut: true, for: 1s, after: never}
          - recover: {channel: kafka:payments, within: 1s}
        """,
    )
    network = GateNetwork()
    async with eh.Harness({"kafka": f"memory://{unique('n')}"}, network=network) as h:
        outcome = await run_file(h, load_file(path, CONTEXT))
    assert network.calls == []  # never applied
    kinds = {(f.kind, f.step) for f in outcome.result.failures}
    assert ("timeout", "never") in kinds
    assert any("no network fault was applied" in f.message for f in outcome.result.failures)
    assert outcome.result.notes == []
