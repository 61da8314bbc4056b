"""The scenario file's shape is a JSON Schema shipped in the package: valid as a schema, and
every example scenario of the repository conforms to it, read as an editor reads it."""

from __future__ import annotations

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from eventharness.files.schema import scenario_schema

REPO = Path(__file__).resolve().parents[2]


def test_the_schema_is_a_valid_json_schema() -> None:
    schema = scenario_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["name", "steps"]
    schema["title"] = "changed"
    assert scenario_schema()["title"] != "changed"  # each call gets its own copy


def test_repository_scenarios_conform() -> None:
    validator = Draft202012Validator(scenario_schema())
    paths = sorted((REPO / "scenarios").rglob("*.yaml"))
    assert len(paths) >= 10
    for path in paths:
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], (path, errors)
