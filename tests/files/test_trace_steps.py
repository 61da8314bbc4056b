"""Trace checks in scenario files: ``trace: propagated`` on a scenario and on an expect step,
``expect_span`` steps — loaded into the model, bad input reported with file:line (and by the CLI
with exit 2), and run for real through the runner: a stub answers, the harness exports its
spans over OTLP/HTTP to a span receiver, and the file's checks judge them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import eventharness as eh
from eventharness.files.loader import FileContext, load_file, load_files
from eventharness.files.model import Expect, ExpectSpan
from eventharness.files.runner import run_files
from eventharness.model.errors import ScenarioFileError
from eventharness.tracing import make_tracing
from eventharness.tracing.receiver import SpanReceiver

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "eventharness")
CONTEXT = FileContext(brokers={"kafka"}, spans=True)

TRACED = """\
name: traced
trace: propagated
steps:
  - publish: {channel: kafka:orders, value: {type: OrderPlaced}}
  - expect: {as: pay, channel: kafka:payments, trace: propagated}
  - expect_span:
      as: payments handled it
      service: payments
      name: orders process
      attributes: {messaging.system: kafka, retries: {lt: 3}}
      status: ok
      min_duration: 0ms
      max_duration: 2s
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path, context: FileContext = CONTEXT) -> list[str]:
    with pytest.raises(ScenarioFileError) as caught:
        load_files([path], lambda _profile: context)
    return caught.value.problems


def test_trace_forms_load_into_the_model(tmp_path: Path) -> None:
    loaded = load_file(write(tmp_path, TRACED), CONTEXT)
    assert loaded.trace == "propagated" and loaded.checks_traces
    expect, span = loaded.steps[1], loaded.steps[2]
    assert isinstance(expect, Expect) and expect.trace == "propagated"
    assert isinstance(span, ExpectSpan) and span.declaration
    # `name:` is the span's name; `as:` names the step
    assert (span.name, span.service, span.span) == (
        "payments handled it",
        "payments",
        "orders process",
    )
    assert span.attributes == {"messaging.system": "kafka", "retries": {"lt": 3}}
    assert (span.status, span.min_duration, span.max_duration) == ("ok", 0.0, 2.0)
    assert span.at("max_duration") == 13


def test_bad_trace_forms_name_file_line_and_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: traced badly
        trace: yes-please
        steps:
          - publish: {channel: kafka:orders, value: {type: OrderPlaced}}
          - expect: {channel: kafka:payments, trace: sometimes}
          - expect_span: {service: payments, status: broken, max_duration: 0s, colour: red}
          - expect_span: {}
          - expect_span: {attributes: {total: {one_of: 3}}, min_duration: 3s, max_duration: 1s}
        """,
    )
    shown = str(path)
    assert problems_of(path) == [
        f"{shown}:2: trace: 'yes-please' is not a trace rule; write trace: propagated",
        f"{shown}:5: expect: trace: 'sometimes' is not a trace rule; write trace: propagated",
        f"{shown}:6: expect_span: unknown key 'colour' (allowed: as, service, name, attributes, "
        "status, min_duration, max_duration)",
        f"{shown}:6: expect_span: status: 'broken' is not a span status (statuses: unset, ok, "
        "error)",
        f"{shown}:6: expect_span: max_duration: '0s' is not a positive duration; write a number "
        "of seconds or a duration like 250ms, 5s, 2m",
        f"{shown}:7: expect_span: say which span: service, name, attributes, status, "
        "min_duration or max_duration",
        f"{shown}:8: expect_span: attributes.total: one_of needs a list, got 3",
        f"{shown}:8: expect_span: min_duration 3s is above max_duration 1s",
    ]


def test_a_profile_that_hands_no_service_otlp_is_refused_at_the_first_trace_check(
    tmp_path: Path,
) -> None:
    no_spans = FileContext(brokers={"kafka"}, spans=False, profile="ci")
    fix = (
        "trace checks need the spans the services send, and profile 'ci' hands no service "
        '${otlp}: add OTEL_EXPORTER_OTLP_ENDPOINT = "${otlp}" to its env'
    )
    path = write(tmp_path, TRACED)
    assert problems_of(path, no_spans) == [f"{path}:2: {fix}"]
    only_span = write(
        tmp_path,
        """\
        name: one span
        steps:
          - publish: {channel: kafka:orders, value: {}}
          - expect_span: {service: payments}
        """,
    )
    assert problems_of(only_span, no_spans) == [f"{only_span}:4: {fix}"]


def test_validate_exits_2_without_otlp_and_0_with_the_repositorys_profile(
    tmp_path: Path,
) -> None:
    scenario = write(tmp_path, TRACED)
    (tmp_path / "eventharness.toml").write_text(
        '[profiles.default]\nbrokers = {kafka = "memory://trace-steps"}\n'
    )
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250"}
    refused = subprocess.run(
        [EXE, "validate", str(scenario)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "profile 'default' hands no service ${otlp}" in refused.stdout + refused.stderr
    shop = REPO / "scenarios" / "shop" / "traced.yaml"
    accepted = subprocess.run(
        [EXE, "validate", str(shop)], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


STUBBED = """\
name: a stub's answer is traced
trace: propagated
stubs:
  - name: payments
    consume: kafka:orders-${run}
    respond:
      - channel: kafka:payments-${run}
        value: {type: PaymentAuthorized}
steps:
  - publish: {channel: "kafka:orders-${run}", value: {type: OrderPlaced}}
  - expect: {as: pay, channel: "kafka:payments-${run}", type: PaymentAuthorized,
             trace: propagated}
  - expect_span:
      service: eventharness
      name: stub payments
      attributes: {eventharness.stub.replies: 1, messaging.operation.type: process}
      status: unset
"""


@pytest.mark.parametrize("broker", ["memory", "kafka"])
async def test_a_file_with_trace_checks_runs_on_spans_exported_over_otlp(
    tmp_path: Path,
    broker: str,
    memory_url: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # the SDK exports every 100 ms
    url = memory_url if broker == "memory" else request.getfixturevalue("kafka_url")
    run = os.urandom(4).hex()
    path = write(tmp_path, STUBBED.replace("${run}", run))
    (loaded,) = load_files([path], lambda _profile: CONTEXT)
    with SpanReceiver() as receiver:
        # the harness's own spans (the stub's among them) go to the receiver over OTLP/HTTP
        tracing = make_tracing(receiver.url)
        assert tracing is not None
        try:
            async with eh.Harness({"kafka": url}, tracing=tracing, receiver=receiver) as h:
                (outcome,) = await run_files(h, [loaded])
        finally:
            tracing.shutdown()
    assert outcome.status == "passed", outcome.explain()
    # the span the file asked for is on the result (others may still be on their way)
    (stub,) = [span for span in outcome.result.spans if span.name == "stub payments"]
    assert stub.service == "eventharness" and stub.trace_id == outcome.result.correlation_id
