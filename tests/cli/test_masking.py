"""``mask``: the reports of ``run`` (terminal, JSON, JUnit, HTML, ``--record``), the
recordings of ``record`` and ``eventharness mask`` leave none of the masked values (the bytes
are searched), keep the shape, and a masked recording replays; a bad path exits 2 naming where
it was written."""

from __future__ import annotations

import asyncio
import json
import subprocess
import textwrap
from pathlib import Path

import pytest

import eventharness as eh
from eventharness.engine.recording import Recorded, Recording
from eventharness.model.events import Record
from tests.cli.test_cli import EXE, cli, no_traceback
from tests.conftest import unique

CARD, EMAIL, TOKEN, TOTAL = "4111 1111 1111 1111", "ann.lee@example.com", "tok-Zq81-secret", 98765

SCENARIO = f"""\
name: a card payment
steps:
  - publish: {{channel: kafka:orders, key: "{EMAIL}", headers: {{x-token: "{TOKEN}"}},
              value: {{type: OrderPlaced, order_id: o-1, email: "{EMAIL}",
                      card: {{number: "{CARD}", cvc: 737}}, total: {TOTAL}}}}}
  - expect: {{as: paid, channel: kafka:orders, match: {{total: 1}}, within: 300ms}}
"""


def project(tmp_path: Path, mask: str = '["value.card.number", "value.email"]') -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "eventharness.toml").write_text(
        textwrap.dedent(f"""\
        [profiles.default]
        brokers = {{ kafka = "memory://mask" }}
        mask = {mask}
        """)
    )
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "pay.yaml").write_text(SCENARIO)
    return tmp_path


def test_every_report_of_a_run_masks_the_profile_and_option_paths(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = cli(
        root,
        "run",
        "scenarios",
        "--mask",
        "value.total",
        "--mask",
        "headers.x-token",
        "--mask",
        "key",
        "--report-json",
        "r.json",
        "--junit",
        "j.xml",
        "--report-html",
        "r.html",
        "--record",
        "rec.jsonl",
    )
    no_traceback(done)
    assert done.returncode == 1, done.stdout + done.stderr
    files = ("r.json", "j.xml", "r.html", "rec.jsonl")
    reports = {name: (root / name).read_bytes() for name in files}
    reports["terminal"] = done.stdout.encode()
    for name, data in reports.items():
        for secret in (CARD, EMAIL, TOKEN, str(TOTAL)):
            assert secret.encode() not in data, (name, secret)
    assert "total: expected 1, got 0" in done.stdout  # the number, masked to 0
    assert "key=xxx.xxx@xxxxxxx.xxx" in done.stdout  # the key, masked like a string
    report = json.loads(reports["r.json"])
    (scenario,) = report["scenarios"]
    assert scenario["events"][0]["key"] == "xxx.xxx@xxxxxxx.xxx"
    recorded = Recording.load(root / "rec.jsonl").events[0]  # the run's own recording
    assert recorded.value["card"] == {"number": "0000 0000 0000 0000", "cvc": 737}
    assert recorded.value["email"] == "xxx.xxx@xxxxxxx.xxx" and recorded.value["total"] == 0


def test_without_a_mask_the_values_are_reported(tmp_path: Path) -> None:
    """The control: the same run unmasked shows the values the masked run hides."""
    root = project(tmp_path, mask="[]")
    done = cli(root, "run", "scenarios")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"got {TOTAL}" in done.stdout and f"key={EMAIL}" in done.stdout


def test_a_bad_mask_path_exits_2_naming_where_it_was_written(tmp_path: Path) -> None:
    root = project(tmp_path, mask='["card.number"]')
    done = cli(root, "run", "scenarios")
    no_traceback(done)
    assert done.returncode == 2
    assert "profiles.default.mask: 'card.number' is not a path; a path is value." in done.stderr
    root = project(tmp_path / "b")
    done = cli(root, "run", "scenarios", "--mask", "value.")
    no_traceback(done)
    assert done.returncode == 2
    assert "mask: 'value.' is not a path" in done.stderr


def test_the_mask_command_masks_a_recording(tmp_path: Path) -> None:
    root = project(tmp_path)
    Recording(
        [
            Recorded(t=0.0, channel="kafka:orders", value={"email": EMAIL, "n": 1}, key=EMAIL),
            Recorded(t=0.1, channel="kafka:orders", value={"card": {"number": CARD}}, key="o-2"),
        ]
    ).save(root / "prod.jsonl")
    done = cli(root, "mask", "prod.jsonl", "--mask", "key", "-o", "shared.jsonl")
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert "masked value.card.number, value.email, key in 2 message(s)" in done.stdout
    data = (root / "shared.jsonl").read_bytes()
    assert CARD.encode() not in data and EMAIL.encode() not in data
    first, second = Recording.load(root / "shared.jsonl")
    assert (first.value, first.key) == (
        {"email": "xxx.xxx@xxxxxxx.xxx", "n": 1},
        "xxx.xxx@xxxxxxx.xxx",
    )
    assert second.value == {"card": {"number": "0000 0000 0000 0000"}}
    bare = project(tmp_path / "bare", mask="[]")
    (root / "prod.jsonl").rename(bare / "prod.jsonl")
    done = cli(bare, "mask", "prod.jsonl", "-o", "x.jsonl")
    assert done.returncode == 2
    assert "nothing to mask: give --mask PATH" in done.stderr


@pytest.mark.amqp
async def test_record_masks_and_the_masked_recording_replays(amqp_url: str, tmp_path: Path) -> None:
    exchange = unique("eh-mask")
    out = tmp_path / "masked.jsonl"
    async with eh.Harness({"r": amqp_url}) as h:
        t = h.transport("r")
        await t.create_channel(f"{exchange}/")
        try:
            proc = await asyncio.create_subprocess_exec(
                *(EXE, "record", "-b", f"r={amqp_url}", "-c", f"r:{exchange}/#", "-n", "2"),
                *("--mask", "value.card.number", "--mask", "value.email", "-o", str(out)),
                cwd=tmp_path,
                stderr=asyncio.subprocess.PIPE,
            )
            assert proc.stderr is not None
            first = await asyncio.wait_for(proc.stderr.readline(), 30)
            assert first.decode().startswith(f"recording r:{exchange}/# → "), first
            for i in range(2):
                value = {"type": "OrderPlaced", "i": i, "email": EMAIL, "card": {"number": CARD}}
                await t.publish(
                    f"{exchange}/orders.placed",
                    Record(json.dumps(value).encode(), f"o-{i}".encode()),
                )
            rest = (await asyncio.wait_for(proc.stderr.read(), 30)).decode()
            assert await asyncio.wait_for(proc.wait(), 30) == 0, rest
            data = out.read_bytes()
            assert CARD.encode() not in data and EMAIL.encode() not in data
            found = Recording.load(out)
            assert [e.value for e in found] == [
                {
                    "type": "OrderPlaced",
                    "i": i,
                    "email": "xxx.xxx@xxxxxxx.xxx",
                    "card": {"number": "0000 0000 0000 0000"},
                }
                for i in range(2)
            ]
            sub = await t.subscribe(f"{exchange}/#")
            done = await asyncio.to_thread(
                subprocess.run,
                [EXE, "replay", str(out), "-b", f"r={amqp_url}", "--speed", "max"],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            again = [await asyncio.wait_for(anext(aiter(sub)), 10) for _ in range(2)]
            await sub.aclose()
            assert [json.loads(r.value) for r in again] == [e.value for e in found]
            assert [r.key for r in again] == [b"o-0", b"o-1"]
        finally:
            await t.delete_channel(f"{exchange}/")
