import types

import pytest

import eventharness


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name in dir(eventharness)
        if name[0] not in "_@" and not isinstance(getattr(eventharness, name), types.ModuleType)
    }
    # eh.data is a namespace (a module) of its own: eh.data.from_schema(...)
    assert public == set(eventharness.__all__) - {"__version__", "data"}
    assert eventharness.data.__name__ == "eventharness.data"
    for name in eventharness.__all__:
        assert getattr(eventharness, name) is not None


def test_assertion_failures_are_assertion_errors() -> None:
    assert issubclass(eventharness.ScenarioFailed, AssertionError)
    assert issubclass(eventharness.MissingDependency, ImportError)


def test_a_name_always_comes_from_the_module_the_package_imports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pytester (and other tools) remove the modules a run imported; the package must then give
    the class of the module imported anew, never a stale twin (isinstance would fail)."""
    import importlib
    import sys

    import eventharness.engine

    first = eventharness.Duplicate
    monkeypatch.setattr(eventharness.engine, "faults", sys.modules["eventharness.engine.faults"])
    monkeypatch.delitem(sys.modules, "eventharness.engine.faults")
    fresh = importlib.import_module("eventharness.engine.faults")
    assert eventharness.Duplicate is fresh.Duplicate
    assert eventharness.Duplicate is not first
