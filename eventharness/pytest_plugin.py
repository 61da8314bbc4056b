"""pytest plugin: the ``harness`` fixture, the ``eventharness`` marker and readable failures.

Brokers come from, in order: the test's marker ``@pytest.mark.eventharness(brokers={...})``,
``--eh-broker name=URL`` options, the ``eventharness_brokers`` ini lines (``name=URL``). With
none given, the names ``kafka``, ``rabbit`` and ``memory`` all point at a fresh in-memory
broker per test, so scenarios written for real brokers run unchanged in memory.

This module imports nothing heavy at load time: the library is imported when a fixture runs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Generator
from typing import Any

import pytest

try:
    import pytest_asyncio

    _async_fixture: Any = pytest_asyncio.fixture
except ImportError:  # pragma: no cover - pytest-asyncio is how async tests run
    _async_fixture = pytest.fixture

DEFAULT_NAMES = ("kafka", "rabbit", "memory")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eventharness")
    group.addoption(
        "--eh-broker",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="broker for the harness fixture, e.g. kafka=kafka://127.0.0.1:9092 (repeatable)",
    )
    group.addoption(
        "--eh-within",
        type=float,
        default=None,
        metavar="SECONDS",
        help="default expectation window in seconds (default 10)",
    )
    parser.addini("eventharness_brokers", "NAME=URL lines: brokers of the harness fixture",
                  type="linelist", default=[])
    parser.addini("eventharness_within", "default expectation window in seconds", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "eventharness(brokers=None, within=None, correlation=None, schemas=None): "
        "settings for the harness fixture of this test",
    )


def _parse_pairs(lines: list[str], source: str) -> dict[str, str]:
    brokers: dict[str, str] = {}
    for line in lines:
        name, sep, url = line.partition("=")
        if not sep or not name.strip() or not url.strip():
            raise pytest.UsageError(
                f"{source}: {line!r} is not NAME=URL (e.g. kafka=kafka://127.0.0.1:9092)"
            )
        brokers[name.strip()] = url.strip()
    return brokers


def configured_brokers(config: pytest.Config) -> dict[str, str]:
    brokers = _parse_pairs(config.getini("eventharness_brokers"), "ini eventharness_brokers")
    brokers.update(_parse_pairs(config.getoption("--eh-broker"), "--eh-broker"))
    return brokers


def pytest_report_header(config: pytest.Config) -> str | None:
    try:
        brokers = configured_brokers(config)
    except pytest.UsageError:
        return None
    if not brokers:
        return "eventharness: brokers kafka, rabbit, memory → in-memory (per test)"
    from eventharness.channels import parse_broker_url

    shown = ", ".join(f"{k}={parse_broker_url(v)}" for k, v in brokers.items())
    return f"eventharness: brokers {shown}"


@_async_fixture  # type: ignore[untyped-decorator]
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A connected :class:`eventharness.Harness`; closed (and everything released) after."""
    from eventharness.harness import Harness

    marker = request.node.get_closest_marker("eventharness")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    brokers = options.pop("brokers", None) or configured_brokers(request.config)
    if not brokers:
        url = f"memory://pytest-{uuid.uuid4().hex[:12]}"
        brokers = dict.fromkeys(DEFAULT_NAMES, url)
    within = request.config.getoption("--eh-within") or request.config.getini(
        "eventharness_within"
    )
    if within and "within" not in options:
        options["within"] = float(within)
    async with Harness(brokers, **options) as h:
        yield h


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.excinfo is not None and report.failed:
        from eventharness.errors import ScenarioFailed

        if call.excinfo.errisinstance(ScenarioFailed):
            in_test = [e for e in call.excinfo.traceback if str(e.path) == str(item.path)]
            entry = in_test[-1] if in_test else None
            where = f"\n\n{entry.path}:{entry.lineno + 1}" if entry is not None else ""
            report.longrepr = f"{call.excinfo.value}{where}"
    return report
