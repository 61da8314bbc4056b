"""Provider verification: function mode, broker mode on the memory broker, and bad input.

* function mode (a ``module:function`` or a callable) verifies a conforming provider and names
  the interaction, JSON path, rule and actual value of a broken one — from Python and from
  ``eventharness contracts verify`` (exit 0, then 1);
* broker mode drives a provider (a stub standing in for payments) through the provider config:
  trigger published with the scenario's correlation id, the message collected on the pact's
  channel, compared; a broken provider fails with the path and the timeline; a provider that
  sends nothing fails with "no message" and the timeline;
* unusable input exits 2 with one line naming the file and JSON path: malformed JSON, an unknown
  specification version, matcher or generator, a regex example that breaks its regex, an
  interaction with no channel, a provider state with no handler; and provider configs name
  file:line.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import eventharness as eh
from eventharness.cli.app import app
from eventharness.contracts import LoadedPact, load_pact, verify_function
from eventharness.contracts.broker import verify_on_harness
from eventharness.contracts.providers import load_provider_config, parse_provider_config
from eventharness.contracts.verify import check_inputs
from eventharness.model.errors import ContractError

REPO = Path(__file__).resolve().parents[2]
PACTS = REPO / "examples/shop/contracts/pacts"
PROVIDERS = REPO / "examples/shop/contracts/providers"
PAYMENTS_PACT = PACTS / "shipping-payments.json"

runner = CliRunner()

PROVIDER_MODULE = """
import uuid

BROKEN = {"on": False}


def message_for(description, params):
    assert description == "a payment is authorized", description
    amount = str(params["total"]) if BROKEN["on"] else params["total"]
    return {"type": "PaymentAuthorized", "order_id": params["order_id"], "amount": amount,
            "payment_id": "pay-" + uuid.uuid4().hex[:12]}


def broken(description, params):
    BROKEN["on"] = True
    try:
        return message_for(description, params)
    finally:
        BROKEN["on"] = False
"""


@pytest.fixture
def provider_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"provider_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(PROVIDER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def loaded(path: Path = PAYMENTS_PACT) -> list[LoadedPact]:
    return [LoadedPact(load_pact(path), str(path))]


def test_function_mode_verifies_and_names_what_is_broken(provider_module: str) -> None:
    good = asyncio.run(verify_function(loaded(), f"{provider_module}:message_for"))
    assert good.ok and [r.description for r in good.results] == ["a payment is authorized"]
    bad = asyncio.run(verify_function(loaded(), f"{provider_module}:broken"))
    (result,) = bad.results
    assert not bad.ok and [m.path for m in result.mismatches] == ["$.amount"]
    text = result.render()
    assert "shipping ← payments: 'a payment is authorized'" in text
    assert '$.amount: expected number (example 42), got "42"' in text


def test_cli_function_mode_exit_codes(provider_module: str) -> None:
    args = ["contracts", "verify", str(PAYMENTS_PACT), "--provider", "payments"]
    ok = runner.invoke(app, [*args, "--function", f"{provider_module}:message_for"])
    assert ok.exit_code == 0, ok.output
    assert "1 interaction(s): 1 verified" in ok.output
    bad = runner.invoke(app, [*args, "--function", f"{provider_module}:broken"])
    assert bad.exit_code == 1, bad.output
    assert "$.amount: expected number" in bad.output


def test_cli_function_mode_over_http_is_pacts_message_proxy(tmp_path: Path) -> None:
    import base64
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["content-length"])))
            params = request["providerStates"][0]["params"]
            body = {
                "type": "PaymentAuthorized",
                "order_id": params["order_id"],
                "amount": params["total"],
                "payment_id": "pay-abcdef012345",
            }
            self.send_response(200)
            self.send_header("content-type", "application/json")
            meta = base64.b64encode(json.dumps({"contentType": "application/json"}).encode())
            self.send_header("pact-message-metadata", meta.decode())
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/messages"
        done = runner.invoke(
            app, ["contracts", "verify", str(PAYMENTS_PACT), "--messages-url", url]
        )
    finally:
        server.shutdown()
    assert done.exit_code == 0, done.output


async def _broker_mode(respond: list[dict[str, Any]]) -> Any:
    config = load_provider_config(PROVIDERS / "payments.yaml")
    harness = eh.Harness({"kafka": f"memory://{uuid.uuid4().hex}"}, within=1.0)
    async with harness, harness.stub("kafka:orders", type="OrderPlaced", respond=respond):
        pacts = check_inputs(loaded(), ["payments"], lambda _name: config)
        return await verify_on_harness(pacts, harness, lambda _name: config, within=1.0)


def _payment(amount: Any, channel: str = "kafka:payments") -> list[dict[str, Any]]:
    value = {
        "type": "PaymentAuthorized",
        "order_id": "${in.value.order_id}",
        "amount": amount,
        "payment_id": "pay-0123456789ab",
    }
    return [{"channel": channel, "value": value}]


def test_broker_mode_triggers_collects_by_correlation_id_and_compares() -> None:
    good = asyncio.run(_broker_mode(_payment("${in.value.total}")))
    assert good.ok, good.render()
    bad = asyncio.run(_broker_mode(_payment("n/a")))
    (result,) = bad.results
    assert [m.path for m in result.mismatches] == ["$.amount"]
    text = result.render()
    assert '$.amount: expected number (example 42), got "n/a"' in text
    assert "→ kafka:orders" in text and "← kafka:payments" in text  # the timeline


def test_broker_mode_without_a_message_fails_with_the_timeline() -> None:
    silent = asyncio.run(_broker_mode(_payment(42, channel="kafka:elsewhere")))
    (result,) = silent.results
    assert not result.ok and result.problem is not None
    assert result.problem.startswith("no message on kafka:payments within 1s")
    assert "→ kafka:orders" in result.render()


def test_two_hundred_interactions_on_the_memory_broker() -> None:
    """The benchmark's flow, small: many interactions of one pact, each its own scenario."""
    from bench.contracts_verify import pact_of, run_once

    result, _seconds = asyncio.run(run_once(pact_of(20)))
    assert result.ok and len(result.results) == 20


