"""Parse Mermaid text with Mermaid's own parser (npm ``mermaid`` in jsdom, installed by
scripts/test into scripts/mermaid-parse/node_modules); a missing install fails with the fix."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "mermaid-parse"


def parse_mermaid(*files: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: Mermaid's parser needs Node.js 18+")
    if not (SCRIPT / "node_modules" / "mermaid").is_dir():
        pytest.fail(
            "mermaid is not installed: run `npm ci` in scripts/mermaid-parse (scripts/test does)"
        )
    return subprocess.run(
        [node, str(SCRIPT / "parse.mjs"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
