"""Provider-state teardown (``state_teardown: true``, Pact's ``--state-change-teardown``): after
each interaction, whatever its verdict, every state is torn down, last first — a function with
an ``action`` parameter, a command with ``PACT_ACTION``, a URL with ``"action": "teardown"`` —
and a teardown that fails fails the interaction, naming the state."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

import eventharness as eh
from eventharness.contracts.broker import verify_on_harness
from eventharness.contracts.providers import parse_provider_config
from eventharness.contracts.verify import check_inputs
from tests.contracts.test_verify import _payment, loaded

CALLS: list[tuple[str, str]] = []


def state(name: str, params: dict[str, Any], action: str) -> None:
    CALLS.append((action, f"function {name}"))


def setup_only(name: str, params: dict[str, Any]) -> None:
    CALLS.append(("setup", f"setup-only {name}"))


class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        CALLS.append((body["action"], f"url {body['state']}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def state_url() -> Any:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/state"
    server.shutdown()


def _config(url: str, teardown: bool = True) -> Any:
    """payments' config with a function handler (and a catch-all URL nobody needs)."""
    return _with_handler(
        '{function: "tests.contracts.test_state_teardown:state"}',
        f"state_teardown: {'true' if teardown else 'false'}\nstate_setup_url: {url}",
    )


def _with_handler(handler: str, top: str = "state_teardown: true") -> Any:
    text = f"""
provider: payments
{top}
states:
  an order was placed: {handler}
interactions:
  a payment is authorized:
    trigger:
      publish:
        channel: kafka:orders
        key: "${{params.order_id}}"
        value: {{type: OrderPlaced, order_id: "${{params.order_id}}", total: "${{params.total}}"}}
"""
    return parse_provider_config(text, "payments.yaml")


async def _verify(config: Any, respond: list[dict[str, Any]]) -> Any:
    harness = eh.Harness({"kafka": f"memory://{uuid.uuid4().hex}"}, within=1.0)
    async with harness, harness.stub("kafka:orders", type="OrderPlaced", respond=respond):
        pacts = check_inputs(loaded(), ["payments"], lambda _name: config)
        return await verify_on_harness(pacts, harness, lambda _name: config, within=1.0)


@pytest.mark.parametrize("amount", ["${in.value.total}", "n/a"])
def test_states_are_torn_down_after_each_interaction_whatever_its_verdict(
    state_url: str, tmp_path: Path, amount: str
) -> None:
    CALLS.clear()
    result = asyncio.run(_verify(_config(state_url), _payment(amount)))
    assert result.ok is (amount != "n/a"), result.render()
    assert CALLS == [
        ("setup", "function an order was placed"),
        ("teardown", "function an order was placed"),
    ]


def test_without_state_teardown_nothing_is_torn_down(state_url: str, tmp_path: Path) -> None:
    CALLS.clear()
    config = _config(state_url, teardown=False)
    result = asyncio.run(_verify(config, _payment("${in.value.total}")))
    assert result.ok, result.render()
    assert CALLS == [("setup", "function an order was placed")]


def test_a_url_and_a_command_are_told_the_action(state_url: str, tmp_path: Path) -> None:
    CALLS.clear()
    url = _with_handler(f"{{url: {state_url!r}}}")
    assert asyncio.run(_verify(url, _payment("${in.value.total}"))).ok
    assert CALLS == [("setup", "url an order was placed"), ("teardown", "url an order was placed")]

    log = tmp_path / "actions.log"
    script = tmp_path / "state.py"
    script.write_text(
        "import os\n"
        f"open({str(log)!r}, 'a').write(os.environ['PACT_ACTION'] + ' ' + "
        "os.environ['PACT_STATE'] + '\\n')\n"
    )
    command = _with_handler(f"{{command: '{sys.executable} {script}'}}")
    assert asyncio.run(_verify(command, _payment("${in.value.total}"))).ok
    assert log.read_text().splitlines() == [
        "setup an order was placed",
        "teardown an order was placed",
    ]


def test_a_setup_only_function_is_not_called_to_tear_down(tmp_path: Path) -> None:
    CALLS.clear()
    config = _with_handler('{function: "tests.contracts.test_state_teardown:setup_only"}')
    assert asyncio.run(_verify(config, _payment("${in.value.total}"))).ok
    assert CALLS == [("setup", "setup-only an order was placed")]


def test_a_failing_teardown_fails_the_interaction_naming_the_state(state_url: str) -> None:
    config = _with_handler(f"{{url: {state_url!r}}}")

    original = _Recorder.do_POST

    def do_post(self: _Recorder) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(500 if body["action"] == "teardown" else 200)
        self.end_headers()

    _Recorder.do_POST = do_post  # type: ignore[method-assign]
    try:
        result = asyncio.run(_verify(config, _payment("${in.value.total}")))
    finally:
        _Recorder.do_POST = original  # type: ignore[method-assign]
    (one,) = result.results
    assert not one.ok
    assert one.problem is not None and "teardown of state 'an order was placed'" in one.problem
    assert "answered 500" in one.problem
