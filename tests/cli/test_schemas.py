from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eventharness.cli.schemas import app
from eventharness.schemas import RegistryClient
from tests.schemas.registry_server import RegistryServer

runner = CliRunner()

V1 = {
    "type": "record",
    "name": "Customer",
    "fields": [{"name": "id", "type": "string"}, {"name": "name", "type": "string"}],
}
COMPATIBLE = {  # adds an optional field with a default
    **V1,
    "fields": [*V1["fields"], {"name": "tier", "type": "string", "default": "basic"}],
}
BREAKING = {  # adds a required field: the new schema cannot read old events
    **V1,
    "fields": [*V1["fields"], {"name": "email", "type": "string"}],
}
REFUND = {"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": False}


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def write(path: Path, schema: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=2))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    write(tmp_path / "schemas" / "shop.Customer.avsc", V1)
    write(tmp_path / "schemas" / "shop.Refund.json", REFUND)
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "v1")
    return tmp_path


def check(repo: Path, *args: str) -> Any:
    return runner.invoke(app, ["check", "--dir", str(repo / "schemas"), *args])


def test_breaking_change_against_head_exits_1_naming_the_field(repo: Path) -> None:
    write(repo / "schemas" / "shop.Customer.avsc", BREAKING)
    result = check(repo, "--against", "HEAD")
    assert result.exit_code == 1, result.output
    assert "BREAKING" in result.output
    assert "shop.Customer (vs version 1): $.email:" in result.output
    assert "has no default" in result.output
    assert "[backward: new schema reading old data]" in result.output
    assert "1 breaking change(s)" in result.output


def test_compatible_change_against_head_exits_0(repo: Path) -> None:
    write(repo / "schemas" / "shop.Customer.avsc", COMPATIBLE)
    result = check(repo, "--against", "HEAD")
    assert result.exit_code == 0, result.output
    assert "no breaking changes" in result.output


def test_against_head_tilde_one_after_committing(repo: Path) -> None:
    write(repo / "schemas" / "shop.Customer.avsc", BREAKING)
    git(repo, "commit", "-q", "-am", "break it")
    assert check(repo, "--against", "HEAD~1").exit_code == 1
    write(repo / "schemas" / "shop.Customer.avsc", V1)
    git(repo, "commit", "-q", "-am", "revert")
    write(repo / "schemas" / "shop.Customer.avsc", COMPATIBLE)
    git(repo, "commit", "-q", "-am", "compatible")
    assert check(repo, "--against", "HEAD~1").exit_code == 0


def test_mode_changes_the_verdict(repo: Path) -> None:
    # removing a field is BACKWARD compatible (the new schema skips it in old data) but not
    # FORWARD: the old schema has no default for it, so old readers cannot read new data
    write(repo / "schemas" / "shop.Customer.avsc", {**V1, "fields": V1["fields"][:1]})
    assert check(repo, "--against", "HEAD").exit_code == 0
    result = check(repo, "--against", "HEAD", "--mode", "forward")
    assert result.exit_code == 1
    assert "$.name" in result.output
    assert "[forward: old schema reading new data]" in result.output
    assert check(repo, "--against", "HEAD", "--mode", "NONE").exit_code == 0


def test_json_schema_subject_and_new_subjects(repo: Path) -> None:
    write(repo / "schemas" / "shop.Refund.json", {**REFUND, "additionalProperties": True})
    write(repo / "schemas" / "shop.Shipped.json", {"type": "object"})
    result = check(repo, "--against", "HEAD")
    assert result.exit_code == 0, result.output
    write(
        repo / "schemas" / "shop.Refund.json",
        {"type": "object", "properties": {}, "additionalProperties": False},
    )
    result = check(repo, "--against", "HEAD")
    assert result.exit_code == 1
    assert "$.id" in result.output
    assert "property:removed-from-closed" in result.output


def test_without_reference_checks_the_folder_history(tmp_path: Path) -> None:
    write(tmp_path / "orders-value" / "1.avsc", V1)
    write(tmp_path / "orders-value" / "2.avsc", COMPATIBLE)
    ok = runner.invoke(app, ["check", "--dir", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    write(tmp_path / "orders-value" / "3.avsc", BREAKING)
    bad = runner.invoke(app, ["check", "--dir", str(tmp_path), "--mode", "BACKWARD_TRANSITIVE"])
    assert bad.exit_code == 1
    assert "orders-value (vs version 1): $.email" in bad.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--against", "no-such-ref"], "git rev-parse"),
        (["--mode", "SIDEWAYS"], "unknown compatibility mode 'SIDEWAYS'"),
        (["--against", "HEAD", "--registry", "http://127.0.0.1:1"], "not both"),
    ],
)
def test_usage_errors_exit_2_with_one_line(repo: Path, args: list[str], message: str) -> None:
    result = check(repo, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_folder_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--dir", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_check_and_register_against_a_registry(repo: Path) -> None:
    folder = repo / "schemas"
    with RegistryServer() as server:
        registered = runner.invoke(
            app, ["register", "--registry", server.url, "--dir", str(folder)]
        )
        assert registered.exit_code == 0, registered.output
        assert "registered shop.Customer v1 as id 1" in registered.output
        with RegistryClient(server.url) as client:
            assert client.get("shop.Customer").schema == V1
            assert client.get("shop.Refund").kind == "json"
            client.set_compatibility("FORWARD", "shop.Customer")

        write(folder / "shop.Customer.avsc", BREAKING)  # BACKWARD-breaking, FORWARD-fine
        assert check(repo, "--registry", server.url).exit_code == 0
        result = check(repo, "--registry", server.url, "--mode", "BACKWARD")
        assert result.exit_code == 1
        assert "$.email" in result.output


def test_unreachable_registry_exits_2(repo: Path) -> None:
    result = check(repo, "--registry", "http://127.0.0.1:1")
    assert result.exit_code == 2
    assert "not reachable" in result.output


def test_validate_examples(repo: Path) -> None:
    good = repo / "good.json"
    good.write_text(json.dumps({"id": "c-1", "name": "Ada"}))
    many = repo / "many.jsonl"
    many.write_text('{"id": "c-2", "name": "Bo"}\n{"id": 3}\n')
    result = runner.invoke(
        app, ["validate", "shop.Customer", str(good), str(many), "--dir", str(repo / "schemas")]
    )
    assert result.exit_code == 1, result.output
    assert f"ok   {good}" in result.output
    assert f"FAIL {many}:2" in result.output
    assert "$.id: expected string, got int 3 (type)" in result.output
    assert "$.name: field is missing and has no default (required)" in result.output

    only_good = runner.invoke(
        app, ["validate", "shop.Customer", str(good), "--dir", str(repo / "schemas")]
    )
    assert only_good.exit_code == 0


def test_validate_unknown_subject_exits_2(repo: Path) -> None:
    good = repo / "good.json"
    good.write_text("{}")
    result = runner.invoke(
        app, ["validate", "shop.Nope", str(good), "--dir", str(repo / "schemas")]
    )
    assert result.exit_code == 2
    assert "shop.Customer, shop.Refund" in result.output
