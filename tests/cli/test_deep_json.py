"""JSON a user hands the CLI that nests thousands of levels deep is refused with one line naming
the file (and line), exit 2 — never a RecursionError traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "eventharness")
DEEP = "[" * 5000 + "]" * 5000


def test_schemas_validate_refuses_a_deep_example(tmp_path: Path) -> None:
    example = tmp_path / "deep.json"
    example.write_text(DEEP)
    done = subprocess.run(
        [
            EXE,
            "schemas",
            "validate",
            "shop.OrderPlaced",
            str(example),
            "--dir",
            str(REPO / "examples" / "shop" / "schemas"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {example}: nested too deep to read; flatten the example"


def test_replay_refuses_a_deep_recording_line(tmp_path: Path) -> None:
    recording = tmp_path / "deep.jsonl"
    recording.write_text('{"t": 0, "channel": "kafka:orders", "value": 1}\n' + DEEP + "\n")
    done = subprocess.run(
        [EXE, "replay", str(recording), "--broker", "kafka=memory://deep"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {recording}:2: nested too deep to read; not a recording"
