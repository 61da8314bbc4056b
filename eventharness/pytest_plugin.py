"""pytest plugin: the ``harness`` fixture, the ``eventharness`` marker and readable failures.

Brokers come from, in order: the test's marker ``@pytest.mark.eventharness(brokers={...})``,
``--eh-broker name=URL`` options, the ``eventharness_brokers`` ini lines (``name=URL``), and the
profile named by ``--eh-profile NAME`` / ini ``eventharness_profile`` in eventharness.toml or
``[tool.eventharness]`` (its brokers, schemas, bound channels, correlation rules and window; an
``embedded`` broker is started once per session and stopped by its pid at the end; under
pytest-xdist, ``pytest -n auto``, one for all the workers: the last one out stops it). With none
given, the names ``kafka``, ``rabbit`` and ``memory`` all point at a fresh in-memory broker per
test, so scenarios written for real brokers run unchanged in memory.

Broker URLs are held as :class:`~eventharness.model.channels.BrokerURL` objects, whose ``repr``
and ``str`` show ``***`` for the password, so ``pytest -l`` (the locals of each frame) never
shows one; a broker error (refused, unreachable) is reported as its one-line cause, without the
client library's frames and their locals.

This module imports nothing heavy at load time: the library is imported when a fixture runs.
"""

from __future__ import annotations

import inspect
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
_PROFILE = pytest.StashKey[Any]()
_EMBEDDED = pytest.StashKey[Any]()


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
    group.addoption(
        "--eh-profile",
        default=None,
        metavar="NAME",
        help="use this profile of eventharness.toml / [tool.eventharness] for the harness fixture",
    )
    parser.addini(
        "eventharness_brokers",
        "NAME=URL lines: brokers of the harness fixture",
        type="linelist",
        default=[],
    )
    parser.addini(
        "eventharness_profile", "profile of eventharness.toml for the harness fixture", default=""
    )
    parser.addini("eventharness_within", "default expectation window in seconds", default="")
    group.addoption(
        "--eh-embedded",
        choices=("shared", "per-worker"),
        default=None,
        help="under pytest-xdist: one embedded Kafka for all workers (shared, the default) "
        "or one per worker",
    )
    parser.addini(
        "eventharness_embedded",
        "under pytest-xdist: shared (one embedded Kafka for all workers) or per-worker",
        default="shared",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "eventharness(brokers=None, within=None, correlation=None, schemas=None): "
        "settings for the harness fixture of this test",
    )


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Generator[None, Any, Any]:
    """``async def`` tests that use the ``harness`` fixture run on asyncio with no
    configuration: no ``asyncio_mode = auto``, no marker (pytest-asyncio's strict mode would
    otherwise skip them as "not natively supported"). Runs inside pytest-asyncio's own
    collection hook, which then sees the marker."""
    collected = yield
    if not inspect.iscoroutinefunction(obj):
        return collected
    for item in collected if isinstance(collected, list) else [collected]:
        if (
            isinstance(item, pytest.Function)
            and "harness" in item.fixturenames
            and item.get_closest_marker("asyncio") is None
        ):
            item.add_marker(pytest.mark.asyncio)
    return collected


def _parse_pairs(lines: list[str], source: str) -> dict[str, Any]:
    """``NAME=URL`` lines → name → BrokerURL (a redacting repr: no password in ``pytest -l``)."""
    from eventharness.model.channels import parse_broker_url, redact
    from eventharness.model.errors import ChannelError

    brokers: dict[str, Any] = {}
    for line in lines:
        name, sep, url = line.partition("=")
        if not sep or not name.strip() or not url.strip():
            raise pytest.UsageError(
                f"{source}: {redact(line)!r} is not NAME=URL (e.g. kafka=kafka://127.0.0.1:9092)"
            )
        try:
            brokers[name.strip()] = parse_broker_url(url.strip())
        except ChannelError as exc:
            raise pytest.UsageError(f"{source}: {exc}") from None
    return brokers


def configured_brokers(config: pytest.Config) -> dict[str, Any]:
    """name → :class:`~eventharness.model.channels.BrokerURL` from the ini lines and
    ``--eh-broker`` options."""
    brokers = _parse_pairs(config.getini("eventharness_brokers"), "ini eventharness_brokers")
    brokers.update(_parse_pairs(config.getoption("--eh-broker"), "--eh-broker"))
    return brokers


