"""Variables in the channel names of a scenario file's ``correlation:`` rules (the mapping's
keys) are substituted like values — an unsubstituted key would silently never apply — and a
name nobody defines fails ``validate`` with the file and line."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import cli, no_traceback, project

# payments answers with a correlation of its own: only the business-key rule claims its answer
BY_ORDER_ID = """\
name: claimed by order id
vars: {order_id: "o-${uuid}"}
correlation:
  "kafka:${env.EH_PREFIX}-payments": value.order_id
stubs:
  - name: payments
    consume: kafka:orders
    respond:
      - channel: "kafka:${env.EH_PREFIX}-payments"
        value: {type: PaymentAuthorized, order_id: "${in.value.order_id}"}
        headers: {correlation-id: "${uuid}", correlation_id: "${uuid}",
                  traceparent: "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01"}
steps:
  - publish: {channel: kafka:orders, key: "${order_id}",
              value: {type: OrderPlaced, order_id: "${order_id}"}}
  - expect: {channel: "kafka:${env.EH_PREFIX}-payments", type: PaymentAuthorized, within: 2s}
"""


def test_a_variable_in_a_correlation_key_is_substituted(tmp_path: Path) -> None:
    root = project(tmp_path, {"by_key.yaml": BY_ORDER_ID})
    done = cli(root, "run", "scenarios", EH_PREFIX="acme")
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_an_undefined_variable_in_a_correlation_key_fails_validate_with_its_line(
    tmp_path: Path,
) -> None:
    text = BY_ORDER_ID.replace('"kafka:${env.EH_PREFIX}-payments": value', '"kafka:${nope}": value')
    root = project(tmp_path, {"by_key.yaml": text})
    done = cli(root, "validate", "scenarios")
    no_traceback(done)
    assert done.returncode == 2, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "by_key.yaml:4" in out and "nope" in out, out
