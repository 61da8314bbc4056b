from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventharness.model.errors import ConfigError
from eventharness.schemas import AvroValidator, JsonSchemaValidator, LocalSchemaStore, load_file
from eventharness.schemas.store import layout, split_ref

V1 = {"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]}
V2 = {
    "type": "record",
    "name": "Order",
    "fields": [{"name": "id", "type": "string"}, {"name": "n", "type": "int", "default": 0}],
}


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    (root / "orders-value").mkdir(parents=True)
    (root / "orders-value" / "1.avsc").write_text(json.dumps(V1))
    (root / "orders-value" / "2.avsc").write_text(json.dumps(V2))
    (root / "shop.Refunded.json").write_text(json.dumps({"type": "object", "required": ["id"]}))
    (root / "README.md").write_text("not a schema")
    return root


def test_layout_maps_files_to_subjects_and_versions() -> None:
    assert layout(["a.avsc", "b/1.json", "b/10.json", "b/notes.json", "c/d/1.avsc", "x.txt"]) == {
        "a": {1: "a.avsc"},
        "b": {1: "b/1.json", 10: "b/10.json"},
    }


def test_split_ref() -> None:
    assert split_ref("orders-value") == ("orders-value", None)
    assert split_ref("orders-value@latest") == ("orders-value", None)
    assert split_ref("orders-value@2") == ("orders-value", 2)
    with pytest.raises(ConfigError, match="must be a number"):
        split_ref("orders-value@two")


def test_latest_and_explicit_versions(store_dir: Path) -> None:
    store = LocalSchemaStore(store_dir)
    assert sorted(store.subjects()) == ["orders-value", "shop.Refunded"]
    assert store.get("orders-value").version == 2
    assert store.get("orders-value").schema == V2
    assert store.get("orders-value@1").schema == V1
    assert store.get("shop.Refunded").kind == "json"
    assert isinstance(store.validator("orders-value"), AvroValidator)
    assert isinstance(store.validator("shop.Refunded"), JsonSchemaValidator)
    # the latest (v2) has a default for n; v1 does not know n at all
    assert store.validator("orders-value").validate({"id": "o-1"}) == []
    assert store.validator("shop.Refunded").validate({})[0].rule == "required"


def test_unknown_subject_names_the_folder_what_was_looked_for_and_what_exists(
    store_dir: Path,
) -> None:
    with pytest.raises(ConfigError) as info:
        LocalSchemaStore(store_dir).validator("shop.Orderd")
    text = str(info.value)
    assert "'shop.Orderd'" in text
    assert str(store_dir) in text
    assert "shop.Orderd.avsc" in text
    assert "orders-value, shop.Refunded" in text


def test_unknown_version_lists_the_versions(store_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"has no version 7 \(versions: 1, 2\)"):
        LocalSchemaStore(store_dir).get("orders-value@7")


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        LocalSchemaStore(tmp_path / "nope").subjects()


def test_bad_files_name_the_file(store_dir: Path) -> None:
    (store_dir / "broken.json").write_text("{not json")
    (store_dir / "wrong.avsc").write_text(
        json.dumps({"type": "record", "name": "W", "fields": [{"name": "a", "type": "Nope"}]})
    )
    store = LocalSchemaStore(store_dir)
    with pytest.raises(ConfigError, match=r"broken\.json: not valid JSON"):
        store.validator("broken")
    with pytest.raises(ConfigError, match=r"wrong\.avsc: .*Avro"):
        store.validator("wrong")


def test_load_file(store_dir: Path) -> None:
    assert isinstance(load_file(store_dir / "orders-value" / "1.avsc"), AvroValidator)
    with pytest.raises(ConfigError, match=r"end in \.avsc"):
        load_file(store_dir / "README.md")
