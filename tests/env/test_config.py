"""Configuration: where it is found, what profiles hold, and errors that name file, key and fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from eventharness.env.brokers import EMBEDDED, parse_broker_overrides
from eventharness.env.config import find_config, load_config
from eventharness.model.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

MINIMAL = """\
[profiles.default]
brokers = { kafka = "embedded", rabbit = "amqp://guest:secret@127.0.0.1:5672/" }
within = "5s"
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_found_by_walking_up(tmp_path: Path) -> None:
    write(tmp_path, "eventharness.toml", MINIMAL)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    config = load_config(start=deep)
    assert config.path == (tmp_path / "eventharness.toml").resolve()
    assert config.root == tmp_path.resolve()
    profile = config.profile()
    assert profile.brokers == {"kafka": EMBEDDED, "rabbit": "amqp://guest:secret@127.0.0.1:5672/"}
    assert profile.within == 5.0
    assert profile.embedded == ["kafka"]


def test_pyproject_table_and_eventharness_toml_wins(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        """\
        [project]
        name = "x"
        [tool.eventharness.profiles.default]
        brokers = { bus = "memory://" }
        """,
    )
    found = find_config(tmp_path)
    assert found is not None and found[0].name == "pyproject.toml"
    assert load_config(start=tmp_path).profile().brokers == {"bus": "memory://"}
    write(tmp_path, "eventharness.toml", MINIMAL)
    assert load_config(start=tmp_path).profile().brokers["kafka"] == EMBEDDED


def test_no_file_gives_an_empty_default_profile(tmp_path: Path) -> None:
    config = load_config(start=tmp_path)
    assert config.path is None
    assert config.profile().brokers == {}


def test_extends_merges_tables(tmp_path: Path) -> None:
    write(
        tmp_path,
        "eventharness.toml",
        MINIMAL
        + """\
        [profiles.ci]
        extends = "default"
        brokers = { kafka = "kafka://10.0.0.1:9092" }
        concurrency = 8
        """,
    )
    ci = load_config(start=tmp_path).profile("ci")
    assert ci.brokers == {
        "kafka": "kafka://10.0.0.1:9092",
        "rabbit": "amqp://guest:secret@127.0.0.1:5672/",
    }
    assert (ci.within, ci.concurrency) == (5.0, 8)


def test_services(tmp_path: Path) -> None:
    write(
        tmp_path,
        "eventharness.toml",
        MINIMAL
        + """\
        [profiles.default.vars]
        view = "http://127.0.0.1:${port.view}"
        [profiles.default.services.payments]
        command = "${python} -m examples.shop payments"
        env = { KAFKA_BOOTSTRAP = "${brokers.kafka.bootstrap}", V = "${vars.view}" }
        ready = { log = "payments ready" }
        start_timeout = "45s"
        """,
    )
    service = load_config(start=tmp_path).profile().services["payments"]
    assert service.command == ["${python}", "-m", "examples.shop", "payments"]
    assert (service.ready.kind, service.ready.target) == ("log", "payments ready")  # type: ignore[union-attr]
    assert service.start_timeout == 45.0
    assert service.brokers_used() == {"kafka"}


