"""``eventharness map``: services and channels, who sends and who receives, counts and hop
latencies by correlation id, the risks a reviewer wants; Mermaid checked by Mermaid's parser,
and the shop's README map kept equal to the command's output."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner, Result

from eventharness.asyncapi.graph import build_map, percentile
from eventharness.asyncapi.reader import load_document
from eventharness.asyncapi.render import render
from eventharness.cli.app import app
from eventharness.engine.recordfile import Recording
from tests.asyncapi.mermaid import parse_mermaid

REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "shop"
runner = CliRunner()


def eh(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def test_readme_map_is_the_commands_output() -> None:
    done = eh("map", SHOP / "shop.jsonl", "--asyncapi", SHOP / "asyncapi.yaml")
    assert done.exit_code == 0, done.output
    readme = (SHOP / "README.md").read_text()
    blocks = re.findall(r"```mermaid\n(.*?)```", readme, re.S)
    assert blocks == [done.output]
    for service in ("payments", "shipping", "orders-view"):
        assert f'["{service}"]' in done.output
    assert "from kafka:orders p50 " in done.output  # the payments hop's latency


def test_shop_map_json_hops_and_services() -> None:
    done = eh("map", SHOP / "shop.jsonl", "--asyncapi", SHOP / "asyncapi.yaml", "-f", "json")
    data = json.loads(done.output)
    hops = {(h["from"], h["to"]): h for h in data["hops"]}
    pay = hops[("kafka:orders", "kafka:payments")]
    assert pay["services"] == ["payments"] and pay["count"] == 3
    assert 0 < pay["p50_s"] <= pay["p95_s"] < 5
    ship = hops[("kafka:payments", "rabbit:shipping/shipment.scheduled")]
    assert ship["services"] == ["shipping"] and ship["count"] == 2
    channels = {c["channel"]: c for c in data["channels"]}
    assert channels["kafka:payments"]["consumers"] == ["orders-view", "shipping"]
    assert channels["kafka:payments"]["messages"] == {"PaymentAuthorized": 2, "PaymentDeclined": 1}
    assert data["risks"] == [
        "fan-out: kafka:orders → orders-view, payments",
        "fan-out: kafka:payments → orders-view, shipping",
    ]


RISKY = """\
asyncapi: 3.0.0
info: {title: risky, version: 1.0.0}
channels:
  a: {address: a, messages: {m: {payload: {type: object}}}}
  b: {address: b, messages: {m: {payload: {type: object}}}}
  lonely: {address: lonely}
  orphan: {address: orphan}
operations:
  x-sends-a: {action: send, channel: {$ref: '#/channels/a'}, x-service: x}
  y-sends-a: {action: send, channel: {$ref: '#/channels/a'}, x-service: y}
  y-gets-a: {action: receive, channel: {$ref: '#/channels/a'}, x-service: y}
  y-sends-b: {action: send, channel: {$ref: '#/channels/b'}, x-service: y}
  x-gets-b: {action: receive, channel: {$ref: '#/channels/b'}, x-service: x}
  x-sends-lonely: {action: send, channel: {$ref: '#/channels/lonely'}, x-service: x}
  z-gets-orphan: {action: receive, channel: {$ref: '#/channels/orphan'}, x-service: z}
"""


def test_risks_and_coverage(tmp_path: Path) -> None:
    doc = tmp_path / "risky.yaml"
    doc.write_text(RISKY)
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "s.yaml").write_text(
        "name: a\nsteps:\n  - publish: {channel: 'kafka:${vars.prefix}a', value: {}}\n"
    )
    done = eh("map", "--asyncapi", doc, "-f", "text", "--scenarios", scenarios)
    assert done.exit_code == 0, done.output
    risks = done.output.split("risks\n", 1)[1].splitlines()
    assert [r.strip() for r in risks] == [
        "fan-in: x, y → kafka:a",
        "no consumer: kafka:lonely (sent by x)",
        "no producer: kafka:orphan (consumed by z)",
        "cycle: x → y → x",
        "cycle: y → y",  # y consumes what it sends on a
        "not covered by a scenario: y → kafka:b → x",
    ]


def test_recording_only_map_and_every_format_parses(tmp_path: Path) -> None:
    graph = build_map(recordings=[Recording.load(SHOP / "shop.jsonl")])
    text = render(graph, "text", graph.risks())
    assert "kafka:orders → kafka:payments: 3 · p50" in text
    assert "risks: none" in text
    maps = {
        "observed.mmd": render(graph, "mermaid"),
        "declared.mmd": render(build_map(doc=load_document(SHOP / "asyncapi.yaml")), "mermaid"),
        "risky.mmd": render(build_map(doc=_risky(tmp_path)), "mermaid"),
    }
    for name, body in maps.items():
        (tmp_path / name).write_text(body)
    parsed = parse_mermaid(*(tmp_path / n for n in maps))
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert parsed.stdout.count("ok ") == 3
    bad = tmp_path / "bad.mmd"
    bad.write_text('flowchart LR\n  a -->|"x" b\n')
    assert parse_mermaid(bad).returncode == 1  # the parser does reject broken diagrams
    dot = render(graph, "dot")
    assert dot.startswith("digraph integration {") and dot.rstrip().endswith("}")
    assert '"c:kafka:orders" -> "c:kafka:payments" [style=dashed' in dot


def _risky(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "r.yaml"
    path.write_text(RISKY)
    return load_document(path)


def test_percentile_matches_the_reports() -> None:
    from eventharness.reports.hops import percentile as reports_percentile

    values = [0.3, 0.1, 0.2, 0.9, 0.5]
    for q in (0, 50, 95, 100):
        assert percentile(values, q) == reports_percentile(values, q)


def test_map_errors(tmp_path: Path) -> None:
    assert eh("map").exit_code == 2
    bad = eh("map", SHOP / "shop.jsonl", "-f", "png")
    assert bad.exit_code == 2 and "use one of mermaid, dot, json, text" in bad.output
