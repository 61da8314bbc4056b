"""Data tables: the rows a scenario runs once each (``data: orders.csv``).

    rows = read_table("scenarios/shop/orders.csv")     # [{"total": 0, ...}, ...]

CSV (a header row, then one row per line; numbers, true/false and empty cells are read as YAML
scalars would be), JSONL (one JSON object per line) or YAML (a list of mappings). A table that
cannot be read raises UsageError naming ``file:line``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml

from eventharness.model.errors import UsageError

__all__ = ["SUFFIXES", "read_table", "row_label"]

SUFFIXES = (".csv", ".jsonl", ".yaml", ".yml")


def _cell(text: str) -> Any:
    if text == "":
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, int | float | bool) else text


def _csv(text: str, shown: str) -> list[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise UsageError(f"{shown}:{reader.line_num}: not valid CSV ({exc})") from exc
    if not rows or not any(rows[0]):
        raise UsageError(f"{shown}:1: a CSV data table starts with a header row of column names")
    header = [h.strip() for h in rows[0]]
    out = []
    for number, cells in enumerate(rows[1:], start=2):
        if not cells:
            continue
        if len(cells) != len(header):
            raise UsageError(
                f"{shown}:{number}: {len(cells)} cells, but the header has {len(header)} "
                f"columns ({', '.join(header)})"
            )
        out.append({h: _cell(c) for h, c in zip(header, cells, strict=True)})
    return out


def _jsonl(text: str, shown: str) -> list[dict[str, Any]]:
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{shown}:{number}: not a JSON object ({exc})") from exc
        if not isinstance(row, dict):
            raise UsageError(f"{shown}:{number}: each line is one JSON object, this is not")
        out.append(row)
    return out


def _yaml(text: str, shown: str) -> list[dict[str, Any]]:
    try:
        rows = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise UsageError(f"{shown}:{line}: not valid YAML ({exc})") from exc
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UsageError(f"{shown}:1: a YAML data table is a list of mappings (one per row)")
    return [{str(k): v for k, v in r.items()} for r in rows]


def read_table(path: str | Path, shown: str | None = None) -> list[dict[str, Any]]:
    """The rows of the table at ``path`` (``shown``: how errors name it)."""
    p = Path(path)
    shown = shown or str(p)
    if p.suffix not in SUFFIXES:
        raise UsageError(f"{shown}: data tables end in {', '.join(SUFFIXES)}")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{shown}:1: cannot read the data table: {exc}") from exc
    reader = {".csv": _csv, ".jsonl": _jsonl}.get(p.suffix, _yaml)
    rows = reader(text, shown)
    if not rows:
        raise UsageError(f"{shown}:1: the data table has no rows")
    return rows


def row_label(number: int, row: dict[str, Any], width: int = 40) -> str:
    """``row 3: total=0, currency=EUR`` (cut at ``width`` characters)."""
    shown = ", ".join(f"{k}={v}" for k, v in row.items())
    if len(shown) > width:
        shown = shown[: width - 1] + "…"
    return f"row {number}: {shown}"