def _profile(config: pytest.Config) -> Any:
    """The chosen configuration profile, or None; read once per session."""
    name = config.getoption("--eh-profile") or config.getini("eventharness_profile")
    if not name:
        return None
    cached = config.stash.get(_PROFILE, None)
    if cached is None:
        from eventharness.env.config import load_config
        from eventharness.model.errors import ConfigError

        try:
            loaded = load_config(start=config.rootpath)
            cached = (loaded, loaded.profile(name))
        except ConfigError as exc:
            raise pytest.UsageError(f"--eh-profile {name}: {exc}") from exc
        config.stash[_PROFILE] = cached
    return cached


def _embedded_url(config: pytest.Config) -> str:
    """One embedded Kafka for the whole session, started on first use. Under pytest-xdist the
    workers share one (the first starts it, the last one out stops it:
    :mod:`eventharness.env.shared_kafka`), unless ``--eh-embedded per-worker``."""
    broker = config.stash.get(_EMBEDDED, None)
    if broker is None:
        worker = getattr(config, "workerinput", None)  # set by pytest-xdist on its workers
        mode = config.getoption("--eh-embedded") or config.getini("eventharness_embedded")
        if mode not in ("shared", "per-worker"):
            raise pytest.UsageError(f"eventharness_embedded = {mode!r}: write shared or per-worker")
        if worker is not None and mode == "shared":
            import tempfile
            from pathlib import Path

            from eventharness.env.shared_kafka import SharedKafka

            folder = Path(tempfile.gettempdir()) / f"eventharness-run-{worker['testrunuid']}"
            broker = SharedKafka(folder, user=str(worker["workerid"]))
            url = broker.acquire()
        else:
            from eventharness.env.embedded import EmbeddedKafka

            broker = EmbeddedKafka()
            url = broker.start()
        config.stash[_EMBEDDED] = (broker, url)
        return url
    return str(broker[1])


def pytest_unconfigure(config: pytest.Config) -> None:
    found = config.stash.get(_EMBEDDED, None)
    if found is not None:
        broker = found[0]
        if hasattr(broker, "release"):
            broker.release()  # the last worker out stops the shared broker
        else:
            broker.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    try:
        brokers = configured_brokers(config)
    except pytest.UsageError:
        return None
    chosen = _profile(config)
    if not brokers and chosen is not None:
        loaded, profile = chosen
        from eventharness.model.channels import redact

        shown = ", ".join(f"{k}={redact(v)}" for k, v in profile.brokers.items())
        return f"eventharness: profile {profile.name} ({loaded.source}): {shown}"
    if not brokers:
        return "eventharness: brokers kafka, rabbit, memory → in-memory (per test)"
    shown = ", ".join(f"{k}={v}" for k, v in brokers.items())
    return f"eventharness: brokers {shown}"


@_async_fixture  # type: ignore[untyped-decorator]
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A connected :class:`eventharness.Harness`; closed (and everything released) after."""
    from eventharness.engine.harness import Harness
    from eventharness.model.channels import parse_broker_url

    marker = request.node.get_closest_marker("eventharness")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    within = request.config.getoption("--eh-within") or request.config.getini("eventharness_within")
    if within and "within" not in options:  # the command line beats the profile
        options["within"] = float(within)
    brokers = options.pop("brokers", None) or configured_brokers(request.config)
    chosen = None if brokers else _profile(request.config)
    if chosen is not None:
        _, profile = chosen
        resolved = {
            name: parse_broker_url(_embedded_url(request.config) if url == "embedded" else url)
            for name, url in profile.brokers.items()
        }
        if profile.asyncapi is not None:
            # lazy: only a profile with `asyncapi = ...` reads a document
            from eventharness.asyncapi.binding import bind_profile
            from eventharness.asyncapi.reader import load_document

            bound = bind_profile(profile, load_document(profile.asyncapi))
            profile = bound.profile
            options.setdefault("aliases", bound.aliases)
            options.setdefault("schemas", bound.store(profile.schemas))
        harness = Harness.from_profile(profile, brokers=resolved, **options)
    else:
        if not brokers:
            url = f"memory://pytest-{uuid.uuid4().hex[:12]}"
            brokers = dict.fromkeys(DEFAULT_NAMES, url)
        harness = Harness(brokers, **options)
    async with harness as h:
        yield h


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.excinfo is not None and report.failed:
        from eventharness.model.errors import BrokerError, ScenarioFailed

        if call.excinfo.errisinstance(BrokerError):  # the cause; not the client's frames
            report.longrepr = str(call.excinfo.value)
        elif call.excinfo.errisinstance(ScenarioFailed):
            in_test = [e for e in call.excinfo.traceback if str(e.path) == str(item.path)]
            entry = in_test[-1] if in_test else None
            where = f"\n\n{entry.path}:{entry.lineno + 1}" if entry is not None else ""
            report.longrepr = f"{call.excinfo.value}{where}"
    return report
