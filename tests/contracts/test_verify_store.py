"""Verification against the contract store: ``contracts verify`` with no pact files takes the
provider's pacts from the store (each consumer's latest and deployed versions, one run per
distinct content), ``--publish-results --provider-version V`` records the results there, and
can-i-deploy answers from them — the whole loop a provider team's pipeline runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from eventharness.cli.app import app
from eventharness.contracts import Pact, load_pact, write_pact
from eventharness.contracts.results import pacts_to_verify
from eventharness.contracts.store import ContractStore
from tests.contracts.test_verify import PAYMENTS_PACT, provider_module

__all__ = ["provider_module"]  # the fixture, shared with test_verify

runner = CliRunner()


def cli(*args: str) -> Result:
    return runner.invoke(app, ["contracts", *args])


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractStore:
    monkeypatch.chdir(tmp_path)
    found = ContractStore(tmp_path / "contracts")
    found.publish_pact(load_pact(PAYMENTS_PACT), "1.0.0", branch="main")
    return found


def test_verify_from_the_store_records_results_that_can_i_deploy_reads(
    store: ContractStore, provider_module: str
) -> None:
    assert (
        cli(
            "record-deployment", "--pacticipant", "shipping", "--version", "1.0.0", "--env", "prod"
        ).exit_code
        == 0
    )
    verify = [
        "verify",
        "--provider",
        "payments",
        "--publish-results",
        "--provider-branch",
        "main",
    ]
    good = cli(
        *verify, "--provider-version", "2.0.0", "--function", f"{provider_module}:message_for"
    )
    assert good.exit_code == 0, good.output
    assert "shipping 1.0.0: latest; shipping 1.0.0: deployed in prod" in good.output
    assert "results of 2.0.0 recorded" in good.output
    recorded = json.loads((store.root / "verifications/payments/2.0.0.json").read_text())
    assert [r["success"] for r in recorded["results"]] == [True]
    assert recorded["results"][0]["consumerVersion"] == "1.0.0"

    bad = cli(*verify, "--provider-version", "2.1.0", "--function", f"{provider_module}:broken")
    assert bad.exit_code == 1, bad.output
    failed = json.loads((store.root / "verifications/payments/2.1.0.json").read_text())
    (row,) = failed["results"]
    assert row["success"] is False
    assert any("$.amount" in m for m in row["interactions"][0]["mismatches"]), row

    ask = ["can-i-deploy", "--pacticipant", "payments", "--to-environment", "prod"]
    yes = cli(*ask, "--version", "2.0.0")
    assert yes.exit_code == 0, yes.output
    no = cli(*ask, "--version", "2.1.0")
    assert no.exit_code == 1, no.output
    assert "shipping" in no.output
    # the latest payments (on main) is the failed 2.1.0
    for chosen in (["--latest"], ["--branch", "main"]):
        latest = cli(*ask, *chosen)
        assert latest.exit_code == 1, latest.output
        assert latest.output == no.output
    unknown = cli(*ask, "--branch", "nowhere")
    assert unknown.exit_code == 2, unknown.output
    assert "no version of payments on branch 'nowhere'" in unknown.output
    both = cli(*ask, "--version", "2.0.0", "--latest")
    assert both.exit_code == 2 and "not both" in both.output, both.output


def test_consumer_versions_with_the_same_content_are_verified_once(
    store: ContractStore, tmp_path: Path
) -> None:
    pact = load_pact(PAYMENTS_PACT)
    store.publish_pact(pact, "1.1.0", branch="main")  # the same content again
    changed = json.loads(PAYMENTS_PACT.read_text())
    changed["interactions"][0]["description"] = "a payment is authorised"
    (tmp_path / "changed.json").write_text(json.dumps(changed))
    store.publish_pact(load_pact(tmp_path / "changed.json"), "1.2.0", branch="feature")
    store.record_deployment("shipping", "1.0.0", "prod")

    chosen = pacts_to_verify(store, "payments")  # latest (1.2.0, any branch) and deployed
    assert [e.consumer_versions for e in chosen] == [("1.0.0",), ("1.2.0",)]
    assert chosen[0].why == ("shipping 1.0.0: deployed in prod",)
    # on main: 1.1.0 is the latest and 1.0.0 runs in prod, one content: verified once
    on_main = pacts_to_verify(store, "payments", consumer_branch="main")
    assert [e.consumer_versions for e in on_main] == [("1.0.0", "1.1.0")]
    assert on_main[0].why == ("shipping 1.0.0: deployed in prod", "shipping 1.1.0: latest on main")


def test_a_pact_file_the_store_never_saw_cannot_have_results_recorded(
    store: ContractStore, tmp_path: Path, provider_module: str
) -> None:
    changed = json.loads(PAYMENTS_PACT.read_text())
    changed["interactions"][0]["description"] = "a payment is authorised"
    write_pact(load_pact_from(changed, tmp_path), tmp_path / "unpublished.json")
    done = cli(
        "verify",
        str(tmp_path / "unpublished.json"),
        "--publish-results",
        "--provider-version",
        "2.0.0",
        "--function",
        f"{provider_module}:message_for",
    )
    assert done.exit_code == 2, done.output
    assert "unpublished.json: no version of shipping" in done.output
    assert "publish it first" in done.output
    assert not (store.root / "verifications").exists()


def load_pact_from(raw: dict[str, object], folder: Path) -> Pact:
    (folder / "raw.json").write_text(json.dumps(raw))
    return load_pact(folder / "raw.json")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--provider", "payments", "--publish-results"],
            "--publish-results needs --provider-version",
        ),
        ([], "--provider NAME to verify its pacts from the contract store"),
        (["--provider", "nobody"], "no consumer has published a pact with 'nobody'"),
    ],
)
def test_bad_store_verification_input_exits_2(
    store: ContractStore, args: list[str], says: str
) -> None:
    done = cli("verify", *args)
    assert done.exit_code == 2, done.output
    assert says in done.output, done.output
    assert "Traceback" not in done.output
