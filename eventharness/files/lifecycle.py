"""A scenario file's ``setup:`` and ``teardown:`` as engine actions
(:mod:`eventharness.engine.lifecycle`).

    setup:
      - sql: {url: "sqlite:///shop.db", run: "INSERT INTO customers VALUES ('${run.id}-c1')"}
      - http: {post: "http://127.0.0.1:8080/stock", json: {sku: A, count: 3}, status: 201}
      - publish: {channel: kafka:catalog, key: A, value: {type: PriceSet, sku: A, price: 10}}
    teardown:
      - sql: {url: "sqlite:///shop.db", run: "DELETE FROM customers WHERE id LIKE '${run.id}-%'"}

Templates (``${run.id}``, ``${vars.NAME}``, ``${row.NAME}``, the file's ``vars``) are rendered
when the action runs. Failures name the action by its file and line.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable
from typing import Any

from eventharness.data.actions import HTTP_METHODS, http, sql, sql_url_problem
from eventharness.engine.lifecycle import Action, describe, publish
from eventharness.engine.port import Port
from eventharness.files.lifecycle_actions import (
    HttpAction,
    LifecycleAction,
    PublishAction,
    SqlAction,
)

__all__ = ["HAVE_PSYCOPG", "PSYCOPG_HINT", "action_problems", "file_actions"]

PSYCOPG_HINT = "postgresql:// needs psycopg: pip install 'eventharness[postgres]'"


def HAVE_PSYCOPG() -> bool:
    return importlib.util.find_spec("psycopg") is not None


def action_problems(action: LifecycleAction, phase: str) -> list[tuple[int, str]]:
    """(line, text) of what an action's own keys get wrong: a database URL's scheme (or
    psycopg missing for PostgreSQL), an ``http`` action without its method."""
    where = f"{phase}.{action.kind}"
    if isinstance(action, SqlAction) and "${" not in action.url.partition(":")[0]:
        problem = sql_url_problem(action.url)
        if problem is None and action.url.startswith("postgres") and not HAVE_PSYCOPG():
            problem = PSYCOPG_HINT
        return [(action.at("url"), f"{where}: {problem}")] if problem else []
    if isinstance(action, HttpAction) and not action.method:
        methods = ", ".join(m.lower() for m in HTTP_METHODS)
        return [
            (
                action.line,
                f"{where}: give the method and the URL, one of {methods}, e.g. "
                "http: {post: http://127.0.0.1:8080/customers, json: {...}}",
            )
        ]
    return []


def file_actions(specs: Iterable[LifecycleAction], render: Callable[[Any], Any]) -> list[Action]:
    """One engine action per spec; ``render`` substitutes the scenario's variables."""
    return [_action(spec, render) for spec in specs]


def _action(spec: LifecycleAction, render: Callable[[Any], Any]) -> Action:
    def make() -> Action:
        match spec:
            case SqlAction():
                return sql(str(render(spec.url)), *(str(render(s)) for s in spec.run))
            case HttpAction():
                headers = {str(k): str(v) for k, v in (render(spec.headers) or {}).items()}
                return http(
                    spec.method,
                    str(render(spec.url)),
                    json=render(spec.json),
                    headers=headers,
                    status=spec.status,
                    timeout=spec.timeout,
                )
            case PublishAction():
                key, headers = render(spec.key), render(spec.headers) or {}
                return publish(
                    str(render(spec.channel)),
                    render(spec.value),
                    key=None if key is None else str(key),
                    headers={str(k): str(v) for k, v in headers.items()},
                    schema=spec.schema,
                )

    where = f"{spec.file}:{spec.line}"

    async def act(port: Port) -> None:
        inner = make()
        act.description = f"{where} {describe(inner)}"  # type: ignore[attr-defined]
        await inner(port)

    act.description = f"{where} {spec.kind}"  # type: ignore[attr-defined]
    return act