# -- unusable input: exit 2, one line, the file and the JSON path --------------------------------


def _pact(tmp_path: Path, mutate: Any, name: str = "p.json") -> Path:
    data = json.loads(PAYMENTS_PACT.read_text())
    mutate(data)
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def _first(data: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = data["interactions"][0]
    return first


BAD_INPUT = {
    "malformed JSON": (lambda d: None, "not valid JSON (line 1"),
    "unknown version": (
        lambda d: d["metadata"].update(pactSpecification={"version": "9.0"}),
        "$.metadata.pactSpecification.version: unknown or unsupported specification version",
    ),
    "unknown matcher": (
        lambda d: _first(d)["matchingRules"]["body"]["$.amount"]["matchers"][0].update(
            match="numbr"
        ),
        "$.interactions[0].matchingRules.body['$.amount'].matchers[0].match: unknown matcher",
    ),
    "unknown generator": (
        lambda d: _first(d).update(generators={"body": {"$.amount": {"type": "Dice"}}}),
        "$.interactions[0].generators.body['$.amount'].type: unknown generator 'Dice'",
    ),
    "regex example": (
        lambda d: _first(d)["contents"]["content"].update(payment_id="PAY-1"),
        "$.interactions[0].matchingRules.body['$.payment_id'].matchers[0]: the example "
        '"PAY-1" at $.payment_id does not match',
    ),
    "no channel": (
        lambda d: _first(d)["metadata"].pop("channel"),
        "$.interactions[0].metadata: interaction 'a payment is authorized' has no channel",
    ),
    "state without handler": (
        lambda d: _first(d)["providerStates"][0].update(name="an order was paid"),
        "$.interactions[0].providerStates[0]: provider state 'an order was paid' has no handler",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_unusable_input_exits_2_with_file_and_json_path(tmp_path: Path, case: str) -> None:
    mutate, expected = BAD_INPUT[case]
    path = _pact(tmp_path, mutate)
    if case == "malformed JSON":
        path.write_text(PAYMENTS_PACT.read_text()[:-30])
        expected = "not valid JSON (line"
    done = runner.invoke(
        app, ["contracts", "verify", str(path), "--providers", str(PROVIDERS), "--no-up"]
    )
    assert done.exit_code == 2, done.output
    lines = [line for line in done.output.splitlines() if line.strip()]
    assert len(lines) <= 2, done.output  # one line (rich may wrap it once)
    flat = " ".join(done.output.split())
    assert str(path) in flat and " ".join(expected.split()) in flat, done.output


def test_a_pact_for_no_provider_asked_for_is_unusable() -> None:
    done = runner.invoke(app, ["contracts", "verify", str(PACTS), "--provider", "billing"])
    assert done.exit_code == 2
    assert "no pact is for provider billing; the pacts given are for payments, shipping" in (
        " ".join(done.output.split())
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "provider: p\nstates:\n  s: {url: x, command: y}\n",
            "p.yaml:3: state 's': give exactly one",
        ),
        ("provider: p\ninteractions:\n  m:\n    trigger: {send: {}}\n", "p.yaml:4: a trigger is"),
        (
            "provider: p\ninteractions:\n  m:\n    trigger:\n      publish: {channel: k:x}\n",
            "p.yaml:4: publish needs 'value'",
        ),
        ("provider: p\ninteractions:\n  m:\n    within: soon\n", "p.yaml:4: within 'soon'"),
        ("provider: p\nstate:\n  s: {}\n", "p.yaml:2: unknown key 'state'"),
        ("states: {}\n", "p.yaml:1: 'provider' (its name) is required"),
    ],
)
def test_provider_config_mistakes_name_file_and_line(text: str, expected: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_provider_config(textwrap.dedent(text), "p.yaml")
    assert str(info.value).startswith(expected), str(info.value)


def test_cli_write_turns_yaml_declarations_into_pacts(tmp_path: Path) -> None:
    done = runner.invoke(
        app,
        [
            "contracts",
            "write",
            str(REPO / "examples/shop/contracts/orders-view.yaml"),
            "--out",
            str(tmp_path),
        ],
    )
    assert done.exit_code == 0, done.output
    written = tmp_path / "orders-view-shipping.json"
    assert written.read_bytes() == (PACTS / "orders-view-shipping.json").read_bytes()
