"""Variables in the channel names of a scenario file's ``correlation:`` rules (the mapping's
keys) are substituted like values — an unsubstituted key would silently never apply — and a
name nobody defines fails ``validate`` with the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

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


# the profile names its channel after the run; its schema binding must follow the name
RUN_NAMED = """\
[profiles.default]
brokers = { kafka = "memory://named" }
within = "2s"
schemas = "schemas"

[profiles.default.vars]
orders = "shop-${run.id}-orders"

[profiles.default.channel_schemas]
"kafka:${vars.orders}" = "shop.Order"
"""

PUBLISH_ORDER = """\
name: an order on the run's topic
steps:
  - publish: {channel: "kafka:${orders}", key: k, value: {type: OrderPlaced, total: TOTAL}}
  - expect: {channel: "kafka:${orders}", type: OrderPlaced, within: 1s}
"""


def _run_named(tmp_path: Path, total: str, key: str = "${vars.orders}") -> Path:
    tmp_path.mkdir()
    (tmp_path / "eventharness.toml").write_text(RUN_NAMED.replace("${vars.orders}", key))
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "shop.Order.json").write_text(
        '{"type": "object", "required": ["total"], "properties": {"total": {"type": "integer"}}}'
    )
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "order.yaml").write_text(PUBLISH_ORDER.replace("TOTAL", total))
    return tmp_path


@pytest.mark.parametrize("key", ["${vars.orders}", "shop-${run.id}-orders"])
def test_a_variable_in_a_profile_channel_schemas_key_binds_the_run_named_channel(
    tmp_path: Path, key: str
) -> None:
    good = cli(_run_named(tmp_path / "good", "42", key), "run", "scenarios")
    no_traceback(good)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = cli(_run_named(tmp_path / "bad", '"forty-two"', key), "run", "scenarios")
    no_traceback(bad)
    out = bad.stdout + bad.stderr
    # the binding applies: the publish is refused by the schema bound to the substituted name
    assert bad.returncode == 1, out
    assert "shop.Order" in out and "total" in out, out


def test_an_unknown_variable_in_a_profile_channel_key_fails_validate(tmp_path: Path) -> None:
    root = _run_named(tmp_path / "p", "42", "${vars.nope}")
    done = cli(root, "validate", "scenarios")
    no_traceback(done)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "profiles.default.channel_schemas" in out and "nope" in out, out
