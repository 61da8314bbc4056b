"""Reading a repository as it is in a git ref, for the checks that compare with an earlier
version (``schemas check --against REF``, the contract store's ``--against REF``).

    text = git(["show", "main:./schemas/shop.OrderPlaced.avsc"], cwd=root)
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from eventharness.model.errors import UsageError

__all__ = ["git"]


def git(args: list[str], cwd: Path) -> str:
    """``git ARGS`` in ``cwd``; its output, or a UsageError with git's own last line."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
        )
    except FileNotFoundError as exc:
        raise UsageError("git is not installed or not on PATH") from exc
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise UsageError(f"git {' '.join(args)} (in {cwd}): {reason}")
    return done.stdout
