"""pact-python, the reference implementation the contract tests agree with (its Rust core
bundled; part of ``[dev]``): under CI its absence fails the importing test module, elsewhere it
skips it. ``no_usage_tracking`` keeps its core from reporting usage over the network (this
machine has none): use it with ``pytestmark = pytest.mark.usefixtures("no_usage_tracking")``."""

from __future__ import annotations

import pytest

from tests.conftest import IN_CI

try:
    import pact as pact_python
    import pact.match as match
    from pact import Verifier
except ImportError as exc:  # the oracle is part of [dev]: under CI its absence is a failure
    message = f"pact-python is not installed ({exc}): pip install -e '.[dev]'"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)

__all__ = ["Verifier", "match", "no_usage_tracking", "pact_python"]


@pytest.fixture
def no_usage_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACT_DO_NOT_TRACK", "true")
