import eventharness


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in dir(eventharness) if name[0] not in "_@"}
    modules = {"channels", "correlation", "errors", "events", "expectations", "harness",
               "matchers", "probes", "result", "scenario", "transports", "collector", "schemas",
               "embedded", "pytest_plugin"}
    assert public - modules == set(eventharness.__all__) - {"__version__"}
    for name in eventharness.__all__:
        assert getattr(eventharness, name) is not None


def test_assertion_failures_are_assertion_errors() -> None:
    assert issubclass(eventharness.ScenarioFailed, AssertionError)
    assert issubclass(eventharness.MissingDependency, ImportError)
