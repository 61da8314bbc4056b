"""Run the official AsyncAPI parser (@asyncapi/parser from npm, installed by scripts/test into
scripts/asyncapi-parser/node_modules) on documents; a missing install fails with the fix."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PARSER = Path(__file__).resolve().parents[2] / "scripts" / "asyncapi-parser"


def parse_with_official(*documents: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the official AsyncAPI parser needs Node.js 18+")
    if not (PARSER / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail(
            "@asyncapi/parser is not installed: run `npm ci` in scripts/asyncapi-parser "
            "(scripts/test does)"
        )
    return subprocess.run(
        [node, str(PARSER / "validate.js"), *map(str, documents)],
        capture_output=True,
        text=True,
        timeout=120,
    )
