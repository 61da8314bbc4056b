"""The pytest plugin as users meet it: a test file run by pytest, outcomes and output asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"

TEST_FILE = """
import pytest
import eventharness as eh

async def test_passes(harness):
    async with harness.scenario("echo") as s:
        s.expect_none("kafka:payments", during=0.05)
        await s.publish("kafka:orders", {"type": "OrderPlaced"})
    assert set(harness.brokers) == {"kafka", "rabbit", "memory"}

async def test_fails_with_timeline(harness):
    async with harness.scenario("nothing comes") as s:
        s.expect("kafka:payments", type="PaymentAuthorized", within=0.1, name="pay")
        await s.publish("kafka:orders", {"type": "OrderPlaced"}, key="o-1")

@pytest.mark.eventharness(brokers={"only": "memory://marked"}, within=0.05)
async def test_marker_sets_brokers(harness):
    assert list(harness.brokers) == ["only"]
    assert harness.within == 0.05
"""


def test_fixture_marker_and_failure_output(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_flow=TEST_FILE)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "eventharness: brokers kafka, rabbit, memory*",
            "*scenario 'nothing comes' failed in*",
            "*→ kafka:orders*OrderPlaced*key=o-1*",
            "*test_flow.py:*",
        ]
    )
    out = result.stdout.str()
    assert (
        "✗ [timeout] pay: kafka:payments [type=PaymentAuthorized]: expected an event "
        "within 0.1s, nothing matched" in out
    )
    assert "Traceback" not in out


def test_broker_option_and_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI + "eventharness_brokers =\n    kafka=memory://from-ini\n")
    pytester.makepyfile(
        test_opts="""
async def test_brokers(harness):
    assert sorted(harness.brokers) == ["kafka", "rabbit"]
"""
    )
    result = pytester.runpytest("--eh-broker", "rabbit=memory://from-cli")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["eventharness: brokers kafka=memory://from-ini, rabbit=memory://from-cli"]
    )


def test_bad_broker_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_x="async def test_x(harness):\n    pass\n")
    result = pytester.runpytest("--eh-broker", "kafka")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*'kafka' is not NAME=URL*"])


def test_profile_from_pyproject(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI + "eventharness_profile = local\n")
    pytester.makepyprojecttoml("""
[tool.eventharness.profiles.local]
brokers = {kafka = "memory://from-profile"}
within = "3s"
correlation = {rules = {"kafka:payments" = "value.order_id"}}
""")
    pytester.makepyfile(
        test_profile="""
async def test_profile(harness):
    assert list(harness.brokers) == ["kafka"]
    assert str(harness.brokers["kafka"].url) == "memory://from-profile"
    assert harness.within == 3.0
    assert dict(harness.correlation.rules) == {"kafka:payments": "value.order_id"}
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["eventharness: profile local (*pyproject.toml): kafka=memory://from-profile"]
    )


def test_unknown_profile_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyprojecttoml("[tool.eventharness.profiles.local]\nbrokers = {}\n")
    pytester.makepyfile(test_x="async def test_x(harness):\n    pass\n")
    result = pytester.runpytest("--eh-profile", "nope")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*--eh-profile nope:*no profile 'nope'*"])


@pytest.mark.kafka
def test_profile_with_embedded_kafka_starts_it_once(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI + "eventharness_profile = local\n")
    pytester.makepyprojecttoml(
        '[tool.eventharness.profiles.local]\nbrokers = {kafka = "embedded"}\n'
    )
    pytester.makepyfile(
        test_embedded="""
import pytest

@pytest.mark.parametrize("n", [1, 2])
async def test_round_trip(harness, n):
    url = str(harness.brokers["kafka"].url)
    assert url.startswith("kafka://127.0.0.1:")
    async with harness.scenario("own echo") as s:
        s.expect(f"kafka:echo-{n}", type="Ping", within=20)
        await s.publish(f"kafka:echo-{n}", {"type": "Ping"})
    print("URL", url)
"""
    )
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=2)
    urls = {
        word for line in result.stdout.lines for word in line.split() if word.startswith("kafka://")
    }
    assert len(urls) == 1  # one broker for the session
    port = int(urls.pop().rsplit(":", 1)[1])
    import socket

    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass  # stopped with the session


def test_harness_tests_run_without_asyncio_configuration(pytester: pytest.Pytester) -> None:
    """pytest-asyncio in its default strict mode, no asyncio_mode and no marker: a test that
    uses ``harness`` still runs on asyncio (and an async test that does not is left to
    pytest-asyncio's rules)."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_strict="""
import eventharness as eh

async def test_order_flows(harness):
    async with harness.scenario("strict mode") as s:
        s.expect("kafka:orders", type="OrderPlaced", within=2)
        await s.publish("kafka:orders", {"type": "OrderPlaced", "order_id": "o-1"})
    assert s.result is not None and s.result.passed

class TestInAClass:
    async def test_in_a_class(self, harness):
        assert set(harness.brokers) == {"kafka", "rabbit", "memory"}
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "not natively supported" not in result.stdout.str()


