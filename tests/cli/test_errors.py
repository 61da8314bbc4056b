"""The one error mapper and the progress line, without a subprocess."""

from __future__ import annotations

import io

import pytest
import typer
from rich.console import Console

from eventharness.cli import errors as cli_errors
from eventharness.cli.errors import ERROR, FAILED, friendly
from eventharness.cli.progress import Progress
from eventharness.model.errors import (
    BrokerUnavailable,
    ConfigError,
    MissingDependency,
    ScenarioFailed,
    ScenarioFileError,
)


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    out = io.StringIO()
    monkeypatch.setattr(cli_errors, "errors", Console(file=out, highlight=False, width=300))
    return out


@pytest.mark.parametrize(
    ("exc", "code", "printed"),
    [
        (
            ConfigError("eventharness.toml: profiles.x.within: 'soon' is not a duration"),
            ERROR,
            "error: eventharness.toml: profiles.x.within: 'soon' is not a duration\n",
        ),
        (
            BrokerUnavailable("cannot connect to RabbitMQ at amqp://u:secret@h:1/; start it\nmore"),
            ERROR,
            "error: cannot connect to RabbitMQ at amqp://u:***@h:1/; start it\n",
        ),
        (
            MissingDependency("kafka:// brokers", "aiokafka", "kafka"),
            ERROR,
            "error: kafka:// brokers needs aiokafka: pip install 'eventharness[kafka]'\n",
        ),
        (
            ScenarioFileError(["a.yaml:3: unknown step kind 'expct'"]),
            ERROR,
            "error: 1 problem in scenario files:\n  a.yaml:3: unknown step kind 'expct'\n",
        ),
        (
            PermissionError("[Errno 13] Permission denied: 'out/r.json'"),
            ERROR,
            "error: [Errno 13] Permission denied: 'out/r.json'\n",
        ),
    ],
)
def test_errors_become_one_cause_and_exit_code(
    stderr: io.StringIO, exc: Exception, code: int, printed: str
) -> None:
    with pytest.raises(typer.Exit) as exit_info, friendly():
        raise exc
    assert exit_info.value.exit_code == code
    assert stderr.getvalue() == printed


def test_a_failed_scenario_exits_1(stderr: io.StringIO) -> None:
    class Result:
        def explain(self) -> str:
            return "scenario 'x' failed"

    with pytest.raises(typer.Exit) as exit_info, friendly():
        raise ScenarioFailed(Result())  # type: ignore[arg-type]
    assert exit_info.value.exit_code == FAILED
    assert stderr.getvalue() == "error: scenario 'x' failed\n"


def test_progress_off_a_terminal_prints_plain_lines_every_few_seconds() -> None:
    out = io.StringIO()
    with Progress(Console(file=out, width=40), every=3600) as progress:
        progress.line("recording kafka:orders → " + "x" * 60)
        progress("recording 1.0s: 1 message(s)")
        progress("recording 2.0s: 2 message(s)")  # within `every`: not printed
        progress.done("recorded 2 message(s)")
    lines = out.getvalue().splitlines()
    assert lines == [
        "recording kafka:orders → " + "x" * 60,
        "recording 1.0s: 1 message(s)",
        "recorded 2 message(s)",
    ]
    assert "\x1b" not in out.getvalue()
