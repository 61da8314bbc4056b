"""SQL from scenario files: the ``sql`` probe (and setup/teardown statements), on SQLite
(``sqlite:///path``) or PostgreSQL (``postgresql://``, psycopg: the ``[postgres]`` extra)."""

from __future__ import annotations

import asyncio
from typing import Any

from eventharness.data.actions import connect
from eventharness.engine.probes import Probe, ProbeResult

__all__ = ["sql_probe"]


def sql_probe(url: str, query: str, equals: Any = None) -> Probe:
    """A probe running ``query`` on a DB-API database (``sqlite:///path``, ``postgresql://``).

    Holds when ``equals`` matches: a list is compared with all rows (each a list), anything
    else with the first column of the first row. Without ``equals``: when a row comes back."""

    def fetch() -> list[list[Any]]:
        connection = connect(url, timeout=2.0 if url.startswith("sqlite:///") else 5.0)
        try:
            cursor = connection.cursor()
            cursor.execute(query)
            return [list(row) for row in cursor.fetchall()]
        finally:
            connection.close()

    async def probe() -> ProbeResult:
        try:
            rows = await asyncio.to_thread(fetch)
        except Exception as exc:
            return ProbeResult(False, f"{type(exc).__name__}: {exc}")
        if equals is None:
            return ProbeResult(bool(rows), f"{len(rows)} row(s)")
        if isinstance(equals, list):
            got: Any = rows
            want: Any = [list(r) if isinstance(r, list | tuple) else [r] for r in equals]
        else:
            got = rows[0][0] if rows and rows[0] else None
            want = equals
        return ProbeResult(got == want, f"got {got!r}, want {want!r}"[:300])

    shown = url.split("@")[-1] if "@" in url else url
    probe.description = f"SQL {query!r} on {shown}"  # type: ignore[attr-defined]
    return probe
