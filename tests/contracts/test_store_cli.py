"""The store's commands as a user meets them: publish, record-deployment, can-i-deploy, matrix,
on a scratch typer app that ``register`` fills (the ``contracts`` group is wired at merge)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from eventharness.cli.contracts_store import register
from eventharness.contracts import load_pact, write_pact
from eventharness.contracts.store import ContractStore, InteractionResult
from tests.contracts.test_store import VIEW_1, VIEW_2


def invoke(*args: str) -> Result:
    app = typer.Typer()
    register(app)
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_pact(VIEW_1, tmp_path / "pacts" / "v1.json")
    write_pact(VIEW_2, tmp_path / "pacts" / "v2.json")
    return tmp_path


def test_publish_deploy_and_ask(repo: Path) -> None:
    result = invoke("publish", "pacts/v1.json", "--version", "1.0.0", "--branch", "main")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "published orders-view 1.0.0 -> shipping: contracts/pacts/orders-view/shipping/1.0.0.json "
        "(sha256:"
    )
    assert load_pact("contracts/pacts/orders-view/shipping/1.0.0.json") == VIEW_1
    ok = [InteractionResult("shipping event", True)]
    ContractStore("contracts").record_verification("2.0.0", VIEW_1, "1.0.0", ok)
    for name, version in (("shipping", "2.0.0"), ("orders-view", "0.9.0")):
        result = invoke(
            "record-deployment", "--pacticipant", name, "--version", version, "--env", "prod"
        )
        assert result.exit_code == 0, result.output
    assert (
        result.output
        == "recorded: orders-view 0.9.0 runs in prod (contracts/deployments/prod.json)\n"
    )

    result = invoke(
        "can-i-deploy",
        "--pacticipant",
        "orders-view",
        "--version",
        "1.0.0",
        "--to-environment",
        "prod",
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:5] == [
        "Computer says yes \\o/",
        "",
        "CONSUMER    | C.VERSION | PROVIDER | P.VERSION | SUCCESS? | RESULT#",
        "------------|-----------|----------|-----------|----------|--------",
        "orders-view | 1.0.0     | shipping | 2.0.0     | true     | 1",
    ]
    assert "1. contracts/verifications/shipping/2.0.0.json (success)" in result.output

    invoke("publish", "pacts/v2.json", "--version", "1.1.0")
    result = invoke(
        "can-i-deploy",
        "--pacticipant",
        "orders-view",
        "--version",
        "1.1.0",
        "--to-environment",
        "prod",
    )
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "There is no verified pact between version 1.1.0 of orders-view and version 2.0.0 of "
        "shipping (shipping 2.0.0 is currently in prod)"
    )

    result = invoke("matrix")
    assert result.exit_code == 0
    assert result.output.splitlines()[2:4] == [
        "orders-view | 1.0.0     | shipping | 2.0.0     | true     | 1",
        "orders-view | 1.1.0     | shipping |           |          |",
    ]
    assert result.output.endswith(
        "DEPLOYMENTS\n-----------\nprod: orders-view 0.9.0, shipping 2.0.0\n"
    )


def test_can_i_deploy_as_of_a_git_ref(repo: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    invoke("publish", "pacts/v1.json", "--version", "1.0.0")
    invoke("record-deployment", "--pacticipant", "shipping", "--version", "2.0.0", "--env", "prod")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "store"], check=True)
    ok = [InteractionResult("shipping event", True)]
    ContractStore("contracts").record_verification("2.0.0", VIEW_1, "1.0.0", ok)  # not committed
    args = [
        "can-i-deploy",
        "--pacticipant",
        "orders-view",
        "--version",
        "1.0.0",
        "--to-environment",
        "prod",
    ]
    assert invoke(*args).exit_code == 0
    assert invoke(*args, "--against", "main").exit_code == 1
    result = invoke("matrix", "--against", "HEAD")
    assert "orders-view | 1.0.0     | shipping |           |          |" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["publish", "missing.json", "--version", "1"], "missing.json: cannot read the pact file"),
        (["publish", "pacts/v1.json", "--version", "../1"], "version '../1' cannot name a file"),
        (
            ["can-i-deploy", "--pacticipant", "x", "--version", "1", "--to-environment", "prod"],
            "unknown environment 'prod' (environments: none yet)",
        ),
        (["matrix", "--against", "no-such-ref"], "no-such-ref"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(repo: Path, args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bad_store_file_names_file_and_json_path(repo: Path) -> None:
    invoke("record-deployment", "--pacticipant", "shipping", "--version", "2.0.0", "--env", "prod")
    Path("contracts/deployments/prod.json").write_text('{"deployed": {"shipping": 2}}')
    result = invoke(
        "can-i-deploy",
        "--pacticipant",
        "shipping",
        "--version",
        "2.0.0",
        "--to-environment",
        "prod",
    )
    assert result.exit_code == 2
    assert "contracts/deployments/prod.json: $.deployed['shipping']: must be a version string" in (
        result.output
    )
