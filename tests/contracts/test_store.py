"""The contract store: round trips, byte-identical files, reading as of a git ref, bad input;
and the can-i-deploy rule on a hand-built matrix."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from eventharness.contracts import Contents, Interaction, Message, Pact, content_hash
from eventharness.contracts.deploy import can_i_deploy, format_decision, format_matrix, matrix
from eventharness.contracts.store import ContractStore, InteractionResult
from eventharness.model.errors import ContractError, UsageError


def pact(consumer: str, provider: str, *fields: str) -> Pact:
    body = {name: f"{name}-1" for name in fields}
    message = Message(Contents(body, "application/json"), {"topic": provider})
    return Pact(consumer, provider, (Interaction(f"{provider} event", message),))


OK = (InteractionResult("shipping event", True),)
BAD = (InteractionResult("shipping event", False, ("$.eta: expected a string, got 7",)),)

VIEW_1 = pact("orders-view", "shipping", "order_id")
VIEW_2 = pact("orders-view", "shipping", "order_id", "eta")


def build(root: Path) -> ContractStore:
    """orders-view 1.0.0 (verified by shipping 2.0.0), 1.1.0 (same pact content: shares the
    verification), 1.2.0 (new content, unverified), 1.3.0 (failed); prod runs shipping 2.0.0
    and orders-view 1.0.0."""
    store = ContractStore(root)
    store.publish_pact(VIEW_1, "1.0.0", branch="main")
    store.publish_pact(VIEW_1, "1.1.0", branch="main")
    store.publish_pact(VIEW_2, "1.2.0", branch="feat-eta")
    store.publish_pact(pact("orders-view", "shipping", "order_id", "x"), "1.3.0")
    store.record_verification("2.0.0", VIEW_1, "1.0.0", OK, branch="main")
    bad = pact("orders-view", "shipping", "order_id", "x")
    store.record_verification("2.0.0", bad, "1.3.0", BAD, branch="main")
    store.record_deployment("shipping", "2.0.0", "prod")
    store.record_deployment("orders-view", "1.0.0", "prod")
    return store


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# -- the store --------------------------------------------------------------------------------


def test_layout_and_round_trip(tmp_path: Path) -> None:
    store = build(tmp_path / "contracts")
    assert sorted(snapshot(tmp_path / "contracts")) == [
        "branches/orders-view.json",
        "branches/shipping.json",
        "deployments/prod.json",
        "pacts/orders-view/shipping/1.0.0.json",
        "pacts/orders-view/shipping/1.1.0.json",
        "pacts/orders-view/shipping/1.2.0.json",
        "pacts/orders-view/shipping/1.3.0.json",
        "verifications/shipping/2.0.0.json",
    ]
    published = store.pact("orders-view", "shipping", "1.0.0")
    assert published is not None and published.pact == VIEW_1
    assert published.hash == content_hash(VIEW_1)
    assert [v.version for v in store.versions("orders-view")] == [
        "1.0.0",
        "1.1.0",
        "1.2.0",
        "1.3.0",
    ]
    assert store.latest("orders-view") == "1.3.0"
    assert store.latest("orders-view", branch="main") == "1.1.0"
    assert store.latest("orders-view", branch="feat-eta") == "1.2.0"
    assert store.latest("nobody") is None
    assert store.deployed("prod") == {"orders-view": "1.0.0", "shipping": "2.0.0"}
    assert store.deployed("test") == {}
    assert store.environments() == ["prod"]
    assert store.pacticipants() == ["orders-view", "shipping"]
    verifications = store.verifications("shipping")
    assert [(v.consumer_version, v.success) for v in verifications] == [
        ("1.0.0", True),
        ("1.3.0", False),
    ]
    assert verifications[0].pact_hash == content_hash(VIEW_1)
    raw = json.loads((tmp_path / "contracts/verifications/shipping/2.0.0.json").read_text())
    assert raw["results"][1]["interactions"][0] == {
        "description": "shipping event",
        "success": False,
        "mismatches": ["$.eta: expected a string, got 7"],
    }


def test_same_operations_give_byte_identical_files(tmp_path: Path) -> None:
    build(tmp_path / "a")
    build(tmp_path / "b")
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    store = ContractStore(tmp_path / "a")  # repeating an operation changes nothing
    before = snapshot(tmp_path / "a")
    store.publish_pact(VIEW_1, "1.0.0", branch="main")
    store.record_deployment("shipping", "2.0.0", "prod")
    store.record_verification("2.0.0", VIEW_1, "1.0.0", OK, branch="main")
    assert snapshot(tmp_path / "a") == before
    text = (tmp_path / "a/deployments/prod.json").read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_a_version_keeps_its_pact(tmp_path: Path) -> None:
    store = ContractStore(tmp_path)
    store.publish_pact(VIEW_1, "1.0.0")
    with pytest.raises(ContractError, match=r"1\.0\.0 of orders-view already has a different"):
        store.publish_pact(VIEW_2, "1.0.0")


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "", "a b", "v1.json"])
def test_names_that_cannot_be_file_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ContractError, match="cannot name a file"):
        ContractStore(tmp_path).publish_pact(VIEW_1, name)


@pytest.mark.parametrize(
    ("rel", "text", "message"),
    [
        ("deployments/prod.json", "{", r"prod\.json: not valid JSON \(line 1"),
        (
            "deployments/prod.json",
            '{"deployed": []}',
            r"prod\.json: \$\.deployed: must be a JSON object",
        ),
        ("deployments/prod.json", '{"deployed": {"a": 1}}', r"prod\.json: \$\.deployed\['a'\]"),
        ("branches/a.json", '{"versions": [{}]}', r"a\.json: \$\.versions\[0\]\.version"),
        (
            "verifications/p/1.json",
            '{"results": [{"consumer": "c", "consumerVersion": "1", "pactHash": "h", '
            '"success": true, "interactions": [{"description": "d", "success": false}]}]}',
            r"1\.json: \$\.results\[0\]\.success: says true but the interactions say false",
        ),
        (
            "verifications/p/1.json",
            '{"results": [{"consumer": "c", "interactions": []}]}',
            r"1\.json: \$\.results\[0\]\.consumerVersion: must be a non-empty string",
        ),
        (
            "pacts/c/p/1.json",
            json.dumps({"consumer": {"name": "x"}, "provider": {"name": "p"}, "interactions": []}),
            r"1\.json: \$\.consumer\.name: is 'x' but the file is stored under pacts/c/p/",
        ),
    ],
)
def test_bad_files_name_the_file_and_json_path(
    tmp_path: Path, rel: str, text: str, message: str
) -> None:
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_text(text)
    store = ContractStore(tmp_path)
    with pytest.raises(ContractError, match=message):
        store.deployed("prod")
        store.versions("a")
        store.verifications()
        store.pacts()


# -- reading as of a git ref -------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def test_read_as_of_a_git_ref(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    store = ContractStore(tmp_path / "contracts")
    store.publish_pact(VIEW_1, "1.0.0", branch="main")
    store.record_deployment("orders-view", "1.0.0", "prod")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "one")
    store.publish_pact(VIEW_2, "1.2.0")  # in the working tree only
    store.record_deployment("orders-view", "1.2.0", "prod")

    old = ContractStore(tmp_path / "contracts", ref="HEAD")
    assert [p.version for p in old.pacts()] == ["1.0.0"]
    assert old.deployed("prod") == {"orders-view": "1.0.0"}
    assert [v.version for v in old.versions("orders-view")] == ["1.0.0"]
    published = old.pact("orders-view", "shipping", "1.0.0")
    assert (
        published is not None
        and published.where == "HEAD:contracts/pacts/orders-view/shipping/1.0.0.json"
    )
    assert published.hash == content_hash(VIEW_1)
    with pytest.raises(UsageError, match="read-only"):
        old.record_deployment("shipping", "1", "prod")
    with pytest.raises(UsageError, match="nope"):
        ContractStore(tmp_path / "contracts", ref="nope")
    # a store folder that is gone from the working tree is still read from the ref
    (tmp_path / "sub").mkdir()
    gone = ContractStore(tmp_path / "sub" / ".." / "contracts-elsewhere", ref="HEAD")
    assert gone.pacts() == []


# -- the can-i-deploy rule ---------------------------------------------------------------------


def test_consumer_with_a_verified_pact_can_deploy(tmp_path: Path) -> None:
    decision = can_i_deploy(build(tmp_path), "orders-view", "1.0.0", "prod")
    assert decision.deployable
    assert [(r.provider_version, r.success) for r in decision.rows] == [("2.0.0", True)]
    text = format_decision(decision)
    assert text.startswith("Computer says yes \\o/\n")
    assert "orders-view | 1.0.0     | shipping | 2.0.0     | true     | 1" in text
    assert "All required verification results are published and successful" in text


def test_same_content_shares_the_verification(tmp_path: Path) -> None:
    assert can_i_deploy(build(tmp_path), "orders-view", "1.1.0", "prod").deployable


def test_no_verification_says_no(tmp_path: Path) -> None:
    decision = can_i_deploy(build(tmp_path), "orders-view", "1.2.0", "prod")
    assert not decision.deployable
    assert decision.reasons == (
        "There is no verified pact between version 1.2.0 of orders-view and version 2.0.0 of "
        "shipping (shipping 2.0.0 is currently in prod)",
    )
    assert format_decision(decision).startswith("Computer says no ¯\\_(ツ)_/¯")


def test_failed_verification_says_no(tmp_path: Path) -> None:
    decision = can_i_deploy(build(tmp_path), "orders-view", "1.3.0", "prod")
    assert not decision.deployable
    assert decision.reasons[0].startswith(
        "The verification of the pact between version 1.3.0 of orders-view and version 2.0.0 "
        "of shipping failed (shipping 2.0.0 is currently in prod): 'shipping event'"
    )
    assert "(failure: 'shipping event': $.eta: expected a string, got 7)" in format_decision(
        decision
    )


def test_unknown_version_says_no(tmp_path: Path) -> None:
    decision = can_i_deploy(build(tmp_path), "orders-view", "9.9.9", "prod")
    assert not decision.deployable
    assert decision.reasons == (
        "No pacts or verifications have been published for version 9.9.9 of orders-view",
    )


def test_provider_side(tmp_path: Path) -> None:
    store = build(tmp_path)
    # shipping 2.0.0 verified orders-view 1.0.0, which runs in prod
    assert can_i_deploy(store, "shipping", "2.0.0", "prod").deployable
    store.record_verification("2.1.0", VIEW_1, "1.0.0", BAD)
    decision = can_i_deploy(store, "shipping", "2.1.0", "prod")
    assert not decision.deployable and "failed" in decision.reasons[0]
    store.record_deployment("shipping", "3.0.0", "test")  # deployed: not a known version
    store.record_deployment("orders-view", "1.0.0", "test")
    decision = can_i_deploy(store, "shipping", "3.0.0", "test")
    assert decision.reasons == (
        "No pacts or verifications have been published for version 3.0.0 of shipping",
    )
    store.record_verification("3.0.0", VIEW_2, "1.2.0", OK)  # known, not orders-view 1.0.0's
    decision = can_i_deploy(store, "shipping", "3.0.0", "test")
    assert not decision.deployable
    assert "There is no verified pact between version 1.0.0 of orders-view" in decision.reasons[0]


def test_empty_environment_says_yes_and_unknown_environment_is_bad_input(tmp_path: Path) -> None:
    store = build(tmp_path)
    (tmp_path / "deployments/staging.json").write_text('{"environment": "staging", "deployed": {}}')
    decision = can_i_deploy(store, "orders-view", "1.2.0", "staging")
    assert decision.deployable and decision.rows == ()
    assert decision.notes == (
        "shipping is not deployed to staging: its pact with orders-view 1.2.0 "
        "is not required there",
    )
    with pytest.raises(
        ContractError, match=r"unknown environment 'prdo' \(environments: prod, staging\)"
    ):
        can_i_deploy(store, "orders-view", "1.0.0", "prdo")


def test_matrix_lists_every_pact_and_verdict(tmp_path: Path) -> None:
    lines = format_matrix(matrix(build(tmp_path)))
    assert lines[:6] == [
        "CONSUMER    | C.VERSION | PROVIDER | P.VERSION | SUCCESS? | RESULT#",
        "------------|-----------|----------|-----------|----------|--------",
        "orders-view | 1.0.0     | shipping | 2.0.0     | true     | 1",
        "orders-view | 1.1.0     | shipping | 2.0.0     | true     | 2",
        "orders-view | 1.2.0     | shipping |           |          |",
        "orders-view | 1.3.0     | shipping | 2.0.0     | false    | 3",
    ]
    assert lines[6:9] == ["", "VERIFICATION RESULTS", "--------------------"]
