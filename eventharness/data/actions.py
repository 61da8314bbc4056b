"""Setup and teardown actions for scenarios (:mod:`eventharness.engine.lifecycle`): SQL
statements and HTTP calls. Publishes are :func:`eventharness.engine.lifecycle.publish`.

    import eventharness as eh
    DB = "postgresql://postgres@127.0.0.1:5432/test"
    async with harness.scenario(
        "order ships",
        setup=[eh.data.sql(DB, "INSERT INTO customers (id) VALUES ('c-1')"),
               eh.data.http("POST", "http://127.0.0.1:8080/stock", json={"sku": "A", "n": 3})],
        teardown=[eh.data.sql(DB, "DELETE FROM customers WHERE id = 'c-1'")],
    ) as s:
        ...

SQL runs on SQLite (``sqlite:///path``, the standard library) or PostgreSQL (``postgresql://``,
psycopg: ``pip install 'eventharness[postgres]'``), all statements of one action in one
transaction, committed at its end. HTTP goes through httpx; a status other than ``status``
(default: any 2xx) fails the action.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from eventharness.engine.lifecycle import Action
from eventharness.engine.port import Port
from eventharness.model.channels import redact
from eventharness.model.errors import UsageError

__all__ = ["HTTP_METHODS", "SQL_SCHEMES", "connect", "http", "sql", "sql_url_problem"]

SQL_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PSYCOPG = "postgresql:// needs psycopg: pip install 'eventharness[postgres]'"


def sql_url_problem(url: str) -> str | None:
    """What is wrong with a database URL (its scheme), None when it is one we can open."""
    if url.startswith(SQL_SCHEMES):
        return None
    scheme = url.partition(":")[0] or url
    return (
        f"database URL {redact(url)!r}: scheme {scheme!r} is not supported; use "
        "sqlite:///path/to/file.db or postgresql://user@host:5432/db"
    )


def connect(url: str, timeout: float = 5.0) -> Any:
    """A DB-API connection to ``url`` (``sqlite:///path`` or ``postgresql://``)."""
    problem = sql_url_problem(url)
    if problem:
        raise UsageError(problem)
    if url.startswith("sqlite:///"):
        import sqlite3  # here, not at the top: loading and checking scenario files never opens one

        return sqlite3.connect(url.removeprefix("sqlite:///"), timeout=timeout)
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise UsageError(_PSYCOPG) from exc
    return psycopg.connect(url, connect_timeout=max(1, int(timeout)))


def sql(url: str, *statements: str) -> Action:
    """An action running ``statements`` on the database at ``url``, in one transaction."""
    problem = sql_url_problem(url)
    if problem:
        raise UsageError(problem)
    if not statements:
        raise UsageError("sql(): give at least one statement")

    def run() -> None:
        connection = connect(url)
        try:
            cursor = connection.cursor()
            for statement in statements:
                cursor.execute(statement)
            connection.commit()
        finally:
            connection.close()

    async def act(port: Port) -> None:
        await asyncio.to_thread(run)

    first = statements[0] if len(statements) == 1 else f"{statements[0]} (+{len(statements) - 1})"
    act.description = f"sql {_short(first)!r} on {_where(url)}"  # type: ignore[attr-defined]
    return act


def http(
    method: str,
    url: str,
    *,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    status: int | None = None,
    timeout: float = 10.0,
) -> Action:
    """An action making one HTTP call; fails on a status other than ``status`` (default 2xx)."""
    verb = method.upper()
    if verb not in HTTP_METHODS:
        raise UsageError(f"HTTP method {method!r}: use one of {', '.join(HTTP_METHODS)}")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"{url!r} is not an http:// or https:// URL")

    async def act(port: Port) -> None:
        import httpx  # lazy: only scenarios with an HTTP action pay for importing it

        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.request(verb, url, json=json, headers=dict(headers or {}))
        ok = response.status_code == status if status is not None else response.is_success
        if not ok:
            want = status if status is not None else "2xx"
            body = response.text[:200]
            raise UsageError(f"got HTTP {response.status_code}, want {want}: {body}")

    act.description = f"http {verb} {redact(url)}"  # type: ignore[attr-defined]
    return act


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 60 else flat[:57] + "..."


def _where(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    return redact(url).split("@")[-1]
