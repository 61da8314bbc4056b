"""contracts check: (a) a provider's schema change that breaks a consumer's pact, (b) a pact
that asks for more than the provider verified — each with a break and a non-break, through the
API and the command."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from eventharness.cli.contracts_store import register
from eventharness.cli.schemas import tree_versions
from eventharness.contracts import loads_pact, write_pact
from eventharness.contracts.check import (
    declared,
    last_verified,
    pending_changes,
    schema_breaks,
    subject_for,
)
from eventharness.contracts.model import Pact
from eventharness.contracts.store import ContractStore, InteractionResult
from eventharness.schemas.store import LocalSchemaStore

SUBJECT = "shop.ShipmentScheduled"


def json_schema(**props: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": kind} for name, kind in props.items()},
        "required": sorted(props),
    }


V1 = json_schema(order_id="string", shipment_id="string", amount="number")
V2_OK = {**json_schema(order_id="string", shipment_id="string", amount="number", eta="string")}
V2_OK["required"] = ["amount", "order_id", "shipment_id"]  # an optional field added
V2_REMOVED = json_schema(order_id="string", amount="number")  # shipment_id gone
V2_RETYPED = json_schema(order_id="integer", shipment_id="string", amount="number")
V2_OPTIONAL = {**V1, "required": ["amount", "order_id"]}  # shipment_id no longer required

AVRO_V1 = {
    "type": "record",
    "name": "ShipmentScheduled",
    "fields": [
        {"name": "order_id", "type": "string"},
        {
            "name": "lines",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Line",
                    "fields": [{"name": "sku", "type": "string"}],
                },
            },
        },
    ],
}
AVRO_V2 = {  # the line's sku is gone
    **AVRO_V1,
    "fields": [
        {"name": "order_id", "type": "string"},
        {
            "name": "lines",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Line",
                    "fields": [{"name": "qty", "type": "int", "default": 1}],
                },
            },
        },
    ],
}


def interaction(description: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "Asynchronous/Messages",
        "description": description,
        "contents": {"content": body, "contentType": "application/json", "encoded": False},
        "metadata": {"schema": SUBJECT, "channel": "rabbit:shipping/shipment.scheduled"},
        **extra,
    }


SCHEDULED = interaction(
    "a shipment is scheduled",
    {"order_id": "o-1", "shipment_id": "s-1", "amount": 10.5},
    matchingRules={
        "body": {
            "$.order_id": {"matchers": [{"match": "type"}]},
            "$.shipment_id": {"matchers": [{"match": "type"}]},
            "$.amount": {"matchers": [{"match": "number"}]},
        }
    },
    generators={"body": {"$.shipment_id": {"type": "Uuid"}}},
)


def make_pact(*interactions: dict[str, Any], consumer: str = "orders-view") -> Pact:
    raw = {
        "consumer": {"name": consumer},
        "provider": {"name": "shipping"},
        "interactions": list(interactions),
        "metadata": {"pactSpecification": {"version": "4.0"}},
    }
    return loads_pact(json.dumps(raw))


def schema_folder(root: Path, *versions: Any, subject: str = SUBJECT, ext: str = "json") -> Path:
    folder = root / "schemas" / subject
    folder.mkdir(parents=True, exist_ok=True)
    for n, schema in enumerate(versions, start=1):
        (folder / f"{n}.{ext}").write_text(json.dumps(schema))
    return root / "schemas"


def breaks(root: Path, pact: Pact, *versions: Any, ext: str = "json") -> list[str]:
    store = LocalSchemaStore(schema_folder(root, *versions, ext=ext))
    found, notes = schema_breaks(pact, "1.0.0", store, tree_versions(store))
    assert notes == []
    return [str(f) for f in found]


# -- (a) schema changes ------------------------------------------------------------------------


def test_compatible_schema_change_is_no_break(tmp_path: Path) -> None:
    assert breaks(tmp_path, make_pact(SCHEDULED), V1, V2_OK) == []


def test_removed_field_the_pact_relies_on_is_named(tmp_path: Path) -> None:
    found = breaks(tmp_path, make_pact(SCHEDULED), V1, V2_REMOVED)
    assert found == [
        "BREAK orders-view 1.0.0 -> shipping: 'a shipment is scheduled' $.shipment_id: "
        f"{SUBJECT} version 2 no longer declares it (version 1 did); the pact relies on it"
    ]


def test_retyped_field_is_named_with_what_the_compat_check_says(tmp_path: Path) -> None:
    [found] = breaks(tmp_path, make_pact(SCHEDULED), V1, V2_RETYPED)
    assert found.startswith(
        "BREAK orders-view 1.0.0 -> shipping: 'a shipment is scheduled' $.order_id: "
        f"{SUBJECT} version 2 rejects the pact's example: 'o-1' is not of type 'integer' (type)"
    )
    assert found.endswith(
        "[schemas check: the writer may send integer; the reader accepts string (type:changed)]"
    )


def test_required_field_made_optional_is_a_break(tmp_path: Path) -> None:
    [found] = breaks(tmp_path, make_pact(SCHEDULED), V1, V2_OPTIONAL)
    assert "$.shipment_id: shop.ShipmentScheduled version 2 makes it optional" in found


def test_avro_field_removed_inside_an_array(tmp_path: Path) -> None:
    pact = make_pact(interaction("lines", {"order_id": "o-1", "lines": [{"sku": "a"}]}))
    [found] = breaks(tmp_path, pact, AVRO_V1, AVRO_V2, ext="avsc")
    assert "'lines' $.lines[].sku: shop.ShipmentScheduled version 2 no longer declares it" in found
    assert "[schemas check: the reader's field 'sku' is not in the writer's record" in found
    assert breaks(tmp_path / "ok", pact, AVRO_V1, ext="avsc") == []


def test_generated_values_are_checked(tmp_path: Path) -> None:
    # the Uuid generator replaces shipment_id; a schema asking for a uuid format accepts it
    schema = json_schema(order_id="string", shipment_id="string", amount="number")
    schema["properties"]["shipment_id"]["format"] = "uuid"
    assert breaks(tmp_path, make_pact(SCHEDULED), schema) == []


def test_messages_without_a_schema_are_noted(tmp_path: Path) -> None:
    pact = make_pact(
        {**SCHEDULED, "metadata": {"schema": "nope"}},
        {**interaction("x", {"a": 1}), "metadata": {"topic": "elsewhere"}},
    )
    store = LocalSchemaStore(schema_folder(tmp_path, V1))
    found, notes = schema_breaks(pact, "1.0.0", store)
    assert found == []
    assert notes == [
        "orders-view 1.0.0 -> shipping: 'a shipment is scheduled': names schema 'nope', which "
        f"{tmp_path / 'schemas'}/ does not have; not checked",
        "orders-view 1.0.0 -> shipping: 'x': no schema (metadata 'schema', or a subject named "
        "after its topic); not checked",
    ]


def test_subject_from_topic_or_channel() -> None:
    pact = make_pact({**SCHEDULED, "metadata": {"topic": "orders"}})
    assert subject_for(pact.interactions[0].message, {"orders-value"}) == ("orders-value", None)
    pact = make_pact({**SCHEDULED, "metadata": {"channel": "kafka:orders"}})
    assert subject_for(pact.interactions[0].message, {"orders"}) == ("orders", None)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (["order_id"], "ok"),
        (["eta"], "optional"),
        (["nope"], "missing"),
        (["order_id", "x"], "open"),
    ],
)
def test_declared(path: list[Any], expected: str) -> None:
    assert declared(V2_OK, "json", path) == expected


# -- (b) pending --------------------------------------------------------------------------------

VERIFIED = make_pact(SCHEDULED)


def verified_store(root: Path) -> ContractStore:
    store = ContractStore(root / "contracts")
    store.publish_pact(VERIFIED, "1.0.0", branch="main")
    ok = [InteractionResult("a shipment is scheduled", True)]
    store.record_verification("2.0.0", VERIFIED, "1.0.0", ok)
    return store


def test_same_demands_are_not_pending(tmp_path: Path) -> None:
    verified = last_verified(verified_store(tmp_path), "orders-view", "shipping")
    assert verified is not None and verified.version == "1.0.0"
    loosened = make_pact(
        interaction(
            "a shipment is scheduled",
            {"order_id": "o-2", "shipment_id": "s-9", "amount": 1},
            matchingRules={"body": {"$": {"matchers": [{"match": "type"}]}}},
        )
    )
    assert pending_changes(VERIFIED, "1.1.0", verified) == []
    assert pending_changes(loosened, "1.1.0", verified) == []


def test_asking_for_more_is_pending(tmp_path: Path) -> None:
    verified = last_verified(verified_store(tmp_path), "orders-view", "shipping")
    body = {"order_id": "o-1", "shipment_id": "s-1", "amount": 10.5, "eta": "tomorrow"}
    rules = {
        "body": {
            "$.order_id": {"matchers": [{"match": "regex", "regex": "o-\\d+"}]},
            "$.shipment_id": {"matchers": [{"match": "type"}]},
        }
    }
    new = make_pact(
        interaction("a shipment is scheduled", body, matchingRules=rules),
        interaction("a shipment is cancelled", {"order_id": "o-1"}),
    )
    found = [str(f) for f in pending_changes(new, "1.1.0", verified)]
    assert found == [
        "PENDING orders-view 1.1.0 -> shipping: 'a shipment is cancelled': a new interaction: "
        "shipping has not verified it (last verified pact: orders-view 1.0.0)",
        "PENDING orders-view 1.1.0 -> shipping: 'a shipment is scheduled' $.amount: now expects "
        "exactly 10.5 (verified: number); last verified: orders-view 1.0.0",
        "PENDING orders-view 1.1.0 -> shipping: 'a shipment is scheduled' $.eta: newly required: "
        "the last verified pact does not ask for it; last verified: orders-view 1.0.0",
        "PENDING orders-view 1.1.0 -> shipping: 'a shipment is scheduled' $.order_id: rule now "
        "regex (regex 'o-\\\\d+') (verified: type); last verified: orders-view 1.0.0",
    ]


def test_never_verified_is_pending(tmp_path: Path) -> None:
    store = ContractStore(tmp_path)
    store.publish_pact(VERIFIED, "1.0.0")
    assert last_verified(store, "orders-view", "shipping") is None
    [found] = pending_changes(VERIFIED, "1.0.0", None)
    assert found.reason == "shipping has not verified any pact of orders-view yet"


# -- the command --------------------------------------------------------------------------------


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def run(cwd: Path, *args: str) -> Any:
    return CliRunner().invoke(cli(), ["check", *args], catch_exceptions=False)


def test_check_command_break_and_no_break(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    verified_store(tmp_path)
    schema_folder(tmp_path, V1, V2_OK)
    result = run(tmp_path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "1 pact(s) checked against schemas in schemas/",
        "0 break(s), 0 pending",
    ]
    (tmp_path / "schemas" / SUBJECT / "3.json").write_text(json.dumps(V2_REMOVED))
    result = run(tmp_path)
    assert result.exit_code == 1
    assert "BREAK orders-view 1.0.0 -> shipping: 'a shipment is scheduled' $.shipment_id: " in (
        result.output
    )
    assert result.output.splitlines()[-1] == "1 break(s), 0 pending"


def test_check_command_pending_pact_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    verified_store(tmp_path)
    new = make_pact(SCHEDULED, interaction("a shipment is cancelled", {"order_id": "o-1"}))
    write_pact(new, tmp_path / "new.json")
    write_pact(VERIFIED, tmp_path / "same.json")
    assert run(tmp_path, "same.json").exit_code == 0
    result = run(tmp_path, "new.json")
    assert result.exit_code == 1
    assert "PENDING orders-view new.json -> shipping: 'a shipment is cancelled'" in result.output
    assert run(tmp_path, "new.json", "--allow-pending").exit_code == 0


def test_check_against_a_git_ref(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a provider's pull request: the schema folder's old version comes from main."""
    monkeypatch.chdir(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True, cwd=tmp_path)
    verified_store(tmp_path)
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / f"{SUBJECT}.json").write_text(json.dumps(V1))
    subprocess.run([*git, "add", "."], check=True, cwd=tmp_path)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True, cwd=tmp_path)
    (tmp_path / "schemas" / f"{SUBJECT}.json").write_text(json.dumps(V2_REMOVED))
    result = run(tmp_path, "--against", "main")
    assert result.exit_code == 1, result.output
    assert (
        "$.shipment_id: shop.ShipmentScheduled version 1 no longer declares it "
        "(main:shop.ShipmentScheduled.json did); the pact relies on it"
    ) in result.output
    assert run(tmp_path, "--against", "no-such-ref").exit_code == 2


def test_check_bad_input_is_exit_2_naming_file_and_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text(
        '{"consumer": {"name": "c"}, "provider": {}, "messages": []}'
    )
    result = CliRunner().invoke(cli(), ["check", "bad.json"])
    assert result.exit_code == 2
    assert "bad.json: $.provider.name: the provider needs a name" in result.output
    result = CliRunner().invoke(cli(), ["check", "--schemas", "nowhere"])
    assert result.exit_code == 2 and "schema folder 'nowhere' does not exist" in result.output
