import types

import eventharness


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name in dir(eventharness)
        if name[0] not in "_@" and not isinstance(getattr(eventharness, name), types.ModuleType)
    }
    assert public == set(eventharness.__all__) - {"__version__"}
    for name in eventharness.__all__:
        assert getattr(eventharness, name) is not None


def test_assertion_failures_are_assertion_errors() -> None:
    assert issubclass(eventharness.ScenarioFailed, AssertionError)
    assert issubclass(eventharness.MissingDependency, ImportError)
