"""Setup and teardown around scenarios: SQL on SQLite and the local PostgreSQL, HTTP against a
server started here, publishes outside the scenario's clock; teardown after a pass, a failure,
an exception and a failed setup; a failed teardown reported beside the verdict."""

from __future__ import annotations

import asyncio
import http.server
import json
import sqlite3
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import eventharness as eh
from eventharness.files.loader import load_file
from eventharness.files.runner import run_file
from eventharness.model.errors import ScenarioFailed, UsageError

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id TEXT)")
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_db() -> Iterator[tuple[str, str]]:
    try:
        import psycopg
    except ImportError as exc:  # part of [dev]: under CI its absence fails, as a broker's does
        from tests.conftest import broker_missing

        broker_missing("psycopg (PostgreSQL)", f"{exc}: pip install -e '.[dev]'")
    table = f"customers_{uuid.uuid4().hex[:10]}"
    try:
        connection = psycopg.connect(POSTGRES, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        from tests.conftest import broker_missing

        broker_missing(f"PostgreSQL at {POSTGRES}", f"start it ({exc})")
        raise
    with connection:
        connection.execute(f"CREATE TABLE {table} (id TEXT)")
        try:
            yield POSTGRES, table
        finally:
            connection.execute(f"DROP TABLE {table}")


def rows(url: str, table: str = "customers") -> list[str]:
    connection = eh.data.actions.connect(url)
    try:
        cursor = connection.cursor()
        cursor.execute(f"SELECT id FROM {table} ORDER BY id")
        return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def scenario_file(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    return load_file(path)


# --- SQL: rows exist during the scenario, gone after ---------------------------------------

SQL_FLOW = """\
name: rows for the flow
setup:
  - sql: {{url: "{url}", run: "INSERT INTO {table} VALUES ('${{run.id}}-c1')"}}
teardown:
  - sql: {{url: "{url}", run: ["DELETE FROM {table} WHERE id = '${{run.id}}-c1'"]}}
steps:
  - eventually:
      sql: {{url: "{url}", query: "SELECT count(*) FROM {table} WHERE id = '${{run.id}}-c1'",
             equals: 1}}
      within: 2s
  - publish: {{channel: kafka:orders, value: {{type: OrderPlaced}}}}
  - expect: {{channel: kafka:orders, type: "{expected}", within: 300ms}}
"""


@pytest.mark.parametrize("expected", ["OrderPlaced", "NeverSent"])
async def test_sqlite_rows_live_exactly_as_long_as_the_scenario(
    tmp_path: Path, memory_url: str, sqlite_db: str, expected: str
) -> None:
    file = scenario_file(
        tmp_path, SQL_FLOW.format(url=sqlite_db, table="customers", expected=expected)
    )
    async with eh.Harness({"kafka": memory_url}) as h:
        outcome = await run_file(h, file, {"run": {"id": "r1"}})
    # the probe saw the row during the scenario; a pass or a timeout, teardown removed it
    assert [f.kind for f in outcome.result.failures] == (
        [] if expected == "OrderPlaced" else ["timeout"]
    )
    assert rows(sqlite_db) == []
    assert outcome.result.teardown == []


@pytest.mark.parametrize("expected", ["OrderPlaced", "NeverSent"])
async def test_postgres_rows_live_exactly_as_long_as_the_scenario(
    tmp_path: Path, memory_url: str, postgres_db: tuple[str, str], expected: str
) -> None:
    url, table = postgres_db
    file = scenario_file(tmp_path, SQL_FLOW.format(url=url, table=table, expected=expected))
    async with eh.Harness({"kafka": memory_url}) as h:
        outcome = await run_file(h, file, {"run": {"id": "r2"}})
    assert outcome.result.status == ("passed" if expected == "OrderPlaced" else "failed")
    assert outcome.result.failures == [] or outcome.result.kinds == ["timeout"]
    assert rows(url, table) == []


async def test_teardown_runs_after_an_exception_in_python(
    memory_url: str, postgres_db: tuple[str, str]
) -> None:
    url, table = postgres_db
    seen: list[list[str]] = []
    async with eh.Harness({"kafka": memory_url}) as h:
        scenario = h.scenario(
            "raises",
            setup=[
                eh.data.sql(
                    url,
                    f"INSERT INTO {table} VALUES ('p-1')",
                    f"INSERT INTO {table} VALUES ('p-2')",
                )
            ],
            teardown=[eh.data.sql(url, f"DELETE FROM {table} WHERE id LIKE 'p-%'")],
        )
        with pytest.raises(RuntimeError, match="boom"):
            async with scenario:
                seen.append(rows(url, table))
                raise RuntimeError("boom")
    assert seen == [["p-1", "p-2"]]  # setup ran before the body, in one transaction
    assert rows(url, table) == []
    assert scenario.result is not None and scenario.result.status == "error"


async def test_a_failed_setup_stops_the_scenario_and_still_tears_down(
    tmp_path: Path, memory_url: str, sqlite_db: str
) -> None:
    file = scenario_file(
        tmp_path,
        f"""\
        name: setup breaks
        setup:
          - sql: {{url: "{sqlite_db}", run: "INSERT INTO customers VALUES ('kept')"}}
          - sql: {{url: "{sqlite_db}", run: "INSERT INTO no_such_table VALUES (1)"}}
        teardown:
          - sql: {{url: "{sqlite_db}", run: "DELETE FROM customers"}}
        steps:
          - publish: {{channel: kafka:orders, value: {{type: OrderPlaced}}}}
        """,
    )
    async with eh.Harness({"kafka": memory_url}) as h:
        outcome = await run_file(h, file)
    (failure,) = outcome.result.failures
    assert outcome.result.status == "error"
    assert failure.step.startswith("setup ") and "s.yaml:4 sql" in failure.step
    assert "no such table: no_such_table" in failure.message
    assert outcome.result.events == []  # the body did not run
    assert rows(sqlite_db) == []  # teardown removed what the first setup action inserted


async def test_a_failed_teardown_does_not_hide_the_verdict(memory_url: str, sqlite_db: str) -> None:
    async with eh.Harness({"kafka": memory_url}) as h:
        scenario = h.scenario(
            "passes",
            teardown=[
                eh.data.sql(sqlite_db, "DELETE FROM missing"),
                eh.data.sql(sqlite_db, "INSERT INTO customers VALUES ('after')"),
            ],
        )
        async with scenario as s:
            s.expect("kafka:orders", type="OrderPlaced", within=1)
            await s.publish("kafka:orders", {"type": "OrderPlaced"})
    result = scenario.result
    assert result is not None and result.status == "passed" and result.failures == []
    (failure,) = result.teardown
    assert failure.step.startswith("teardown sql 'DELETE FROM missing'")
    assert result.to_dict()["teardown"][0]["message"].endswith("no such table: missing")
    assert rows(sqlite_db) == ["after"]  # the next action ran all the same
    assert "teardown failed (the verdict above stands)" in result.explain()


# --- HTTP ----------------------------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    calls: list[tuple[str, str, Any]] = []
    seen = threading.Event()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        type(self).calls.append((self.command, self.path, body))
        self.send_response(404 if self.path == "/missing" else 201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_DELETE = do_GET = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Recorder.calls = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


async def test_http_setup_and_teardown(tmp_path: Path, memory_url: str, server: str) -> None:
    file = scenario_file(
        tmp_path,
        f"""\
        name: stock for the order
        vars: {{sku: "A-${{run.id}}"}}
        setup:
          - http: {{post: "{server}/stock", json: {{sku: "${{sku}}", count: 3}}, status: 201}}
        teardown:
          - http: {{delete: "{server}/stock/${{sku}}"}}
        steps:
          - eventually: {{http: {{get: "{server}/stock/${{sku}}", status: 201}}, within: 2s}}
        """,
    )
    async with eh.Harness({"kafka": memory_url}) as h:
        outcome = await run_file(h, file, {"run": {"id": "r9"}})
    assert outcome.result.passed, outcome.explain()
    assert _Recorder.calls[0] == ("POST", "/stock", {"sku": "A-r9", "count": 3})
    assert ("GET", "/stock/A-r9", None) in _Recorder.calls[1:-1]
    assert _Recorder.calls[-1] == ("DELETE", "/stock/A-r9", None)


async def test_an_http_setup_with_the_wrong_status_is_an_error(
    memory_url: str, server: str
) -> None:
    async with eh.Harness({"kafka": memory_url}) as h:
        scenario = h.scenario("missing", setup=[eh.data.http("POST", f"{server}/missing")])
        with pytest.raises(ScenarioFailed):
            async with scenario:
                pytest.fail("the body must not run after a failed setup")
    assert scenario.result is not None
    (failure,) = scenario.result.failures
    assert failure.kind == "error" and failure.step == f"setup http POST {server}/missing"
    assert failure.message.startswith("got HTTP 404, want 2xx")


# --- publishes outside the scenario's clock ------------------------------------------------


async def test_a_setup_publish_is_sent_but_not_on_the_timeline(memory_url: str) -> None:
    async with eh.Harness({"kafka": memory_url}) as h:
        watcher = await h.transport("kafka").subscribe("catalog")
        done: list[float] = []

        async def mark(port: Any) -> None:
            done.append(time.monotonic())

        scenario = h.scenario(
            "uses the catalog",
            setup=[
                eh.data.publish("kafka:catalog", {"type": "PriceSet", "sku": "A"}, key="A"),
                mark,
            ],
        )
        with pytest.raises(ScenarioFailed):
            async with scenario as s:
                s.expect("kafka:catalog", type="PriceSet", within=0.3)
        # not the scenario's: no correlation id, not collected, no window opened by it
        assert scenario.result is not None and scenario.result.kinds == ["timeout"]
        assert scenario.result.events == []
        assert scenario.began >= done[0]  # the scenario's clock starts after its setup
        async with asyncio.timeout(5):
            record = await anext(aiter(watcher))
        await watcher.aclose()
    assert json.loads(record.value) == {"type": "PriceSet", "sku": "A"}
    assert record.key == b"A"


def test_actions_refuse_bad_input() -> None:
    with pytest.raises(UsageError, match="scheme 'mysql' is not supported"):
        eh.data.sql("mysql://db/x", "SELECT 1")
    with pytest.raises(UsageError, match="give at least one statement"):
        eh.data.sql("sqlite:///x.db")
    with pytest.raises(UsageError, match="HTTP method 'FETCH'"):
        eh.data.http("FETCH", "http://127.0.0.1/")


async def test_a_cancelled_setup_still_tears_down(memory_url: str, sqlite_db: str) -> None:
    started = asyncio.Event()

    async def hangs(port: Any) -> None:
        started.set()
        await asyncio.Event().wait()  # until cancelled

    async with eh.Harness({"kafka": memory_url}) as h:
        scenario = h.scenario(
            "cancelled in setup",
            setup=[eh.data.sql(sqlite_db, "INSERT INTO customers VALUES ('x')"), hangs],
            teardown=[eh.data.sql(sqlite_db, "DELETE FROM customers")],
        )

        async def body() -> None:
            async with scenario:
                pytest.fail("the body must not run")

        task = asyncio.create_task(body())
        await started.wait()
        assert rows(sqlite_db) == ["x"]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert rows(sqlite_db) == []


async def test_a_cancellation_during_teardown_runs_the_rest_then_goes_on(
    memory_url: str, sqlite_db: str
) -> None:
    in_teardown = asyncio.Event()

    async def hangs(port: Any) -> None:
        in_teardown.set()
        await asyncio.Event().wait()  # until cancelled

    async with eh.Harness({"kafka": memory_url}) as h:
        scenario = h.scenario(
            "cancelled in teardown",
            setup=[eh.data.sql(sqlite_db, "INSERT INTO customers VALUES ('x')")],
            teardown=[hangs, eh.data.sql(sqlite_db, "DELETE FROM customers")],
        )

        async def body() -> None:
            async with scenario:
                pass

        task = asyncio.create_task(body())
        await in_teardown.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert rows(sqlite_db) == []  # the action after the cancelled one ran
    assert [f.message for f in scenario.lifecycle.failures] == ["cancelled"]


async def test_row_and_profile_variables_in_actions(
    tmp_path: Path, memory_url: str, sqlite_db: str
) -> None:
    from eventharness.files.loader import load_files
    from eventharness.files.runner import run_files

    db = sqlite_db
    (tmp_path / "customers.csv").write_text("id\nc-1\nc-2\n")
    (tmp_path / "s.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: per row
            data: customers.csv
            setup:
              - sql: {{url: "{db}", run: "INSERT INTO ${{vars.table}} VALUES ('${{row.id}}')"}}
            teardown:
              - sql: {{url: "{db}", run: "DELETE FROM customers WHERE id = '${{row.id}}'"}}
            steps:
              - eventually:
                  sql: {{url: "{db}", query: "SELECT id FROM customers", equals: ["${{row.id}}"]}}
                  within: 2s
            """
        )
    )
    files = load_files([tmp_path / "s.yaml"], lambda _: eh_context())
    async with eh.Harness({"kafka": memory_url}) as h:
        outcomes = await run_files(h, files, variables={"table": "customers"})
    assert [o.result.status for o in outcomes] == ["passed", "passed"], outcomes[0].explain()
    assert rows(sqlite_db) == []


def eh_context() -> Any:
    from eventharness.files.check_base import FileContext

    return FileContext(brokers={"kafka"}, variables={"table"})