@pytest.mark.amqp
def test_locals_shown_by_pytest_l_never_hold_a_password(
    pytester: pytest.Pytester, amqp_url: str
) -> None:
    """``pytest -l`` prints the locals of every frame of a failure: the harness fixture's
    broker URLs (and the Harness, its transports) must show ``***``, not the password."""
    from eventharness.model.channels import parse_broker_url

    real = parse_broker_url(amqp_url)
    host, port = real.hosts[0]
    secret = f"amqp://guest:s3cret@{host}:{port}/"  # refused: the fixture's setup fails
    pytester.makeini(INI)
    pytester.makepyfile(
        test_secret="""
import pytest

async def test_uses_the_harness(harness):
    brokers = harness.brokers
    assert brokers == {}

@pytest.mark.eventharness(correlation=42)  # not a broker error: the fixture's frames are shown
async def test_with_a_bad_option(harness):
    pass
"""
    )
    args = ("-p", "no:cacheprovider", "-l", "--tb=long")
    refused = pytester.runpytest(*args, "--eh-broker", f"rabbit={secret}")
    refused.assert_outcomes(errors=2)
    assert "brokers    = {'rabbit': BrokerURL(" in refused.stdout.str()  # the fixture's locals
    good = secret.replace("s3cret", real.password or "")  # the same URL, accepted: a failure
    failed = pytester.runpytest(*args, "--eh-broker", f"rabbit={good}")
    failed.assert_outcomes(failed=1, errors=1)
    assert "s3cret" not in refused.stdout.str() + refused.stderr.str()
    assert f":{real.password}@" not in failed.stdout.str() + failed.stderr.str()


def test_the_profile_header_shows_no_password(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI + "eventharness_profile = local\n")
    pytester.makepyprojecttoml("""
[tool.eventharness.profiles.local]
brokers = {kafka = "memory://p", rabbit = "amqp://guest:s3cret-pw@127.0.0.1:5672/"}
""")
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "eventharness: profile local (*): kafka=memory://p, rabbit=amqp://guest:***@127.0.0.1:5672/"
        ]
    )
    assert "s3cret" not in result.stdout.str()


XDIST_TESTS = """
import os
from pathlib import Path

import pytest


def tansu_pids(port):
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                words = (entry / "cmdline").read_bytes().split(b"\\0")
            except OSError:
                continue
            if f"tcp://127.0.0.1:{port}".encode() in words:
                found.add(int(entry.name))
    return found


@pytest.mark.parametrize("n", range(6))
async def test_round_trip(harness, n):
    url = str(harness.brokers["kafka"].url)
    port = int(url.rsplit(":", 1)[1])
    async with harness.scenario("own echo") as s:
        s.expect(f"kafka:echo-{n}", type="Ping", within=20)
        await s.publish(f"kafka:echo-{n}", {"type": "Ping"})
    pids = sorted(tansu_pids(port))
    line = " ".join(["SEEN", os.environ.get("PYTEST_XDIST_WORKER", "-"), url, *map(str, pids)])
    with open("seen.txt", "a") as seen:
        seen.write(line + "\\n")
"""


def _seen(pytester: pytest.Pytester) -> list[tuple[str, str, tuple[str, ...]]]:
    lines = (pytester.path / "seen.txt").read_text().splitlines()
    return [(words[1], words[2], tuple(words[3:])) for line in lines if (words := line.split())]


def _xdist_suite(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI + "eventharness_profile = local\n")
    pytester.makepyprojecttoml(
        '[tool.eventharness.profiles.local]\nbrokers = {kafka = "embedded"}\n'
    )
    pytester.makepyfile(test_xdist=XDIST_TESTS)


@pytest.mark.kafka
@pytest.mark.timeout(180)
def test_xdist_workers_share_one_embedded_kafka(pytester: pytest.Pytester) -> None:
    _xdist_suite(pytester)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    seen = _seen(pytester)
    assert len(seen) == 6 and {worker for worker, _, _ in seen} == {"gw0", "gw1"}
    assert len({url for _, url, _ in seen}) == 1  # one broker for both workers
    assert {pids for _, _, pids in seen} == {seen[0][2]} and len(seen[0][2]) == 1  # one process
    port = int(seen[0][1].rsplit(":", 1)[1])
    import socket

    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass  # the last worker out stopped it
    assert not Path(f"/proc/{seen[0][2][0]}").exists() or (
        Path(f"/proc/{seen[0][2][0]}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    )


@pytest.mark.kafka
@pytest.mark.timeout(180)
def test_xdist_workers_each_start_their_own_when_asked(pytester: pytest.Pytester) -> None:
    _xdist_suite(pytester)
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider", "--eh-embedded", "per-worker"
    )
    result.assert_outcomes(passed=6)
    seen = _seen(pytester)
    by_worker = {worker: url for worker, url, _ in seen}
    assert len(by_worker) == 2 and len(set(by_worker.values())) == 2
