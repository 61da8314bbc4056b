"""``eventharness asyncapi scaffold`` and ``eventharness init``: scenario files per flow that
pass ``validate`` as written, a config with embedded/compose/server profiles, a CI workflow;
nothing is ever overwritten."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner, Result

from eventharness.cli.app import app
from eventharness.env.config import load_config

REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "shop"
EXE = str(Path(sys.executable).parent / "eventharness")
runner = CliRunner()


def eh(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def _project(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SHOP / "asyncapi.yaml", docs / "asyncapi.yaml")
    shutil.copytree(SHOP / "schemas", docs / "schemas")
    return tmp_path


def test_init_from_asyncapi_writes_a_valid_project(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = cli("init", "--from-asyncapi", "docs/asyncapi.yaml", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    config = load_config(root / "eventharness.toml")
    assert config.profile("default").brokers == {
        "kafka": "embedded",
        "rabbit": "amqp://guest:guest@127.0.0.1:5672/",
    }
    assert config.profile("compose").brokers["kafka"] == "kafka://127.0.0.1:9092"
    assert config.profile("kafka").brokers["kafka"] == "kafka://127.0.0.1:9092"  # the server
    assert config.profile("default").asyncapi == str(root / "docs/asyncapi.yaml")
    names = sorted(p.name for p in (root / "scenarios").iterdir())
    assert names == [
        "placeOrder-payOrder.yaml",
        "placeOrder-viewOrders.yaml",
        "scheduleShipment-viewShipments.yaml",
        "sendPayment-shipPaidOrder.yaml",
        "sendPayment-viewPayments.yaml",
    ]
    flow = yaml.safe_load((root / "scenarios/placeOrder-payOrder.yaml").read_text())
    assert flow["steps"][0]["expect"] == {
        "as": "answer",
        "channel": "kafka:payments",
        "match": {"type": "PaymentAuthorized", "order_id": "o-1"},  # carried over from o-1
        "within": "10s",
    }
    assert flow["steps"][1]["publish"]["value"]["type"] == "OrderPlaced"
    checked = cli("validate", "scenarios", cwd=root)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    workflow = yaml.safe_load((root / ".github/workflows/eventharness.yml").read_text())
    runs = [s.get("run", "") for s in workflow["jobs"]["events"]["steps"]]
    assert "eventharness validate scenarios" in runs
    assert "eventharness run scenarios --junit reports/junit.xml" in runs
    assert "eventharness asyncapi check docs/asyncapi.yaml" in runs
    assert any(r.startswith("eventharness schemas check") for r in runs)

    again = cli("init", "--from-asyncapi", "docs/asyncapi.yaml", cwd=root)
    assert again.returncode == 2 and "already exist" in again.stderr
    assert "Traceback" not in again.stderr


def test_init_without_a_document_runs_on_memory(tmp_path: Path) -> None:
    done = cli("init", "--broker", "kafka=memory://init", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert load_config(tmp_path / "eventharness.toml").profile().brokers == {
        "kafka": "memory://init"
    }
    ran = cli("run", "scenarios", cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr


PARAMS = """\
asyncapi: 3.0.0
info: {title: lamps, version: 1.0.0}
channels:
  dim:
    address: 'lamps.{lampId}.dim'
    parameters: {lampId: {}}
    messages:
      dim:
        payload: {type: object, properties: {percent: {type: integer}}}
        examples: [{payload: {percent: 40}}]
operations:
  dimLamp: {action: send, channel: {$ref: '#/channels/dim'}, x-service: app}
  lampDims: {action: receive, channel: {$ref: '#/channels/dim'}, x-service: lamp}
"""


def test_scaffold_parameters_become_variables(tmp_path: Path) -> None:
    doc = tmp_path / "lamps.yaml"
    doc.write_text(PARAMS)
    out = tmp_path / "scenarios"
    done = eh("asyncapi", "scaffold", doc, "--out", out)
    assert done.exit_code == 0, done.output
    scenario = yaml.safe_load((out / "dimLamp-lampDims.yaml").read_text())
    assert scenario["vars"] == {"lampId": "lampId-1"}
    assert scenario["steps"][1]["publish"] == {
        "channel": "kafka:lamps.${lampId}.dim",
        "value": {"percent": 40},
    }
    checked = cli("validate", str(out), "--broker", "kafka=memory://lamps", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert eh("asyncapi", "scaffold", doc, "--out", out).exit_code == 2  # no overwriting


def test_scaffold_without_flows_says_so() -> None:
    done = eh("asyncapi", "scaffold", REPO / "tests/asyncapi/fixtures/lights-kafka.yaml")
    assert done.exit_code == 2 and "no flow found" in done.output
