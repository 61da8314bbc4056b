"""``--run PATH``: ``asyncapi check``, ``asyncapi export`` and ``map`` run the scenarios and use
what they sent and received; ``eventharness run --record FILE`` writes it as a recording.

On the demo (memory broker, virtual services), through the real command: the recording holds
each message once, on its concrete channel; a document exported from a run passes ``check
--run`` of the same scenario; a document whose schema the events break fails naming the field;
``map --run`` keeps its stdout to the map (the run's own output goes to stderr).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from eventharness.engine.recordfile import Recording
from tests.asyncapi.parser import parse_with_official

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "eventharness")
DEMO = ["--config", str(REPO / "scenarios" / "demo" / "eventharness.toml")]
SHIPS = str(REPO / "scenarios" / "demo" / "01_order_ships.yaml")


def eh(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={"PATH": str(Path(EXE).parent), "NO_COLOR": "1", "COLUMNS": "200"},
    )


def test_run_record_writes_each_message_once_on_its_channel(tmp_path: Path) -> None:
    target = tmp_path / "run.jsonl"
    done = eh("run", SHIPS, *DEMO, "--record", target)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"recording: {target} (3 events)" in done.stdout
    recording = Recording.load(target)
    seen = [(item.channel, item.value["type"]) for item in recording]
    assert seen == [
        ("kafka:demo.orders", "OrderPlaced"),
        ("kafka:demo.payments", "PaymentAuthorized"),
        ("rabbit:demo.shipping/shipment.scheduled", "ShipmentScheduled"),
    ]
    order_id = recording.events[0].value["order_id"]
    assert all(item.value["order_id"] == order_id for item in recording)
    assert all(item.headers.get("correlation-id") for item in recording)


def test_a_record_target_that_cannot_be_written_stops_the_run_before_it_starts(
    tmp_path: Path,
) -> None:
    done = eh("run", SHIPS, *DEMO, "--record", tmp_path)  # a folder
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--record" in done.stderr
    assert "scenario" not in done.stdout  # nothing ran


def test_a_document_exported_from_a_run_holds_for_the_run_and_breaks_on_a_wrong_schema(
    tmp_path: Path,
) -> None:
    doc = tmp_path / "asyncapi.yaml"
    exported = eh("asyncapi", "export", "--run", SHIPS, *DEMO, "-o", doc)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert "3 events described" in exported.stdout
    assert "1 passed" in exported.stderr  # the run's own report, apart from the result

    checked = eh("asyncapi", "check", doc, "--run", SHIPS, *DEMO, "--strict")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "✓ the run of " in checked.stdout
    assert "3 events, 0 problems, 0 unknown channels, 0 messages never seen" in checked.stdout

    data = yaml.safe_load(doc.read_text())
    message = data["channels"]["demo.payments"]["messages"]["PaymentAuthorized"]
    message["payload"]["properties"]["amount"] = {"type": "string"}
    del message["examples"]  # they would break the changed schema themselves (exit 2)
    doc.write_text(yaml.safe_dump(data, sort_keys=False))
    broken = eh("asyncapi", "check", doc, "--run", SHIPS, *DEMO)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "message 'PaymentAuthorized': payload: $.amount: 42 is not of type 'string'" in (
        broken.stdout
    )


def test_a_failing_run_fails_the_check_and_its_events_are_still_judged(tmp_path: Path) -> None:
    doc = tmp_path / "asyncapi.yaml"
    assert eh("asyncapi", "export", "--run", SHIPS, *DEMO, "-o", doc).returncode == 0
    timeout = REPO / "scenarios" / "demo" / "10_xfail_timeout.yaml"
    failing = tmp_path / "fails.yaml"
    failing.write_text(timeout.read_text().replace("\nxfail:", "\n# xfail:", 1))
    done = eh("asyncapi", "check", doc, "--run", failing, *DEMO)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the run had failing scenarios" in done.stdout
    assert "events," in done.stdout


def test_map_of_a_run_keeps_stdout_to_the_map() -> None:
    done = eh("map", "--run", SHIPS, *DEMO, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    graph = json.loads(done.stdout)  # nothing but the map on stdout
    channels = {c["channel"]: c["events"] for c in graph["channels"]}
    assert channels == {
        "kafka:demo.orders": 1,
        "kafka:demo.payments": 1,
        "rabbit:demo.shipping/shipment.scheduled": 1,
    }
    assert "1 passed" in done.stderr


def test_nothing_to_describe_is_a_usage_error() -> None:
    done = eh("asyncapi", "export")
    assert done.returncode == 2
    assert "nothing to describe: give recordings (.jsonl) and/or --run PATH" in done.stderr


def test_a_document_exported_from_a_run_passes_the_official_parser(tmp_path: Path) -> None:
    doc = tmp_path / "asyncapi.yaml"
    assert eh("asyncapi", "export", "--run", SHIPS, *DEMO, "-o", doc).returncode == 0
    parsed = parse_with_official(doc)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