ERRORS = {
    "unknown profile key": (
        "[profiles.default]\nbroker = {}\n",
        "profiles.default.broker: unknown key (did you mean 'brokers'?)",
    ),
    "bad duration": (
        '[profiles.default]\nwithin = "5 s"\n',
        "profiles.default.within: '5 s' is not a duration",
    ),
    "bad broker URL": (
        '[profiles.default]\nbrokers = { kafka = "localhost:9092" }\n',
        "profiles.default.brokers.kafka: broker URL 'localhost:9092' has no scheme",
    ),
    "unknown readiness check": (
        '[profiles.default.services.x]\ncommand = "true"\nready = { lgo = "ready" }\n',
        "profiles.default.services.x.ready.lgo: unknown readiness check (did you mean 'log'?)",
    ),
    "service without command": (
        '[profiles.default.services.x]\nready = { log = "ready" }\n',
        "profiles.default.services.x.command: is required",
    ),
    "unknown namespace": (
        '[profiles.default.services.x]\ncommand = "run ${ports.a}"\n',
        "${ports.a} is not known (did you mean 'port'?)",
    ),
    "unknown broker in a reference": (
        '[profiles.default]\nbrokers = { kafka = "embedded" }\n'
        '[profiles.default.env]\nB = "${brokers.rabit.bootstrap}"\n',
        "no broker 'rabit' in this profile (brokers: kafka)",
    ),
    "unset environment variable": (
        '[profiles.default.env]\nF = "${env.EH_SURELY_UNSET_77}"\n',
        "environment variable EH_SURELY_UNSET_77 is not set; set it or give a default: "
        "${env.EH_SURELY_UNSET_77:-value}",
    ),
    "TOML syntax": ("[profiles.default\n", "not valid TOML"),
    "bad concurrency": (
        "[profiles.default]\nconcurrency = 0\n",
        "profiles.default.concurrency: must be a whole number ≥ 1, got 0",
    ),
    "extends loop": (
        '[profiles.a]\nextends = "b"\n[profiles.b]\nextends = "a"\n',
        "extends: 'a' loops back",
    ),
    "bad correlation rule": (
        '[profiles.default.correlation]\nrules = { "kafka:x" = "order_id" }\n',
        "is not a correlation rule; use 'key', 'headers.<name>' or 'value.<path>'",
    ),
    "unclosed reference": (
        '[profiles.default.services.x]\ncommand = "serve --home ${env.HOME"\n',
        "profiles.default.services.x.command: '${env.HOME' has no closing '}': "
        "write ${env.HOME}, or $${ for a literal ${",
    ),
    "unclosed reference in a variable": (
        '[profiles.default]\nvars = { url = "http://${vars" }\n',
        "profiles.default.vars.url: '${vars' has no closing '}': write ${vars}, or $${ for a "
        "literal ${",
    ),
    "nested past the limit": (
        "[profiles.default]\nvars = { a = " + "[" * 97 + "]" * 97 + " }\n",
        "profiles.default.vars.a: nested more than 100 levels deep; flatten the value",
    ),
    "nested too deep to parse": (
        "[profiles.default]\nvars = " + "{a = " * 600 + "1" + "}" * 600 + "\n",
        "eventharness.toml: nested more than 100 levels deep; flatten the value",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_name_file_key_and_fix(tmp_path: Path, case: str) -> None:
    text, words = ERRORS[case]
    path = write(tmp_path, "eventharness.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}"), message
    assert words in message


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    # the file, profiles, default and vars are 4 levels: 96 more make 100
    path = write(
        tmp_path,
        "eventharness.toml",
        "[profiles.default]\nvars = { a = " + "[" * 96 + "]" * 96 + " }\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "vars.a: must be text" in str(caught.value)  # read, then refused for what it is


def test_pyproject_errors_name_the_tool_table(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", "[tool.eventharness.profiles.default]\nwthin = 1\n")
    with pytest.raises(ConfigError, match=r"tool\.eventharness\.profiles\.default\.wthin"):
        load_config(path)


def test_unknown_profile_suggests(tmp_path: Path) -> None:
    write(tmp_path, "eventharness.toml", MINIMAL)
    with pytest.raises(ConfigError, match=r"no profile 'defualt' \(did you mean 'default'\?\)"):
        load_config(start=tmp_path).profile("defualt")


def test_broker_overrides() -> None:
    assert parse_broker_overrides(["kafka=memory://", "rabbit=amqp://u:p@h:1/"]) == {
        "kafka": "memory://",
        "rabbit": "amqp://u:p@h:1/",
    }
    assert parse_broker_overrides(["kafka=embedded"]) == {"kafka": EMBEDDED}
    with pytest.raises(ConfigError, match="write name=URL"):
        parse_broker_overrides(["kafka"])
    with pytest.raises(ConfigError, match="--broker kafka: broker URL 'nope' has no scheme"):
        parse_broker_overrides(["kafka=nope"])


def test_the_repository_profile_loads() -> None:
    config = load_config(REPO / "eventharness.toml")
    profile = config.profile("default")
    assert profile.brokers["kafka"] == EMBEDDED
    assert set(profile.services) == {"payments", "shipping", "orders-view"}
    assert all(s.ready is not None and s.ready.kind == "log" for s in profile.services.values())
    assert config.schema_path(profile) == REPO / "examples" / "shop" / "schemas"


def test_channel_schemas_bind_channels_to_subjects(tmp_path: Path) -> None:
    from eventharness.env.config import load_config

    (tmp_path / "eventharness.toml").write_text(
        '[profiles.default]\nbrokers = {kafka = "memory://"}\n'
        '[profiles.default.channel_schemas]\n"kafka:orders" = "shop.OrderPlaced"\n'
        '"kafka:payments" = {PaymentAuthorized = "shop.PaymentAuthorized"}\n'
    )
    profile = load_config(tmp_path / "eventharness.toml").profile("default")
    assert profile.channel_schemas == {
        "kafka:orders": "shop.OrderPlaced",
        "kafka:payments": {"PaymentAuthorized": "shop.PaymentAuthorized"},
    }


def test_channel_schemas_of_the_wrong_shape_name_the_key(tmp_path: Path) -> None:
    from eventharness.env.config import load_config
    from eventharness.model.errors import ConfigError

    (tmp_path / "eventharness.toml").write_text(
        '[profiles.default]\nbrokers = {kafka = "memory://"}\n'
        '[profiles.default.channel_schemas]\n"kafka:orders" = 3\n'
    )
    with pytest.raises(ConfigError, match=r"profiles\.default\.channel_schemas\.kafka:orders"):
        load_config(tmp_path / "eventharness.toml").profile("default")


def test_a_profile_shows_no_password(tmp_path: Path) -> None:
    """``pytest -l`` and logs show a profile's repr: the passwords of its URLs are ``***``."""
    write(
        tmp_path,
        "eventharness.toml",
        MINIMAL + "[profiles.default.env]\nDB_URL = 'postgres://app:db-s3cret@127.0.0.1/shop'\n",
    )
    profile = load_config(tmp_path / "eventharness.toml").profile()
    for shown in (repr(profile), str(profile), repr(load_config(tmp_path / "eventharness.toml"))):
        assert "secret" not in shown and "db-s3cret" not in shown, shown
        assert "amqp://guest:***@127.0.0.1:5672/" in shown
        assert "postgres://app:***@127.0.0.1/shop" in shown
    assert profile.brokers["rabbit"] == "amqp://guest:secret@127.0.0.1:5672/"  # still usable
